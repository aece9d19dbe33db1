// A Bun macro: imported `with { type: "macro" }`, it runs when the loader is bundled (or transpiled, under
// `bun run` and `bun test`), and its result is written into the code as a literal. So the defaults of every section
// come from the schema itself, and a start builds no schema for a section its config leaves out.
import { type Config, ConfigSchema } from "./schema.ts";

/** What the schema makes of an empty config. */
export function configDefaults(): Config {
  return ConfigSchema.parse({});
}
