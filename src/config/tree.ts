// The config as written: config.yaml read, its ${VAR}s expanded and the environment's overrides set, not yet
// checked. Nothing here loads zod, so a start that has checked this same config before (remembered.ts) need not.

import { nodeFs } from "../runtime/node-modules.ts";
import { readTextNow } from "../runtime/read-now.ts";
import { ENV_OVERRIDES, type Env } from "./env.ts";
import { ConfigError } from "./error.ts";

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
  // Most values name no variable: they are kept as they are, without a regular expression's first run (a restart reads
  // the config on its way to listening).
  if (typeof node === "string") return node.includes("${") ? expandString(node, env) : node;
  if (Array.isArray(node)) {
    const items: unknown[] = [];
    for (const item of node) {
      const value = expandVars(item, env);
      if (value !== undefined) items.push(value);
    }
    return items;
  }
  if (typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(node)) {
      const value = expandVars((node as Record<string, unknown>)[k], env);
      if (value !== undefined) out[k] = value;
    }
    return out;
  }
  return node;
}

function expandString(node: string, env: Env): unknown {
  const expanded = node.replace(VAR, (_, name: string, fallback?: string) => env[name] || fallback || "");
  if (expanded === "") return undefined;
  if (!WHOLE_VAR.test(node)) return expanded;
  const scalar = yamlScalar(expanded);
  return typeof scalar === "number" || typeof scalar === "boolean" ? scalar : expanded;
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

export interface LoadOptions {
  path?: string; // from --config
  env: Env;
}

type Tree = Record<string, unknown>;

/** The config file: --config, else AGENTICAI_CONFIG, else ./config.yaml if present. */
function configFile({ path, env }: LoadOptions): { explicit: string | undefined; file: string } {
  const explicit = path || env.AGENTICAI_CONFIG || undefined;
  return { explicit, file: explicit ?? "config.yaml" };
}

const unreadable = (file: string, e: unknown) =>
  new ConfigError(`config ${file}: invalid YAML: ${(e as Error).message.split("\n")[0]}`);

/** The tree from the file's text (null: there is no file), its variables expanded and the environment's overrides set. */
function treeFrom(file: string, text: string | null, env: Env): Tree {
  let raw: unknown = {};
  if (text !== null) {
    try {
      raw = parseYaml(text) ?? {};
    } catch (e) {
      throw unreadable(file, e);
    }
    if (typeof raw !== "object" || Array.isArray(raw))
      throw new ConfigError(`config ${file}: the top level must be a mapping`);
  }
  const tree = (expandVars(raw, env) ?? {}) as Tree;
  for (const [name, keyPath, coerce] of ENV_OVERRIDES) {
    const value = env[name];
    if (value) setPath(tree, keyPath, coerce(value));
  }
  return tree;
}

/** The config as written: the file (a missing ./config.yaml is an empty one), then the environment. */
export function readConfigTree(options: LoadOptions): Tree {
  const { explicit, file } = configFile(options);
  const fs = nodeFs();
  if (!fs.existsSync(file)) {
    if (explicit) throw new ConfigError(`config ${file}: file not found`);
    return treeFrom(file, null, options.env);
  }
  if (!fs.statSync(file).isFile()) throw new ConfigError(`config ${file}: not a file`);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw unreadable(file, e);
  }
  return treeFrom(file, text, options.env);
}

/**
 * readConfigTree without node:fs, for the server's start (runtime/read-now.ts). A file it cannot read the usual way
 * goes to readConfigTree, so every answer is the same.
 */
export async function readConfigTreeAsync(options: LoadOptions): Promise<Tree> {
  const { explicit, file } = configFile(options);
  const now = readTextNow(file);
  if (typeof now === "string" || (now === null && !explicit)) return treeFrom(file, now, options.env);
  const found = await Bun.file(file)
    .stat()
    .then(
      (stat) => stat.isFile(),
      (e: { code?: string }) => (e.code === "ENOENT" && !explicit ? null : false),
    );
  if (found === null) return treeFrom(file, null, options.env);
  if (!found) return readConfigTree(options);
  let text: string;
  try {
    text = await Bun.file(file).text();
  } catch (e) {
    throw unreadable(file, e);
  }
  return treeFrom(file, text, options.env);
}
