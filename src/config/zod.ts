// zod/mini rather than zod's classic API: the same validation core, but tree-shakable, so the binary
// evaluates a fraction of the code before it can listen (cold start is a product target). Every
// schema module imports zod from here, so the English messages are installed before any parse.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini ships without messages ("Invalid input" for everything); these are classic zod's.
z.config(en());

export { z };

/**
 * How the server's schemas become JSON Schema (GET /openapi.json, the MCP tools): `io` picks what a request may
 * send or what an answer holds. A check that JSON Schema cannot say (a refinement) leaves its field unconstrained
 * rather than failing, and an ISO time keeps its `date-time` format without zod's long pattern for it.
 */
export function jsonSchemaParams(io: "input" | "output") {
  return {
    io,
    unrepresentable: "any",
    override: ({ jsonSchema }) => {
      if (jsonSchema.format === "date-time") delete jsonSchema.pattern;
    },
  } satisfies z.core.ToJSONSchemaParams;
}
