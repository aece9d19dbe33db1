// `bun bench/bytecode-order.ts`: records which functions a restart of the compiled server runs, in the order it runs
// them, into deploy/agenticai.order, which the build (package.json, --bytecode-order) lays the binary's bytecode out
// by: what a start reads sits together at the front, so a start reads and decodes less of the binary (bench/RESULTS.md).
// Functions are matched by a hash of their syntax, so a profile from an older commit still applies to the code that
// has not changed; record again when bytecodeOrderStats() from bun:jsc, in a started binary, reports many `cold`.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, serverEnv, untilHealthy } from "./server.ts";
import { compile } from "./startup.ts";

const BINARY = join(import.meta.dir, "..", "dist", "agenticai");
const PROFILE = join(import.meta.dir, "..", "deploy", "agenticai.order");
/** After the first /health, how long the rest of the start (after-listen.ts, the numbering plan warmed up) is given to run. */
const REST_MS = 1_000;

/** One start of the server in `dir`, until its first /health 200 and then `restMs` more; `env` added to its own. */
async function start(dir: string, port: number, restMs: number, env: Record<string, string> = {}): Promise<void> {
  const proc = Bun.spawn([BINARY, "server"], { cwd: dir, env: serverEnv(dir, port, env), stdout: "ignore" });
  await untilHealthy(`http://127.0.0.1:${port}`, proc, 1);
  await Bun.sleep(restMs);
  proc.kill("SIGTERM");
  if ((await proc.exited) !== 0) throw new Error(`the server exited with ${proc.exitCode}`);
}

await compile();
const dir = mkdtempSync(join(tmpdir(), "agenticai-order-"));
try {
  writeFileSync(join(dir, "config.yaml"), "");
  const port = await freePort();
  // The first start makes the database and checks the config; the one recorded is a restart, as deployments do.
  await start(dir, port, 0);
  const recorded = join(dir, "recorded.order");
  await start(dir, port, REST_MS, { BUN_BYTECODE_ORDER_OUT: recorded });
  copyFileSync(recorded, PROFILE);
  console.log(`wrote ${PROFILE}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
