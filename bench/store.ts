// What keeping calls in PostgreSQL costs against the embedded SQLite file (issue 16): POST /api/call
// latency on each engine in the same run, and on PostgreSQL the database round trips a POST and a whole
// call make, counted on the wire by a relay between the server and PostgreSQL (bench/pg-wire.ts).
import { SQL } from "bun";
import { startCarrier } from "../src/sim/carrier.ts";
import { conversation, loadScript } from "../src/sim/script.ts";
import { simulatorEnv } from "../src/sim/simulators.ts";
import { startRealtimeSim } from "../src/sim/voice-model.ts";
import { type Postgres, startPostgres } from "../test/support/postgres.ts";
import { postCall } from "./api.ts";
import { type PgWireCounter, startPgWireCounter } from "./pg-wire.ts";
import { pool, startServerProcess, UNLIMITED } from "./server.ts";
import { fmt, percentile } from "./stats.ts";

export type Engine = "sqlite" | "postgres";

/** Each engine runs twice, in this order, so that neither gets the host's quieter moments alone. */
const ORDER: Engine[] = ["sqlite", "postgres", "postgres", "sqlite"];
const CLIENTS = 20;
const REQUESTS = 1000;
const WARM_UP = 100;
/** Background workers poll the database; their rate, taken over this quiet time, is subtracted. */
const IDLE_MS = 3_000;
const WHOLE_CALLS = 10;
const WHOLE_PARALLEL = 2;
/** The callee who talks the script through, and says goodbye so that the agent hangs up. */
const TALKS = "+15550100001";
/** The silent callee: with no autoCalls at the carrier, its calls stay queued. */
const SILENT = "+15550100006";
/** Stream time per wall time: the carrier and the model play the script 8× faster than spoken. */
const SPEED = 8;
const POLL_MS = 200;
const REPORT_TIMEOUT_MS = 60_000;
/** GETs of a finished call that price one poll, to take the polls out of a whole call's count. */
const PRICED_GETS = 20;

/** Where a run's server keeps its calls, and the wire count when that is PostgreSQL (null for SQLite). */
interface Database {
  env: Record<string, string>;
  roundTrips: (() => number) | null;
}

export interface ApiRun {
  p50: number;
  p99: number;
  max: number;
  perSecond: number;
  /** Round trips a second with no requests; null on SQLite. */
  idlePerSecond: number | null;
  /** Round trips per POST, the idle rate over the run taken out; null on SQLite. */
  perCall: number | null;
}

export interface WholeCallRun {
  /** From POST to the report seen stored (polled every POLL_MS), median and slowest, ms. */
  wallP50: number;
  wallMax: number;
  /** The call itself, created → ended on the server's clock: the carrier's pace, median ms. */
  callP50: number;
  /** Ended → report stored (the row's last update), median and slowest, ms. */
  reportP50: number;
  reportMax: number;
  idlePerSecond: number | null;
  /** Round trips of one GET /api/calls/{id}, the poll that waits for the report. */
  perGet: number | null;
  perCall: number | null;
}

export interface StoreBench {
  postgresVersion: string;
  api: Record<Engine, ApiRun[]>;
  whole: Record<Engine, WholeCallRun>;
}

async function database(engine: Engine, pg: Postgres, relay: PgWireCounter): Promise<Database> {
  if (engine === "sqlite") return { env: {}, roundTrips: null };
  const url = new URL(await pg.createDatabase());
  url.port = String(relay.port);
  return { env: { DATABASE_URL: url.toString() }, roundTrips: relay.roundTrips };
}

/**
 * Round trips a second while no request comes: what the background workers' polling costs. SQLite's server
 * waits as long, so that both engines' runs go through the same steps.
 */
async function idleRate(roundTrips: Database["roundTrips"]): Promise<number | null> {
  const before = roundTrips?.() ?? 0;
  const t0 = performance.now();
  await Bun.sleep(IDLE_MS);
  if (!roundTrips) return null;
  return (roundTrips() - before) / ((performance.now() - t0) / 1000);
}

