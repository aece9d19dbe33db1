// Retention against the real server and real SQLite files: ended calls past retention.calls_days go with
// everything kept of them, delivered events past events.keep_days go, calls under way or waiting for a retry
// stay; and deleting a few thousand calls at the request limits never holds the database for 100 ms.
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureRecordingsDir, recordingPath } from "../src/recording/files.ts";
import { openStore } from "../src/store/sqlite.ts";
import { CALL_BATCH, EVENT_BATCH } from "../src/workers/retention.ts";
import { startTestApp, type TestApp, tempDir } from "./support/app.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";
import { until } from "./support/until.ts";

const DAY_MS = 86_400_000;
let app: TestApp | null = null;
let receiver: Receiver | null = null;
const dirs: string[] = [];

afterEach(async () => {
  await app?.stop();
  await receiver?.stop();
  app = null;
  receiver = null;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Rows each table keeps of a call, read as another process would. */
function rowsOf(dataDir: string, callId: string): Record<string, number> {
  const db = new Database(join(dataDir, "agenticai.db"), { readonly: true });
  try {
    const count = (sql: string) => db.query<{ n: number }, [string]>(sql).get(callId)!.n;
    return {
      calls: count("SELECT count(*) AS n FROM calls WHERE id = ?"),
      transcript: count("SELECT count(*) AS n FROM transcript WHERE call_id = ?"),
      call_events: count("SELECT count(*) AS n FROM call_events WHERE call_id = ?"),
      attempts: count("SELECT count(*) AS n FROM attempts WHERE call_id = ?"),
      outbox: count("SELECT count(*) AS n FROM outbox WHERE call_id = ?"),
      delivered: count("SELECT count(*) AS n FROM outbox WHERE call_id = ? AND status = 'delivered'"),
    };
  } finally {
    db.close();
  }
}

/** Moves times back as if they had passed while the server was stopped. */
function age(dataDir: string, sql: string, ...args: (string | number)[]): void {
  const db = new Database(join(dataDir, "agenticai.db"));
  try {
    db.query(sql).run(...args);
  } finally {
    db.close();
  }
}

function oldFile(path: string, at: number): void {
  writeFileSync(path, "RIFF");
  utimesSync(path, at / 1000, at / 1000);
}

describe("retention.calls_days and events.keep_days", () => {
  test("at start, ended calls past retention go with all they kept; calls under way or waiting stay", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    receiver = startReceiver();
    const config = { events: { url: receiver.url, keep_days: 1 }, retention: { calls_days: 1 } };
    app = await startTestApp({ dataDir, config });
    const first = app;
    const old = await first.call();
    const recent = await first.call();
    const waiting = await first.call({ retry: { max_attempts: 2, delay_s: 3_600 } });
    first.ctx.store.upsertTurn({
      call_id: old.id,
      role: "agent",
      item_id: "t1",
      text: "Hello.",
      started_at: Date.now(),
      interrupted: 0,
    });
    for (const { sid } of [old, recent, waiting]) await first.twilio.sendStatus(sid, "busy");
    for (const { id } of [old, recent]) {
      await until(async () => (await first.api(`/api/calls/${id}`)).body.report, "the report", 10_000);
    }
    await until(() => first.ctx.store.countPending().then((n) => n === 0) as Promise<boolean>, "the deliveries");
    ensureRecordingsDir(dataDir);
    const twoDaysAgo = Date.now() - 2 * DAY_MS;
    oldFile(recordingPath(dataDir, old.id), twoDaysAgo);
    oldFile(recordingPath(dataDir, recent.id), twoDaysAgo);
    await first.stop();
    app = null;
    expect(rowsOf(dataDir, old.id)).toMatchObject({ calls: 1, transcript: 1, outbox: expect.any(Number) });

    // Two days pass: the old call ended then, the waiting one was placed then, and the recent call's
    // events were delivered then (the recent call itself ended just now).
    age(dataDir, "UPDATE calls SET ended_at = ? WHERE id = ?", twoDaysAgo, old.id);
    age(dataDir, "UPDATE calls SET created_at = ? WHERE id = ?", twoDaysAgo, waiting.id);
    age(dataDir, "UPDATE outbox SET delivered_at = ? WHERE call_id = ?", twoDaysAgo, recent.id);
    expect(rowsOf(dataDir, recent.id).delivered).toBeGreaterThan(0);

    app = await startTestApp({ dataDir, config });
    const second = app;
    await until(async () => (await second.api(`/api/calls/${old.id}`)).status === 404, "the old call to go");
    expect(rowsOf(dataDir, old.id)).toEqual({
      calls: 0,
      transcript: 0,
      call_events: 0,
      attempts: 0,
      outbox: 0,
      delivered: 0,
    });
    expect(existsSync(recordingPath(dataDir, old.id))).toBe(false);
    await until(() => rowsOf(dataDir, recent.id).delivered === 0, "the recent call's old deliveries to go");
    expect(rowsOf(dataDir, recent.id)).toMatchObject({ calls: 1, call_events: 2 });
    expect(existsSync(recordingPath(dataDir, recent.id))).toBe(true);
    expect((await second.api(`/api/calls/${recent.id}`)).status).toBe(200);
    const stillWaiting = (await second.api(`/api/calls/${waiting.id}`)).body;
    expect(stillWaiting).toMatchObject({ active: true, status: "queued", next_attempt_at: expect.any(String) });
    expect(second.logs).toContainEqual(
      expect.objectContaining({ msg: "deleted calls past their retention", removed: 1, recordings: 1 }),
    );
  }, 30_000);

  test("0 keeps every call", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const config = { retention: { calls_days: 0 }, events: { keep_days: 0 } };
    app = await startTestApp({ dataDir, config });
    const old = await app.call();
    await app.twilio.sendStatus(old.sid, "busy");
    await until(async () => (await app!.api(`/api/calls/${old.id}`)).body.report, "the report", 10_000);
    await app.stop();
    age(dataDir, "UPDATE calls SET ended_at = ? WHERE id = ?", 1, old.id);
    app = await startTestApp({ dataDir, config });
    await Bun.sleep(300);
    expect((await app.api(`/api/calls/${old.id}`)).status).toBe(200);
  }, 20_000);
});

