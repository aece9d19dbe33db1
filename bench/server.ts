// The server under test, as its own process so its CPU and memory can be read from /proc apart
// from the load generator's.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ServerUnderTest {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** A server child's environment: loopback on `port`, its data and config in `dir`, nothing inherited but PATH. */
export function serverEnv(dir: string, port: number, env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    // The engine's own tracing (BUN_JSC_logGC, BUN_JSC_useJITDump for perf) reaches the server, to find what a figure costs.
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("BUN_JSC_"))),
    HOST: "127.0.0.1",
    PORT: String(port),
    AGENTICAI_DATA_DIR: join(dir, "data"),
    AGENTICAI_CONFIG: join(dir, "config.yaml"),
    ...env,
  };
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}

/** Resolves once `url`'s /health answers 200, asking every `pollMs`; throws if `proc` exits first or 15 s pass. */
export async function untilHealthy(url: string, proc: { exitCode: number | null }, pollMs: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await fetch(`${url}/health`).catch(() => null))?.ok) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error("the server did not start");
    await Bun.sleep(pollMs);
  }
}

/** Starts `src/main.ts server` (or `script`) with the given environment and config file text; resolves when /health answers. */
export async function startServerProcess(
  env: Record<string, string>,
  configYaml: string,
  script?: string,
): Promise<ServerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), "agenticai-bench-"));
  writeFileSync(join(dir, "config.yaml"), configYaml);
  const port = await freePort();
  // BENCH_CPU_PROF=dir writes a CPU profile of the server (bun --cpu-prof) for finding what a figure costs.
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const command = script ? [script] : [join(import.meta.dir, "..", "src", "main.ts"), "server"];
  const proc = Bun.spawn([process.execPath, ...profile, ...command], {
    cwd: dir,
    env: serverEnv(dir, port, env),
    stdout: "ignore",
    stderr: "inherit",
  });
  const url = `http://127.0.0.1:${port}`;
  await untilHealthy(url, proc, 20);
  return {
    pid: proc.pid,
    url,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `task` for each item with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

export const UNLIMITED = `
calls:
  max_concurrent: 10000
  max_duration_s: 3600
limits:
  api_requests_per_minute: 100000000
  calls_per_minute: 100000000
`;
