// The server remembers the last config it checked, in its data dir: a restart with the same config, environment
// and build takes the checked result from there, and loads no schema before it listens (zod and the schema cost a
// cold start ~3 ms, most of its time above an empty Bun.serve; bench/RESULTS.md). Any change to the config, the
// environment it reads or the build is a new key, checked again. The record holds no value the config sets, only
// the shape of the result and the defaults the check filled in, so no secret reaches the disk this way.

import { readText } from "../runtime/read-now.ts";
import { configFingerprint, defaultDataDir } from "./defaults.ts" with { type: "macro" };
import type { Config } from "./schema.ts";
import { type LoadOptions, readConfigTreeAsync } from "./tree.ts";

const FINGERPRINT: string = configFingerprint();
const DEFAULT_DATA_DIR: string = defaultDataDir();
export const CHECKED_CONFIG_FILE = "checked-config.json";

type Tree = Record<string, unknown>;
const isMapping = (v: unknown): v is Tree => typeof v === "object" && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The data dir the config names, before it is checked; null when it names none that could be one. */
function dataDirOf(tree: Tree): string | null {
  if (tree.server === undefined) return DEFAULT_DATA_DIR;
  if (!isMapping(tree.server)) return null;
  const dir = tree.server.data_dir ?? DEFAULT_DATA_DIR;
  return typeof dir === "string" && dir !== "" ? dir : null;
}

/**
 * Which config, environment and build the record is of. A 64-bit hash: it tells a changed config from the same one,
 * and the config's author is the only one it could be chosen against. SHA-256 cost a restart ~0.1 ms more to start up.
 */
const keyOf = (tree: Tree) => Bun.hash(`${FINGERPRINT}\n${Bun.version}\n${JSON.stringify(tree)}`).toString(16);

/**
 * `value` with each of its items or entries replaced by `part(it, what the tree holds in the same place)`; any other
 * value as it is. Plain loops: a restart runs this on its way to listening, and Array.prototype.map and
 * Object.fromEntries cost a cold start ~0.15 ms the first time they run (bench/RESULTS.md).
 */
function eachPart(value: unknown, tree: unknown, part: (value: unknown, tree: unknown) => unknown): unknown {
  if (Array.isArray(value)) {
    const inTree: unknown[] = Array.isArray(tree) ? tree : [];
    const items: unknown[] = [];
    for (let i = 0; i < value.length; i++) items.push(part(value[i], inTree[i]));
    return items;
  }
  if (!isMapping(value)) return value;
  const inTree = isMapping(tree) ? tree : {};
  const entries: Tree = {};
  // Defined rather than assigned, so that a key named __proto__ (a map of the config's own naming) stays a key.
  for (const key of Object.keys(value))
    Object.defineProperty(entries, key, {
      value: part(value[key], inTree[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return entries;
}

/** The checked config with every value it took from the tree as it is replaced by null (no checked config has one). */
export function outline(checked: unknown, tree: unknown): unknown {
  return tree !== undefined && same(checked, tree) ? null : eachPart(checked, tree, outline);
}

/** The checked config again, from its outline and the same tree. */
export function fill(shape: unknown, tree: unknown): unknown {
  return shape === null ? tree : eachPart(shape, tree, fill);
}

async function recall(file: string, key: string, tree: Tree): Promise<Config | null> {
  try {
    const text = await readText(file);
    if (text === null) return null;
    const record = JSON.parse(text) as { key?: unknown; outline?: unknown };
    return record.key === key && isMapping(record.outline) ? (fill(record.outline, tree) as Config) : null;
  } catch {
    return null;
  }
}

/**
 * Kept only if the outline gives back exactly what the check made. A data dir not made yet (the store makes it) or
 * not writable keeps nothing: the next start checks again. A record cut short by a crash is no record (recall).
 */
async function remember(file: string, key: string, tree: Tree, checked: Config): Promise<void> {
  const shape = outline(checked, tree);
  if (!same(fill(shape, tree), checked)) return;
  // createPath: false: the data dir is the store's to make, with its mode.
  await Bun.write(file, JSON.stringify({ key, outline: shape }), { createPath: false }).catch(() => {});
}

/** The server's config: remembered from the last start if it is the same, otherwise checked (load.ts) and kept. */
export async function loadCheckedConfig(options: LoadOptions): Promise<Config> {
  const tree = await readConfigTreeAsync(options);
  const dir = dataDirOf(tree);
  const key = keyOf(tree);
  const file = dir === null ? null : `${dir}/${CHECKED_CONFIG_FILE}`;
  const recalled = file === null ? null : await recall(file, key, tree);
  if (recalled) return recalled;
  // Loaded only now: a remembered config needs no schema.
  const { checkConfig } = await import("./load.ts");
  const checked = checkConfig(tree);
  if (file !== null) await remember(file, key, tree, checked);
  return checked;
}
