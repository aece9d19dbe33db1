import { existsSync, readFileSync, statSync } from "node:fs";
import { configDefaults } from "./defaults.ts" with { type: "macro" };
import { ENV_OVERRIDES, type Env } from "./env.ts";
import { ConfigError } from "./error.ts";
import { type Config, ConfigSchema, SECTION_NAMES, type SectionName, sectionsSchema } from "./schema.ts";
import type { z } from "./zod.ts";

export { ConfigError };

/**
 * Bun's built-in parser reads the config: it costs nothing to load, where the yaml package adds a
 * noticeable share of every start (bench/RESULTS.md). Its errors carry no position, so only when it fails is the yaml package loaded to read
 * the text again: it either reads it (the two disagree at the edges of the spec) or says where it is wrong.
 */
function parseYaml(text: string): unknown {
  try {
    return Bun.YAML.parse(text);
  } catch {
    return (require("yaml") as typeof import("yaml")).parse(text);
  }
}

/** A variable's value as YAML reads it, or the text itself when it is not valid YAML (`%00`, `[`, `*x`). */
function yamlScalar(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;
const WHOLE_VAR = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::[^}]*)?\}$/;

/**
 * `${VAR}` / `${VAR:default}` in string values. A value that expands to nothing, like a YAML key left
 * blank, counts as unset. A value that is one whole `${…}` is read as a YAML scalar, so
 * `port: ${PORT:8080}` is a number and `enabled: ${INBOUND:false}` a boolean.
 */
export function expandVars(node: unknown, env: Env): unknown {
  if (node === null) return undefined;
  if (typeof node === "string") {
    const expanded = node.replace(VAR, (_, name: string, fallback?: string) => env[name] || fallback || "");
    if (expanded === "" && node !== "") return undefined;
    if (!WHOLE_VAR.test(node)) return expanded;
    const scalar = yamlScalar(expanded);
    return typeof scalar === "number" || typeof scalar === "boolean" ? scalar : expanded;
  }
  if (Array.isArray(node)) return node.map((v) => expandVars(v, env)).filter((v) => v !== undefined);
  if (node && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      const value = expandVars(v, env);
      if (value !== undefined) out[k] = value;
    }
    return out;
  }
  return node;
}

function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== "object" || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

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
function parseConfig(tree: Record<string, unknown>) {
  const keys = Object.keys(tree);
  const parsed = keys.every(isSection) ? sectionsSchema(keys).safeParse(tree) : ConfigSchema.safeParse(tree);
  if (!parsed.success) throw new ConfigError(`config: ${describe(parsed.error)}`);
  return { ...structuredClone(DEFAULTS), ...parsed.data };
}

export interface LoadOptions {
  path?: string; // from --config
  env: Env;
}

/** Resolves the config file (--config, else AGENTICAI_CONFIG, else ./config.yaml if present), then env. */
export function loadConfig({ path, env }: LoadOptions): Config {
  const explicit = path || env.AGENTICAI_CONFIG || undefined;
  const file = explicit ?? "config.yaml";
  let raw: unknown = {};
  if (existsSync(file)) {
    if (!statSync(file).isFile()) throw new ConfigError(`config ${file}: not a file`);
    try {
      raw = parseYaml(readFileSync(file, "utf8")) ?? {};
    } catch (e) {
      throw new ConfigError(`config ${file}: invalid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
    if (typeof raw !== "object" || Array.isArray(raw))
      throw new ConfigError(`config ${file}: the top level must be a mapping`);
  } else if (explicit) {
    throw new ConfigError(`config ${file}: file not found`);
  }
  const tree = (expandVars(raw, env) ?? {}) as Record<string, unknown>;
  for (const [name, keyPath, coerce] of ENV_OVERRIDES) {
    const value = env[name];
    if (value) setPath(tree, keyPath, coerce(value));
  }
  return parseConfig(tree);
}