/** Counts round trips over `fn`, less what the idle rate would have made in the same time; null on SQLite. */
async function netRoundTrips(db: Database, idle: number | null, fn: () => Promise<void>): Promise<number | null> {
  const before = db.roundTrips?.() ?? 0;
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  if (!db.roundTrips || idle === null) return null;
  return db.roundTrips() - before - idle * seconds;
}

/** POST /api/call from CLIENTS clients at once, the calls left queued at a carrier that plays nothing. */
async function apiRun(db: Database): Promise<ApiRun> {
  const carrier = await startCarrier();
  const server = await startServerProcess({ ...simulatorEnv({ carrier }), ...db.env }, UNLIMITED);
  try {
    const body = JSON.stringify({ to: SILENT, webhook_url: "https://bench.example.com", metadata: { bench: true } });
    const post = async () => (await postCall(server.url, body)).ms;
    await pool(Array.from({ length: WARM_UP }), 10, async () => void (await post()));
    const idle = await idleRate(db.roundTrips);
    const times: number[] = [];
    const t0 = performance.now();
    const net = await netRoundTrips(db, idle, () =>
      pool(Array.from({ length: REQUESTS }), CLIENTS, async () => void times.push(await post())),
    );
    const seconds = (performance.now() - t0) / 1000;
    times.sort((a, b) => a - b);
    return {
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      max: times.at(-1)!,
      perSecond: REQUESTS / seconds,
      idlePerSecond: idle,
      perCall: net === null ? null : net / REQUESTS,
    };
  } finally {
    await server.stop();
    await carrier.stop();
  }
}

interface CallDetail {
  status: string;
  end_reason: string | null;
  created_at: string;
  ended_at: string | null;
  updated_at: string;
  report: unknown;
}

