import { E164, isLanguageTag } from "../config/schema.ts";
import { callWindowSchema } from "../config/window.ts";
import { z } from "../config/zod.ts";
import { GEMINI_VOICES } from "../model/gemini.ts";
import { reportSchemaProblem } from "../model/json-schema.ts";
import { PROVIDERS } from "../model/protocol.ts";
import { REALTIME_VOICES } from "../model/realtime.ts";
import { blankAsMissing } from "./fields.ts";
import { callOptionsFields } from "./options.ts";

export const MISSING_TO = "Missing 'to' phone number";
export const MISSING_WEBHOOK =
  "Missing 'webhook_url'. Set AGENTICAI_WEBHOOK_URL environment variable or pass in request.";
const PLAIN_BASE =
  "'webhook_url' must be a base URL without query, fragment or credentials (a path prefix is fine): Twilio's paths (/twilio/voice, /twilio/status, /twilio/amd, /twilio/dial-status) are appended to it";

/** Twilio's URLs are built by appending paths, which a query, fragment or credentials would break. */
function isPlainBase(value: string): boolean {
  // zod runs this check even when the URL check above failed; that one has said why.
  const url = URL.parse(value);
  return (
    url === null ||
    (url.search === "" &&
      url.hash === "" &&
      !value.includes("#") &&
      url.username === "" &&
      url.password === "" &&
      !value.includes("?"))
  );
}

export const MAX_PROMPT_CHARS = 32_000;
export const MAX_METADATA_BYTES = 16 * 1024;

/**
 * `metadata` is stored exactly as sent, so it is checked in place rather than rebuilt: zod's record copies
 * key by key, and assigning a `__proto__` key sets the copy's prototype instead, which drops it.
 */
const isJsonObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * POST /api/call, exactly the original API's fields. Unknown fields are ignored so newer clients keep working.
 * Built on first use (z.lazy), like every schema that waits for a request: not at start-up.
 */
export const CallRequest = z.lazy(() =>
  z.object({
    to: blankAsMissing(
      z
        .string({ error: (i) => (i.input === undefined ? MISSING_TO : "'to' must be a string") })
        .check(
          z.trim(),
          z.regex(
            E164,
            "Invalid 'to' phone number: use E.164 format, '+' followed by 7 to 15 digits (e.g. +15551234567)",
          ),
          z.describe("the number to call, E.164: '+' then 7 to 15 digits, e.g. +15551234567"),
        ),
    ),
    webhook_url: blankAsMissing(
      z.optional(
        z
          .url({
            protocol: /^https?$/,
            error: "'webhook_url' must be an http(s) URL such as https://example.ngrok.app",
          })
          .check(
            z.refine(isPlainBase, PLAIN_BASE),
            z.describe(
              "public base URL Twilio reaches this server at (a path prefix is fine); default: the server's public URL",
            ),
          ),
      ),
    ),
    prompt: blankAsMissing(
      z.optional(
        z
          .string({ error: "'prompt' must be a string" })
          .check(
            z.maxLength(MAX_PROMPT_CHARS, `'prompt' must be at most ${MAX_PROMPT_CHARS} characters`),
            z.describe("the voice agent's instructions: the whole call brief; default: the server's default prompt"),
          ),
      ),
    ),
    metadata: z._default(
      z.custom<Record<string, unknown>>(isJsonObject, { error: "'metadata' must be a JSON object" }).check(
        z.refine(
          (m) => Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES,
          `'metadata' must be at most ${MAX_METADATA_BYTES} bytes as JSON`,
        ),
        // z.custom has no JSON Schema of its own: the API's description says what it takes.
        z.meta({ type: "object", description: "any JSON object (at most 16 KB), stored with the call as sent" }),
      ),
      {},
    ),
    // The fields below extend the original API; leaving them out keeps its behaviour.
    report_schema: blankAsMissing(
      z.optional(
        z
          .unknown()
          .check(checkReportSchema(), z.describe("a JSON Schema of an object: the report's facts will match it")),
      ),
    ),
    callback_url: blankAsMissing(
      z.optional(
        z
          .url({
            protocol: /^https?$/,
            error: "'callback_url' must be an http(s) URL such as https://example.com/hooks",
          })
          .check(
            z.refine((u) => {
              // zod runs this check even when the URL check above failed; that one has said why.
              const url = URL.parse(u);
              return url === null || (url.username === "" && url.password === "");
            }, "'callback_url' must not contain credentials; the events are signed instead (see webhook-signature)"),
            z.describe("an http(s) URL on a public address that receives this call's signed events"),
          ),
      ),
    ),
    notify: z._default(
      z
        .boolean({ error: "'notify' must be true or false" })
        .check(z.describe("false: do not post this call's result to the owner's OpenClaw assistant")),
      true,
    ),
    ...callOptionsFields(),
    ...placementFields(),
  }),
);

const NOT_BEFORE =
  "'not_before' must be an RFC 3339 time with an offset, such as 2026-12-07T09:00:00-05:00 (or …T14:00:00Z)";

/** When, as whom and how the call is made: its time, its window, its caller ID, its voice and language. */
function placementFields() {
  return {
    // An instant, so the offset is required: a local time alone would be read in whichever zone the server has.
    not_before: blankAsMissing(z.optional(z.iso.datetime({ offset: true, error: NOT_BEFORE }))),
    // null opts out of calls.call_window, so it is not blankAsMissing.
    call_window: z.optional(z.nullable(callWindowSchema((field) => `'call_window${field ? `.${field}` : ""}' `))),
    from: blankAsMissing(
      z.optional(
        z
          .string({ error: "'from' must be a string" })
          .check(z.trim(), z.regex(E164, "Invalid 'from' phone number: use E.164 format, such as +15551234567")),
      ),
    ),
    provider: blankAsMissing(
      z.optional(
        z
          .enum(PROVIDERS, { error: `'provider' must be one of: ${PROVIDERS.join(", ")}` })
          .check(
            z.describe(
              "the voice model's provider: openai (Realtime) or google (Gemini Live); default: agent.provider",
            ),
          ),
      ),
    ),
    model: blankAsMissing(
      z.optional(
        z
          .string({ error: "'model' must be a string" })
          .check(
            z.trim(),
            z.regex(
              /^[\w./:-]{1,100}$/,
              "'model' must be a model name such as gpt-realtime or gemini-3.1-flash-live-preview",
            ),
            z.describe("the provider's voice model; default: openai.model or gemini.model"),
          ),
      ),
    ),
    // Checked against the call's provider once it is known (the request's, else the server's default).
    voice: blankAsMissing(
      z.optional(
        z
          .string({ error: "'voice' must be a string" })
          .check(
            z.trim(),
            z.describe(
              `one of the provider's voices: openai: ${REALTIME_VOICES.join(", ")}; google: ${GEMINI_VOICES.join(", ")}`,
            ),
          ),
      ),
    ),
    language: blankAsMissing(
      z.optional(
        z
          .string({ error: "'language' must be a string" })
          .check(z.refine(isLanguageTag, "'language' must be a BCP 47 language tag such as es, es-MX or de-DE")),
      ),
    ),
  };
}

function checkReportSchema() {
  return z.check<unknown>((ctx) => {
    const problem = reportSchemaProblem(ctx.value);
    if (problem) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
  });
}
export type CallRequest = z.infer<typeof CallRequest>;

/** The first problem, worded for a person; the original API's clients show `error` as it is. */
export function firstIssue(error: z.core.$ZodError): string {
  return error.issues[0]?.message ?? "Invalid request";
}
