// What the SQLite store's polls and pages cost once a file holds what a busy server keeps: the background workers
// read it every second on the event loop, beside the calls' audio, and a file keeps every call for 30 days by
// default (retention_days), so a statement that reads every call kept grows with the server's age where a fresh
// file hides it. Each is timed through the store on an empty file and on a full one, taking turns.
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { openSqliteStore } from "../src/store/sqlite.ts";
import type { Store } from "../src/store/store.ts";
import { tempDir } from "../test/support/temp.ts";
import { fmt, percentile } from "./stats.ts";

/** Thirty days of ~3 300 calls a day, every one reported, and three events delivered for each. */
const ENDED_CALLS = 100_000;
const DELIVERED_PER_CALL = 2;
const FAILED_EVENTS = 5;
const RUNS = 21;

type Timed = [name: string, run: (store: Store, now: number) => Promise<unknown>];
const TIMED: Timed[] = [
  ["report worker's poll (claimReports)", (s, now) => s.claimReports(now, now + 60_000, 4)],
  ["retry worker's poll (claimRetries)", (s, now) => s.claimRetries(now, now + 60_000, 10)],
  ["price worker's poll (claimPrices)", (s, now) => s.claimPrices(now, now + 60_000, 10)],
  ["event delivery's poll (claimDeliveries)", (s, now) => s.claimDeliveries(now, now + 60_000, 50)],
  ["retention's pass (deleteEndedCalls, none due)", (s, now) => s.deleteEndedCalls(now - 30 * 86_400_000, 50)],
  ["/health's counts (countActive, countWaiting)", (s) => Promise.all([s.countActive(), s.countWaiting()])],
  ["/metrics' pending events (countPending)", (s) => s.countPending()],
  ["the console's recent calls (listRecent 50)", (s) => s.listRecent(50)],
  ["GET /api/events, a page", (s) => s.listOutbox(null, 50)],
  ["GET /api/events?status=failed, a page", (s) => s.listOutbox("failed", 50)],
];

/** The calls and events a month of that traffic leaves, written straight into the store's own schema. */
function fill(file: string, now: number): void {
  const db = new Database(file, { strict: true });
  const call = db.query(
    `INSERT INTO calls (id, direction, to_number, status, prompt, metadata, webhook_url, created_at, updated_at,
                        ended_at, report_due)
     VALUES ($id, 'outbound', '+15550100001', 'completed', $prompt, '{}', 'https://crm.example/hook', $at, $at, $at, 0)`,
  );
  const event = db.query(
    `INSERT INTO outbox (event_id, call_id, receiver, url, type, body, status, attempts, created_at, next_attempt_at,
                         delivered_at)
     VALUES ($event, $call, 'crm.example', 'https://crm.example/events', 'call.ended', $body, $status, 1, $at, $at, $at)`,
  );
  const prompt = "You are calling to confirm tomorrow's appointment. ".repeat(10);
  const body = JSON.stringify({ type: "call.ended", data: { transcript: "x".repeat(500) } });
  db.transaction(() => {
    for (let i = 0; i < ENDED_CALLS; i++) {
      const id = `call-${i}`;
      const at = now - 30 * 86_400_000 + i * 25_000;
      call.run({ id, prompt, at });
      for (let e = 0; e < DELIVERED_PER_CALL; e++) {
        const failed = i * DELIVERED_PER_CALL + e < FAILED_EVENTS;
        event.run({ event: `${id}-${e}`, call: id, body, status: failed ? "failed" : "delivered", at });
      }
    }
  })();
  db.close();
}

export interface ScaleRow {
  name: string;
  empty: { p50: number; p99: number };
  full: { p50: number; p99: number };
}

export interface ScaleResult {
  rows: ScaleRow[];
  /** Opening the store as a restart does: files checked, SQLite opened, the last run's claims let go. */
  open: ScaleRow;
}

const summary = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};

async function timeOnce(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

export async function runStoreScaleBench(): Promise<ScaleResult> {
  const now = Date.now();
  const dirs = { empty: tempDir("agenticai-scale-empty-"), full: tempDir("agenticai-scale-full-") };
  for (const dir of Object.values(dirs)) await (await openSqliteStore(dir)).close();
  fill(`${dirs.full}/agenticai.db`, now);
  const times = { empty: TIMED.map((): number[] => []), full: TIMED.map((): number[] => []) };
  const opens = { empty: [] as number[], full: [] as number[] };
  for (let r = 0; r < RUNS; r++)
    for (const kind of r % 2 ? (["full", "empty"] as const) : (["empty", "full"] as const)) {
      let store: Store | undefined;
      opens[kind].push(await timeOnce(async () => (store = await openSqliteStore(dirs[kind]))));
      for (const [i, [, run]] of TIMED.entries()) times[kind][i]!.push(await timeOnce(() => run(store!, now)));
      await store!.close();
    }
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
  const row = (name: string, empty: number[], full: number[]) => ({ name, empty: summary(empty), full: summary(full) });
  return {
    rows: TIMED.map(([name], i) => row(name, times.empty[i]!, times.full[i]!)),
    open: row("opening the store, as a restart does", opens.empty, opens.full),
  };
}

export function storeScaleSection(r: ScaleResult): string[] {
  return [
    `Each statement through the SQLite store, ${RUNS} times on a fresh file and on one holding ${ENDED_CALLS.toLocaleString("en")} ended calls (thirty days at ~3 300 a day, the default retention) with ${DELIVERED_PER_CALL} delivered events each and ${FAILED_EVENTS} failed ones, the two files taking turns; each run opens the store again, so every statement is read cold from the file as after a restart. The workers run their polls every second on the event loop, beside the calls' audio.`,
    "",
    "| statement | fresh file p50 / p99 ms | full file p50 / p99 ms | full ÷ fresh, p50 |",
    "|---|---:|---:|---:|",
    ...[r.open, ...r.rows].map(
      (x) =>
        `| ${x.name} | ${fmt(x.empty.p50, 2)} / ${fmt(x.empty.p99, 2)} | ${fmt(x.full.p50, 2)} / ${fmt(x.full.p99, 2)} | ${fmt(x.full.p50 / x.empty.p50, 1)}× |`,
    ),
  ];
}

if (import.meta.main) for (const line of storeScaleSection(await runStoreScaleBench())) console.log(line);
