// The config checked against the schema (schema.ts): the sections a config sets by their own schemas, the rest taken
// from defaults worked out when this module is built. The server's start reaches it only for a config it has not
// checked before (remembered.ts).
import { configDefaults } from "./defaults.ts" with { type: "macro" };
import { ConfigError } from "./error.ts";
import { type Config, ConfigSchema, SECTION_NAMES, type SectionName, sectionsSchema } from "./schema.ts";
import { type LoadOptions, readConfigTree } from "./tree.ts";
import type { z } from "./zod.ts";

export { expandVars, type LoadOptions } from "./tree.ts";
export { ConfigError };

function describe(error: z.core.$ZodError): string {
  return error.issues
    .flatMap((i) =>
      i.code === "unrecognized_keys"
        ? i.keys.map((k) => `${[...i.path, k].join(".")}: unknown key`)
        : [`${i.path.join(".") || "(root)"}: ${i.message}`],
    )
    .join("; ");
}

/** Every section as an empty config has it, worked out from the schema when this module is built. */
const DEFAULTS: Config = configDefaults();

const isSection = (key: string): key is SectionName => SECTION_NAMES.includes(key as SectionName);

/**
 * The sections the config sets are checked by their own schemas; the rest are the defaults. A key that is no
 * section goes through the whole schema, which names it.
 */
export function checkConfig(tree: Record<string, unknown>): Config {
  const keys = Object.keys(tree);
  const parsed = keys.every(isSection) ? sectionsSchema(keys).safeParse(tree) : ConfigSchema.safeParse(tree);
  if (!parsed.success) throw new ConfigError(`config: ${describe(parsed.error)}`);
  return { ...structuredClone(DEFAULTS), ...parsed.data };
}

/** Checks a config as read (tree.ts): the sections it sets, and every default for the rest. */
export function loadConfig(options: LoadOptions): Config {
  return checkConfig(readConfigTree(options));
}