async function getCall(serverUrl: string, id: string): Promise<CallDetail> {
  const res = await fetch(`${serverUrl}/api/calls/${id}`);
  if (!res.ok) throw new Error(`GET /api/calls/${id} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as CallDetail;
}

/** Polls until the call's report is stored; a call that did not talk through to the agent's goodbye is an error. */
async function untilReported(serverUrl: string, id: string, polled: () => void): Promise<CallDetail> {
  const deadline = performance.now() + REPORT_TIMEOUT_MS;
  for (;;) {
    polled();
    const call = await getCall(serverUrl, id);
    if (call.report !== null) {
      if (call.status !== "completed" || call.end_reason !== "agent_hangup") {
        throw new Error(`call ${id} ended ${call.status} / ${call.end_reason}, not as the script plays it`);
      }
      return call;
    }
    if (performance.now() > deadline) throw new Error(`call ${id} has no report after ${REPORT_TIMEOUT_MS} ms`);
    await Bun.sleep(POLL_MS);
  }
}

interface PlayedCall {
  id: string;
  wallMs: number;
  callMs: number;
  reportMs: number;
}

/** Places one talking call and waits for its report; `polled` counts the GETs that waited. */
async function playCall(serverUrl: string, polled: () => void): Promise<PlayedCall> {
  const t0 = performance.now();
  const body = JSON.stringify({ to: TALKS, webhook_url: serverUrl, prompt: "Confirm the appointment." });
  const { callId } = await postCall(serverUrl, body);
  const call = await untilReported(serverUrl, callId, polled);
  const ended = Date.parse(call.ended_at!);
  return {
    id: callId,
    wallMs: performance.now() - t0,
    callMs: ended - Date.parse(call.created_at),
    reportMs: Date.parse(call.updated_at) - ended,
  };
}

function summarize(calls: PlayedCall[]) {
  const sorted = (f: (c: PlayedCall) => number) => calls.map(f).sort((a, b) => a - b);
  const wall = sorted((c) => c.wallMs);
  const call = sorted((c) => c.callMs);
  const report = sorted((c) => c.reportMs);
  return {
    wallP50: percentile(wall, 50),
    wallMax: wall.at(-1)!,
    callP50: percentile(call, 50),
    reportP50: percentile(report, 50),
    reportMax: report.at(-1)!,
  };
}

/**
 * WHOLE_CALLS talking calls, WHOLE_PARALLEL at a time, after as many for warm-up (each connection of the
 * pool prepares a statement on its first use, one round trip more, which a running server has long paid).
 */
async function wholeCallRun(db: Database): Promise<WholeCallRun> {
  const script = await loadScript();
  const model = startRealtimeSim({ ...conversation(script, "talks"), responseDelayMs: 250, speed: SPEED });
  const carrier = await startCarrier({ autoCalls: { script, speed: SPEED } });
  const server = await startServerProcess({ ...simulatorEnv({ carrier, model }), ...db.env }, UNLIMITED);
  try {
    const playAll = async (polled: () => void) => {
      const calls: PlayedCall[] = [];
      await pool(Array.from({ length: WHOLE_CALLS }), WHOLE_PARALLEL, async () => {
        calls.push(await playCall(server.url, polled));
      });
      return calls;
    };
    await playAll(() => {});
    const idle = await idleRate(db.roundTrips);
    let calls: PlayedCall[] = [];
    let polls = 0;
    const net = await netRoundTrips(db, idle, async () => {
      calls = await playAll(() => void polls++);
    });
    const getNet = await netRoundTrips(db, idle, async () => {
      for (let i = 0; i < PRICED_GETS; i++) await getCall(server.url, calls[0]!.id);
    });
    const perGet = getNet === null ? null : getNet / PRICED_GETS;
    return {
      ...summarize(calls),
      idlePerSecond: idle,
      perGet,
      perCall: net === null || perGet === null ? null : (net - polls * perGet) / WHOLE_CALLS,
    };
  } finally {
    await server.stop();
    await carrier.stop();
    model.stop();
  }
}

/** The server's version, asked directly rather than through the relay, so as not to count. */
export async function serverVersion(pg: Postgres): Promise<string> {
  const sql = new SQL(pg.url("postgres"), { max: 1 });
  try {
    const [row] = await sql`SHOW server_version`;
    return String(row.server_version).split(" ")[0]!;
  } finally {
    await sql.close();
  }
}

export async function runStoreBench(): Promise<StoreBench> {
  const pg = await startPostgres();
  const relay = startPgWireCounter(Number(new URL(pg.url("postgres")).port));
  try {
    const api: Record<Engine, ApiRun[]> = { sqlite: [], postgres: [] };
    for (const engine of ORDER) api[engine].push(await apiRun(await database(engine, pg, relay)));
    const whole = {} as Record<Engine, WholeCallRun>;
    for (const engine of ["sqlite", "postgres"] as const) {
      whole[engine] = await wholeCallRun(await database(engine, pg, relay));
    }
    return { postgresVersion: await serverVersion(pg), api, whole };
  } finally {
    relay.stop();
    await pg.stop();
  }
}

/** Of two runs, their mean: the median of an even count. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const NAMES: Record<Engine, string> = { sqlite: "SQLite", postgres: "PostgreSQL" };

/** One table row: SQLite's figure, PostgreSQL's, and their ratio. */
function row(label: string, sqlite: number, postgres: number, digits = 1): string {
  return `| ${label} | ${fmt(sqlite, digits)} | ${fmt(postgres, digits)} | ${fmt(postgres / sqlite, 2)}× |`;
}

/** SQLite makes none: it runs in the server's process. */
function roundTripRow(label: string, postgres: number | null): string {
  return `| ${label} | none: in-process | **${fmt(postgres ?? NaN, 1)}** | – |`;
}

/** The POST /api/call rows: each engine's median over its runs. */
function apiRows(b: StoreBench): string[] {
  const ofRuns = (engine: Engine, f: (r: ApiRun) => number | null) => median(b.api[engine].map((r) => f(r) ?? NaN));
  const both = (label: string, f: (r: ApiRun) => number, digits?: number) =>
    row(label, ofRuns("sqlite", f), ofRuns("postgres", f), digits);
  return [
    both("POST /api/call p50 ms", (r) => r.p50),
    both("POST /api/call p99 ms", (r) => r.p99),
    both("POST /api/call max ms", (r) => r.max),
    both("calls/s", (r) => r.perSecond, 0),
    roundTripRow(
      "database round trips per POST /api/call",
      ofRuns("postgres", (r) => r.perCall),
    ),
    roundTripRow(
      "database round trips a second while idle (background polls)",
      ofRuns("postgres", (r) => r.idlePerSecond),
    ),
  ];
}

function wholeCallRows({ sqlite: s, postgres: p }: StoreBench["whole"]): string[] {
  return [
    row("whole call, POST → report seen, median ms", s.wallP50, p.wallP50, 0),
    row("whole call, POST → report seen, slowest ms", s.wallMax, p.wallMax, 0),
    row("of which the call, created → ended, median ms", s.callP50, p.callP50, 0),
    row("of which ended → report stored, median ms", s.reportP50, p.reportP50, 0),
    row("of which ended → report stored, slowest ms", s.reportMax, p.reportMax, 0),
    roundTripRow("database round trips per whole call, POST → report stored", p.perCall),
  ];
}

/** Section 6 of the report, as Markdown lines under its heading. */
export function storeSection(b: StoreBench): string[] {
  const p = b.whole.postgres;
  const runs = (engine: Engine) => b.api[engine].map((r) => fmt(r.p50)).join(" / ");
  return [
    `Each engine in a fresh server process and database: SQLite (the default, a file in the data dir) and PostgreSQL ${b.postgresVersion} on loopback, which the server reaches through a relay that counts its round trips on the wire (bench/pg-wire.ts: each simple Query and each Sync, i.e. each exchange whose answer the server waits for; queries pipelined on one connection count one each). Round trips are net of the background workers' polling: the rate over ${IDLE_MS / 1000} s without requests, before the measured part, times its duration.`,
    "",
    `**POST /api/call**: ${CLIENTS} concurrent clients, ${REQUESTS} calls after ${WARM_UP} for warm-up, to the silent callee at a carrier that plays nothing, so the calls stay queued (config as in section 5). The engines ran in the order ${ORDER.map((e) => NAMES[e]).join(", ")}; the table gives the median of each engine's two runs (p50 per run, in order: SQLite ${runs("sqlite")} ms, PostgreSQL ${runs("postgres")} ms).`,
    "",
    `**Whole calls**: ${WHOLE_CALLS} calls to the talking callee, ${WHOLE_PARALLEL} at a time, after as many for warm-up, the carrier and the voice model at ${SPEED}× speed; each from its POST until GET /api/calls/{id}, polled every ${POLL_MS} ms, shows its report. The round trips leave out those polls (${fmt(p.perGet ?? NaN, 1)} per GET, priced by ${PRICED_GETS} GETs of a finished call) and the background polling (${fmt(p.idlePerSecond ?? NaN, 1)} a second before the calls).`,
    "",
    "| | SQLite | PostgreSQL | PostgreSQL ÷ SQLite |",
    "|---|---:|---:|---:|",
    ...apiRows(b),
    ...wholeCallRows(b.whole),
    "",
    "What limits these figures: PostgreSQL runs on loopback, on the same two shared cores as the server, the clients and the simulators, set up as the tests' harness sets it (test/support/postgres.ts: fsync, synchronous_commit and full_page_writes off, so no commit waits for a disk, as none does with SQLite's WAL at synchronous=NORMAL either); a PostgreSQL across a network adds its latency to every round trip counted here, and a durable one a WAL flush to every commit.",
  ];
}

if (import.meta.main) console.log(storeSection(await runStoreBench()).join("\n"));
