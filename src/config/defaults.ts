// Bun macros: imported `with { type: "macro" }`, they run when the loader is bundled (or transpiled, under
// `bun run` and `bun test`), and their results are written into the code as literals. So the defaults of every section
// come from the schema itself, and a start builds no schema for a section its config leaves out.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import zod from "zod/package.json" with { type: "json" };
import { type Config, ConfigSchema } from "./schema.ts";

/** What the schema makes of an empty config. */
export function configDefaults(): Config {
  return ConfigSchema.parse({});
}

/**
 * What checking a config depends on: this folder's sources (the schema, its messages, the loader) and zod's version.
 * A config checked by a build with another fingerprint is checked again (remembered.ts).
 */
export function configFingerprint(): string {
  const hasher = new Bun.CryptoHasher("sha256").update(zod.version);
  const sources = readdirSync(import.meta.dir).filter((name) => name.endsWith(".ts"));
  for (const name of sources.sort()) hasher.update(name).update(readFileSync(join(import.meta.dir, name)));
  return hasher.digest("hex");
}

/** Where the data dir is when the config does not say. */
export function defaultDataDir(): string {
  return configDefaults().server.data_dir;
}
