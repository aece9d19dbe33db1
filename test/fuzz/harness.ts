// The fuzzing harness for test/fuzz/surfaces.ts: the environment (the real server with a fake carrier and a
// hostile model), the /health pinger, the fast-check runner that tallies answers, and shared arbitraries.
import type { ServerWebSocket } from "bun";
import fc from "fast-check";
import { startTestApp, type TestApp } from "../support/app.ts";

export interface Tally {
  surface: string;
  cases: number;
  failures: number;
  counterexample: string | null;
  classes: Record<string, number>;
  healthMs: number[];
  healthFailures: number;
  durationMs: number;
}

/** A hostile realtime model: each session gets the next script of raw text frames after session.updated. */
export interface FuzzModel {
  url: string;
  scripts: string[][];
  stop(): void;
}

export interface FuzzEnv {
  app: TestApp;
  model: FuzzModel;
  /** Errors thrown outside any request (socket handlers, timers) while a surface runs. */
  uncaught: string[];
  stop(): Promise<void>;
}

export interface Surface {
  name: string;
  run(env: FuzzEnv, runs: number, seed?: number): Promise<Tally>;
}

// ── Environment ─────────────────────────────────────────────────────────────────────────────────

function startFuzzModel(): FuzzModel {
  const scripts: string[][] = [];
  const server = Bun.serve<{ script: string[] }>({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req, srv) => (srv.upgrade(req, { data: { script: scripts.shift() ?? [] } }) ? undefined : new Response()),
    websocket: {
      message(ws: ServerWebSocket<{ script: string[] }>, message) {
        if (typeof message !== "string" || !message.includes('"session.update"')) return;
        ws.send(JSON.stringify({ type: "session.updated", session: {} }));
        for (const text of ws.data.script) ws.send(text);
        ws.data.script = [];
      },
    },
  });
  return { url: `http://127.0.0.1:${server.port}/v1`, scripts, stop: () => server.stop(true) };
}

export async function startFuzzEnv(): Promise<FuzzEnv> {
  const app = await startTestApp({
    publicUrlSelf: true,
    config: {
      limits: { api_requests_per_minute: 1_000_000_000, calls_per_minute: 1_000_000_000 },
      calls: { max_concurrent: 10_000 },
    },
  });
  // No name resolves: a fuzzed callback_url's host is refused without asking DNS on the internet.
  app.ctx.lookupHost = async () => [];
  const model = startFuzzModel();
  const uncaught: string[] = [];
  const onError = (e: unknown) => uncaught.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  return {
    app,
    model,
    uncaught,
    async stop() {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onError);
      model.stop();
      await app.stop();
    },
  };
}

/** Requests /health every few ms while `work` runs; latencies in ms, and how many were not a 200. */
async function withHealth<T>(env: FuzzEnv, work: () => Promise<T>): Promise<[T, number[], number]> {
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const pinger = (async () => {
    while (running) {
      const t0 = performance.now();
      const res = await fetch(`${env.app.url}/health`).catch(() => null);
      latencies.push(performance.now() - t0);
      if (res?.status !== 200) failures++;
      await res?.text();
      await Bun.sleep(5);
    }
  })();
  try {
    return [await work(), latencies, failures];
  } finally {
    running = false;
    await pinger;
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const errorLogs = (env: FuzzEnv) => env.app.logs.filter((l) => l.level === "error").length;

/**
 * Runs one property with fast-check, counting answers by class; a failure is shrunk by fast-check and
 * reported with its smallest counterexample. Error logs and uncaught errors also fail the surface.
 */
async function runSurface<T>(
  env: FuzzEnv,
  name: string,
  opts: { runs: number; seed?: number },
  arb: fc.Arbitrary<T>,
  check: (value: T, classes: Record<string, number>) => Promise<string | null>,
): Promise<Tally> {
  const classes: Record<string, number> = {};
  const t0 = performance.now();
  const logsBefore = errorLogs(env);
  env.uncaught.length = 0;
  let cases = 0;
  const property = fc.asyncProperty(arb, async (value) => {
    cases++;
    // The server runs in this process: let it and the pinger have the loop between cases.
    await Bun.sleep(0);
    const problem = await check(value, classes);
    if (problem) throw new Error(problem);
  });
  const [details, healthMs, healthFailures] = await withHealth(env, () =>
    fc.check(property, { numRuns: opts.runs, seed: opts.seed, endOnFailure: false }),
  );
  let counterexample: string | null = null;
  if (details.failed) {
    const error =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    counterexample = `${fc.stringify(details.counterexample).slice(0, 600)} → ${error.slice(0, 300)} (seed ${details.seed}, path ${details.counterexamplePath})`;
  }
  const newErrors = env.app.logs.filter((l) => l.level === "error").slice(logsBefore);
  if (!counterexample && newErrors.length > 0) counterexample = `error logged: ${JSON.stringify(newErrors[0])}`;
  if (!counterexample && env.uncaught.length > 0) counterexample = `uncaught: ${env.uncaught[0]}`;
  return {
    surface: name,
    cases: Math.min(cases, opts.runs),
    failures: (details.failed ? 1 : 0) + newErrors.length + env.uncaught.length,
    counterexample,
    classes,
    healthMs,
    healthFailures,
    durationMs: performance.now() - t0,
  };
}

const bump = (classes: Record<string, number>, key: string) => {
  classes[key] = (classes[key] ?? 0) + 1;
};
const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;

/** A non-2xx answer must be the API's error shape. */
function errorShape(status: number, text: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${status} answer is not JSON: ${text.slice(0, 120)}`;
  }
  const b = body as { success?: unknown; error?: unknown } | null;
  if (b?.success !== false || typeof b.error !== "string")
    return `${status} answer is not {success:false,error}: ${text.slice(0, 120)}`;
  return null;
}

// ── Shared arbitraries ──────────────────────────────────────────────────────────────────────────

const KB = 1024;
/** Strings of any code points, including lone surrogates, NUL and control characters. */
const anyString = (maxLength = 40) => fc.string({ unit: "binary", maxLength });
const oddText = () =>
  fc.oneof(
    anyString(),
    fc.constantFrom("", " ", "null", "[]", "{}", "\u0000", "%00", "\ud800", "../..", "<x/>", "${PATH}", "💥"),
  );
/** JSON texts of every kind, including fc.anything serialised and pathological nesting. */
const jsonText = () =>
  fc.oneof(
    fc.json(),
    fc.anything().map((v) => JSON.stringify(v) ?? "undefined"),
    fc.integer({ min: 1, max: 200 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`),
    fc.integer({ min: 1, max: 200 }).map((n) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`),
    fc.integer({ min: 1, max: 5000 }).map((n) => "[".repeat(n)),
  );
const bigText = () =>
  fc
    .constantFrom(64 * KB - 64, 64 * KB - 1, 64 * KB, 64 * KB + 1, 70 * KB, 200 * KB)
    .chain((n) =>
      fc.constantFrom("x", "é", "\u0000").map((c) => JSON.stringify({ to: "+15551230001", prompt: c.repeat(n) })),
    );

export { anyString, bigText, bump, errorShape, jsonText, oddText, runSurface, statusClass };
