// Cold start of the compiled binary: exec → first 200 from /health, and the binary's size.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile } from "./stats.ts";

const BINARY = join(import.meta.dir, "..", "dist", "agenticai");

async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}

async function once(dir: string): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = Bun.spawn([BINARY, "server"], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: String(port), AGENTICAI_DATA_DIR: join(dir, "data"), AGENTICAI_CONFIG: join(dir, "config.yaml") },
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => null);
      if (res?.status === 200) return performance.now() - t0;
      if (performance.now() - t0 > 10_000) throw new Error("the binary did not answer /health within 10 s");
      await Bun.sleep(1);
    }
  } finally {
    proc.kill();
    await proc.exited;
  }
}

export async function runStartupBench(runs = 20) {
  if (!existsSync(BINARY)) throw new Error("dist/agenticai is missing: run `bun run build` first");
  const dir = mkdtempSync(join(tmpdir(), "agenticai-startup-"));
  writeFileSync(join(dir, "config.yaml"), "");
  try {
    await once(dir); // the first start creates the database; every start after it is a normal restart
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await once(dir));
    times.sort((a, b) => a - b);
    return { runs, medianMs: percentile(times, 50), minMs: times[0]!, maxMs: times.at(-1)!, binaryBytes: statSync(BINARY).size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(await runStartupBench());