/** A call at the request limits: a 32 000-character prompt, 16 KB of metadata, a long transcript and its events. */
function fillCalls(dataDir: string, count: number, endedAt: number): void {
  const db = new Database(join(dataDir, "agenticai.db"));
  const prompt = "p".repeat(32_000);
  const metadata = JSON.stringify({ note: "m".repeat(16_000) });
  const text = "t".repeat(400);
  const body = JSON.stringify({ type: "call.transcript", data: { text: "b".repeat(900) } });
  const call = db.query(
    `INSERT INTO calls (id, direction, from_number, to_number, status, prompt, metadata, webhook_url, created_at,
       updated_at, ended_at, end_reason, report, report_due, metrics)
     VALUES (?, 'outbound', '+15550100000', '+15550100001', 'completed', ?, ?, 'https://a.example', ?, ?, ?,
       'completed', ?, 0, ?)`,
  );
  const turn = db.query(
    "INSERT INTO transcript (call_id, role, item_id, text, started_at) VALUES (?, 'agent', ?, ?, ?)",
  );
  const history = db.query(
    `INSERT INTO call_events (call_id, call_sid, status, source, verdict, at, params)
     VALUES (?, 'CA', 'ringing', 'status_callback', 'apply', ?, ?)`,
  );
  const attempt = db.query(
    "INSERT INTO attempts (call_id, attempt, status, started_at, ended_at) VALUES (?, ?, 'busy', ?, ?)",
  );
  const outbox = db.query(
    `INSERT INTO outbox (event_id, call_id, receiver, url, type, body, status, created_at, next_attempt_at,
       delivered_at) VALUES (?, ?, 'events', 'https://r.example', 'call.transcript', ?, 'delivered', ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
      call.run(id, prompt, metadata, endedAt, endedAt, endedAt + i, "r".repeat(2_000), "x".repeat(2_000));
      for (let t = 0; t < 60; t++) turn.run(id, `item-${t}`, text, endedAt + t);
      for (let e = 0; e < 12; e++) history.run(id, endedAt + e, "q".repeat(400));
      for (let a = 1; a <= 4; a++) attempt.run(id, a, endedAt, endedAt);
      for (let o = 0; o < 12; o++) outbox.run(`msg_${i}_${o}`, id, body, endedAt, endedAt, endedAt);
    }
  })();
  db.close();
}

test("deleting 3000 calls at the request limits (~90 KB each) holds SQLite for under 100 ms per batch", async () => {
  const dataDir = tempDir();
  dirs.push(dataDir);
  const store = openStore(dataDir);
  try {
    fillCalls(dataDir, 3_000, 1_000);
    const batches: number[] = [];
    for (;;) {
      const started = performance.now();
      const deleted = await store.deleteEndedCalls(Date.now(), CALL_BATCH);
      batches.push(performance.now() - started);
      if (deleted.length < CALL_BATCH) break;
    }
    const longest = Math.max(...batches);
    console.log(`retention: ${batches.length} batches of ${CALL_BATCH} calls, longest ${longest.toFixed(1)} ms`);
    expect(batches.length).toBe(3_000 / CALL_BATCH + 1);
    expect(longest).toBeLessThan(100);
    expect(await store.listActive()).toEqual([]);
    expect(await store.listRecent(1)).toEqual([]);
    expect(await store.listOutbox(null, 1)).toEqual([]);
  } finally {
    await store.close();
  }
}, 120_000);

test("deleting their delivered events in batches holds SQLite for under 100 ms per batch too", async () => {
  const dataDir = tempDir();
  dirs.push(dataDir);
  const store = openStore(dataDir);
  try {
    fillCalls(dataDir, 1_000, 1_000);
    const batches: number[] = [];
    for (;;) {
      const started = performance.now();
      const deleted = await store.deleteDelivered(Date.now(), EVENT_BATCH);
      batches.push(performance.now() - started);
      if (deleted < EVENT_BATCH) break;
    }
    const longest = Math.max(...batches);
    console.log(`retention: ${batches.length} batches of ${EVENT_BATCH} events, longest ${longest.toFixed(1)} ms`);
    expect(batches.length).toBe(Math.ceil(12_000 / EVENT_BATCH) + 1);
    expect(longest).toBeLessThan(100);
    expect(await store.listOutbox(null, 1)).toEqual([]);
    expect(await store.listActive()).toEqual([]);
    expect((await store.listRecent(2_000)).length).toBe(1_000);
  } finally {
    await store.close();
  }
}, 120_000);
