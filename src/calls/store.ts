import { Database } from "bun:sqlite";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { TurnRecord } from "../bridge/turns.ts";
import { type NewOutboxRow, type OutboxStore, outboxStatements, outboxStore } from "../events/outbox.ts";
import type { CallStatus } from "../twilio/status.ts";
import { MIGRATIONS } from "./migrations.ts";
import type { Verdict } from "./status.ts";

export type Direction = "outbound" | "inbound";

/** Why a call ended: Twilio's terminal status, or what this server did to end it. */
export type EndReason =
  | "completed"
  | "busy"
  | "no_answer"
  | "failed"
  | "canceled"
  | "ended_by_api"
  | "agent_hangup"
  | "max_duration"
  | "model_unavailable"
  | "twilio_error"
  | "server_restart"
  | "shutdown"
  | "no_callbacks"
  | "no_media"
  | "silence"
  | "voicemail"
  | "transferred";

/** What a status-history row came from; stored, so existing values never change. */
export type EventSource = "api" | "status_callback" | "voice_webhook" | "reconcile" | "sweeper";

export interface CallRow {
  id: string;
  call_sid: string | null;
  direction: Direction;
  from_number: string | null;
  to_number: string;
  status: CallStatus;
  prompt: string;
  metadata: string;
  webhook_url: string;
  created_at: number;
  updated_at: number;
  answered_at: number | null;
  ended_at: number | null;
  end_requested_at: number | null;
  duration_s: number | null;
  end_reason: EndReason | null;
  error: string | null;
  last_sequence: number;
  metrics: string | null;
  /** The call report (JSON), once made. */
  report: string | null;
  /** 1 from creation until the report is stored: what the report worker picks up after the call ends. */
  report_due: number;
  /** The request's report_schema (JSON), if any. */
  report_schema: string | null;
  callback_url: string | null;
  /** 0 when the request opted out of notifying the assistant (OpenClaw). */
  notify: number;
  /** The call's in-call policies (CallOptions as JSON); null for calls from before they existed. */
  options: string | null;
  /** Twilio's answering machine detection result: human, machine_end_beep, fax, … */
  answered_by: string | null;
  /** Where transfer_call handed the call, and how that leg went (Twilio's DialCallStatus). */
  transferred_to: string | null;
  transfer_status: string | null;
  /** Which attempt the row follows (1 unless retried), since when, and when the next one is due if one waits. */
  attempt: number;
  attempt_started_at: number | null;
  next_attempt_at: number | null;
}

/** A finished attempt of a call that was tried again. */
export interface AttemptRow {
  call_id: string;
  attempt: number;
  call_sid: string | null;
  status: string;
  end_reason: string | null;
  error: string | null;
  started_at: number;
  ended_at: number;
}

/** One transcript turn, as the bridge records it. */
export type TurnRow = TurnRecord;

export interface EventRow {
  id: number;
  call_id: string | null;
  call_sid: string | null;
  status: string;
  sequence: number | null;
  source: EventSource;
  /** `orphan`: a status callback for a CallSid no call knows yet, kept until the call is created. */
  verdict: Verdict | "orphan";
  at: number;
  params: string | null;
}

export type NewCall = Pick<
  CallRow,
  "id" | "direction" | "from_number" | "to_number" | "status" | "prompt" | "metadata" | "webhook_url"
> &
  Partial<Pick<CallRow, "call_sid" | "report_schema" | "callback_url" | "notify" | "options">>;
export type NewEvent = Omit<EventRow, "id">;
export type CallPatch = Partial<Omit<CallRow, "id" | "created_at">>;

export interface Store extends OutboxStore {
  insertCall(call: NewCall, at: number): CallRow;
  getCall(id: string): CallRow | null;
  getCallBySid(sid: string): CallRow | null;
  /** Calls not ended, including those waiting for their next attempt. */
  listActive(): CallRow[];
  /** The last `limit` ended calls, newest first (the console's recent list). */
  listRecent(limit: number): CallRow[];
  /** Calls under way: not ended and not waiting for a next attempt (what concurrency limits count). */
  countActive(): number;
  /** Calls waiting for a next attempt that is due by `now`, soonest first. */
  retriesDue(now: number, limit: number): CallRow[];
  addAttempt(attempt: AttemptRow): void;
  attempts(callId: string): AttemptRow[];
  /** The call a past attempt's CallSid belonged to. */
  callIdOfAttempt(callSid: string): string | null;
  /** Distinct public bases of active calls: the URLs a media-stream upgrade may have been signed for. */
  activeWebhookBases(): string[];
  updateCall(id: string, patch: CallPatch, at: number): CallRow;
  addEvent(event: NewEvent): void;
  events(callId: string): EventRow[];
  /** Removes and returns status callbacks that arrived before the create reply named their CallSid. */
  takeOrphans(callSid: string): EventRow[];
  /**
   * Inserts or completes one transcript turn; an empty text never overwrites a known one. Batched:
   * committed within BATCH_MS, or before any other call on the store, whichever comes first.
   */
  upsertTurn(turn: TurnRow, events?: NewOutboxRow[]): void;
  /** Stores a call's metrics (JSON), batched like upsertTurn; only the last save in a batch is written. */
  saveMetrics(id: string, metrics: string, at: number): void;
  transcript(callId: string): TurnRow[];
  /** Ended calls whose report is still due, oldest first. */
  callsAwaitingReport(limit: number): CallRow[];
  transaction<T>(fn: () => T): T;
  /** Where failures of the batched writes (upsertTurn, saveMetrics) are reported; they are retried, not thrown. */
  onWriteError(sink: WriteErrorSink): void;
  meta(key: string): string | null;
  setMeta(key: string, value: string): void;
  close(): void;
}

function migrate(db: Database): void {
  const { user_version } = db.query("PRAGMA user_version").get() as { user_version: number };
  if (user_version > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${user_version} is newer than this build (${MIGRATIONS.length}); upgrade agenticai`,
    );
  }
  for (let v = user_version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}

/** How long a transcript turn or a metrics save may wait to be committed with others. */
export const BATCH_MS = 100;

/** What a file holding secrets, prompts and transcripts may be: its owner's only. */
const PRIVATE_FILE = 0o600;
const PRIVATE_DIR = 0o700;

/** chmod, except for a file that is not there (yet) or that another user owns and this one may still use. */
function restrict(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "EPERM") throw e;
  }
}

/**
 * The data dir is made 700 when this creates it (an existing one is the operator's: the server warns
 * about it instead). The database is made 600 before SQLite opens it, whatever the umask: SQLite creates
 * its -wal and -shm files, now or at any later open, with the database file's own permissions, which a
 * umask set around the open would not cover. Left-over -wal/-shm files of an older build are tightened too.
 */
function openDatabase(dataDir: string): Database {
  if (mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR }) !== undefined) restrict(dataDir, PRIVATE_DIR);
  const file = join(dataDir, "agenticai.db");
  closeSync(openSync(file, "a", PRIVATE_FILE));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) restrict(path, PRIVATE_FILE);
  const db = new Database(file, { create: true, strict: true });
  // WAL keeps readers off the writer's back; synchronous=NORMAL in WAL mode is still durable across a
  // process crash, which is the failure a restart test (and a container kill) produces.
  db.exec(
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
  );
  migrate(db);
  return db;
}

function prepareStatements(db: Database) {
  return {
    byId: db.query<CallRow, { id: string }>("SELECT * FROM calls WHERE id = $id"),
    bySid: db.query<CallRow, { sid: string }>("SELECT * FROM calls WHERE call_sid = $sid"),
    active: db.query<CallRow, []>("SELECT * FROM calls WHERE ended_at IS NULL ORDER BY created_at"),
    // Read once per console that connects, not per request, so a scan of the ended calls is acceptable.
    recent: db.query<CallRow, { limit: number }>(
      "SELECT * FROM calls WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT $limit",
    ),
    activeBases: db.query<{ webhook_url: string }, []>("SELECT DISTINCT webhook_url FROM calls WHERE ended_at IS NULL"),
    activeCount: db.query<{ n: number }, []>(
      "SELECT count(*) AS n FROM calls WHERE ended_at IS NULL AND next_attempt_at IS NULL",
    ),
    retriesDue: db.query<CallRow, { now: number; limit: number }>(
      `SELECT * FROM calls WHERE next_attempt_at IS NOT NULL AND ended_at IS NULL AND next_attempt_at <= $now
       ORDER BY next_attempt_at LIMIT $limit`,
    ),
    insertAttempt: db.query(
      `INSERT INTO attempts (call_id, attempt, call_sid, status, end_reason, error, started_at, ended_at)
       VALUES ($call_id, $attempt, $call_sid, $status, $end_reason, $error, $started_at, $ended_at)`,
    ),
    attemptsOf: db.query<AttemptRow, { id: string }>(
      `SELECT call_id, attempt, call_sid, status, end_reason, error, started_at, ended_at FROM attempts
       WHERE call_id = $id ORDER BY attempt`,
    ),
    attemptBySid: db.query<{ call_id: string }, { sid: string }>("SELECT call_id FROM attempts WHERE call_sid = $sid"),
    insert: db.query(
      `INSERT INTO calls (id, call_sid, direction, from_number, to_number, status, prompt, metadata, webhook_url,
                          report_schema, callback_url, notify, options, report_due, created_at, updated_at)
     VALUES ($id, $call_sid, $direction, $from_number, $to_number, $status, $prompt, $metadata, $webhook_url,
             $report_schema, $callback_url, $notify, $options, 1, $at, $at)`,
    ),
    insertEvent: db.query(
      `INSERT INTO call_events (call_id, call_sid, status, sequence, source, verdict, at, params)
     VALUES ($call_id, $call_sid, $status, $sequence, $source, $verdict, $at, $params)`,
    ),
    eventsOf: db.query<EventRow, { id: string }>("SELECT * FROM call_events WHERE call_id = $id ORDER BY id"),
    orphans: db.query<EventRow, { sid: string }>(
      "SELECT * FROM call_events WHERE call_id IS NULL AND call_sid = $sid ORDER BY id",
    ),
    dropOrphans: db.query("DELETE FROM call_events WHERE call_id IS NULL AND call_sid = $sid"),
    putTurn: db.query(
      `INSERT INTO transcript (call_id, role, item_id, text, started_at, interrupted)
     VALUES ($call_id, $role, $item_id, $text, $started_at, $interrupted)
     ON CONFLICT (call_id, item_id) DO UPDATE SET
       text = CASE WHEN excluded.text <> '' THEN excluded.text ELSE transcript.text END,
       started_at = min(transcript.started_at, excluded.started_at),
       interrupted = max(transcript.interrupted, excluded.interrupted)`,
    ),
    awaitingReport: db.query<CallRow, { limit: number }>(
      "SELECT * FROM calls WHERE report_due = 1 AND ended_at IS NOT NULL ORDER BY ended_at LIMIT $limit",
    ),
    putMetrics: db.query("UPDATE calls SET metrics = $metrics, updated_at = $at WHERE id = $id"),
    turns: db.query<TurnRow, { id: string }>(
      "SELECT call_id, role, item_id, text, started_at, interrupted FROM transcript WHERE call_id = $id ORDER BY started_at, id",
    ),
    getMeta: db.query<{ value: string }, { key: string }>("SELECT value FROM meta WHERE key = $key"),
    putMeta: db.query(
      "INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

/** An UPDATE per set of patched columns, prepared once and reused. */
function callUpdater(db: Database): (id: string, patch: CallPatch, at: number) => void {
  const updates = new Map<string, ReturnType<typeof db.query>>();
  return (id, patch, at) => {
    const keys = Object.keys(patch).sort();
    const sig = keys.join(",");
    let stmt = updates.get(sig);
    if (!stmt) {
      stmt = db.query(
        `UPDATE calls SET ${keys.map((k) => `${k} = $${k}`).join(", ")}${keys.length ? ", " : ""}updated_at = $updated_at WHERE id = $id`,
      );
      updates.set(sig, stmt);
    }
    stmt.run({ ...patch, updated_at: at, id } as Record<string, string | number | null>);
  };
}

/** Told when a batch cannot be committed (`held`: rows kept for the retry) and when a held batch finally is. */
export interface WriteErrorSink {
  failed(error: unknown, held: number): void;
  recovered(written: number): void;
}

/** Until someone listens (startBackground wires the log), batch failures still reach stderr. */
const STDERR_SINK: WriteErrorSink = {
  failed: (error, held) => console.error("agenticai: storing transcript turns and metrics failed", held, error),
  recovered: () => {},
};

/** After a failed commit the batch is retried this often, not every BATCH_MS. */
const RETRY_MS = 1_000;

interface Pending {
  turns: TurnRow[];
  events: NewOutboxRow[];
  metrics: Map<string, { metrics: string; at: number }>;
}

/** Commits what is pending in one transaction and returns how many rows; on failure puts it all back and throws. */
function commitPending(db: Database, q: Statements, outbox: OutboxStore, p: Pending): number {
  const turns = p.turns.splice(0);
  const events = p.events.splice(0);
  const metrics = [...p.metrics];
  p.metrics.clear();
  try {
    db.transaction(() => {
      for (const turn of turns) q.putTurn.run({ ...turn });
      for (const [id, m] of metrics) q.putMetrics.run({ id, metrics: m.metrics, at: m.at });
      // A turn's event is committed with the turn itself.
      outbox.enqueue(events, Date.now());
    })();
  } catch (e) {
    // Back ahead of what came since, so the retry writes them in their order; newer metrics win.
    p.turns.unshift(...turns);
    p.events.unshift(...events);
    for (const [id, m] of metrics) if (!p.metrics.has(id)) p.metrics.set(id, m);
    throw e;
  }
  return turns.length + metrics.length;
}

// Each call's bridge writes a transcript row or its metrics a few times a turn. Committed one by
// one, a few hundred calls made hundreds of commits a second, and the write-ahead log they grew was
// checkpointed, three fsyncs and a few MB of writes, on the event loop every second or two. Batched,
// they are one commit per BATCH_MS at most. Every other method commits the batch first, so reads
// see it and writes keep their order. A crash loses at most the last BATCH_MS of these two.
function writeBatch(db: Database, q: Statements, outbox: OutboxStore) {
  const pending: Pending = { turns: [], events: [], metrics: new Map() };
  let batchTimer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  /** The last commit failed (disk full, read-only): what it held is kept and retried. */
  let failing = false;
  const sink = { current: STDERR_SINK };
  /**
   * Commits the batch; never throws. A failure (SQLITE_FULL, SQLITE_READONLY) keeps the rows for a
   * retry and is reported once per run of failures, so a full disk is neither a crash nor a lost turn.
   */
  const flush = () => {
    if (batchTimer) clearTimeout(batchTimer);
    batchTimer = null;
    if (pending.turns.length === 0 && pending.metrics.size === 0) return;
    // Inside another transaction (a store method called from store.transaction) the batch would commit
    // or roll back with that one: it was flushed before that BEGIN, so wait for the next flush.
    if (db.inTransaction) return schedule();
    try {
      const written = commitPending(db, q, outbox, pending);
      if (failing) sink.current.recovered(written);
      failing = false;
    } catch (e) {
      if (!failing) sink.current.failed(e, pending.turns.length + pending.metrics.size);
      failing = true;
      schedule(RETRY_MS);
    }
  };
  const schedule = (ms = BATCH_MS) => {
    if (batchTimer || closed) return;
    batchTimer = setTimeout(flush, ms);
    // close() commits what is pending; the timer alone must not keep a process alive.
    batchTimer.unref();
  };
  return {
    flush,
    sink,
    // A bridge's last events can arrive after close(), while the process stops: there is nowhere to put them.
    addTurn(turn: TurnRow, events: NewOutboxRow[] | undefined) {
      if (closed) return;
      pending.turns.push(turn);
      if (events) pending.events.push(...events);
      schedule();
    },
    setMetrics(id: string, metrics: string, at: number) {
      if (closed) return;
      pending.metrics.set(id, { metrics, at });
      schedule();
    },
    close() {
      closed = true;
      if (batchTimer) clearTimeout(batchTimer);
      batchTimer = null;
    },
  };
}

function must(row: CallRow | null, id: string): CallRow {
  if (!row) throw new Error(`call ${id} vanished from the store`);
  return row;
}

export function openStore(dataDir: string): Store {
  const db = openDatabase(dataDir);
  const q = prepareStatements(db);
  const update = callUpdater(db);
  const outbox = outboxStore(outboxStatements(db));
  const batch = writeBatch(db, q, outbox);
  /** The method, after the batch is committed. */
  const fresh =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      batch.flush();
      return fn(...args);
    };

  return {
    insertCall: fresh((call: NewCall, at: number) => {
      q.insert.run({ call_sid: null, report_schema: null, callback_url: null, notify: 1, options: null, ...call, at });
      return must(q.byId.get({ id: call.id }), call.id);
    }),
    getCall: fresh((id: string) => q.byId.get({ id })),
    getCallBySid: fresh((sid: string) => q.bySid.get({ sid })),
    listActive: fresh(() => q.active.all()),
    listRecent: fresh((limit: number) => q.recent.all({ limit })),
    countActive: fresh(() => q.activeCount.get()!.n),
    retriesDue: fresh((now: number, limit: number) => q.retriesDue.all({ now, limit })),
    addAttempt: fresh((attempt: AttemptRow) => void q.insertAttempt.run({ ...attempt })),
    attempts: fresh((id: string) => q.attemptsOf.all({ id })),
    callIdOfAttempt: fresh((sid: string) => q.attemptBySid.get({ sid })?.call_id ?? null),
    activeWebhookBases: fresh(() => q.activeBases.all().map((r) => r.webhook_url)),
    updateCall: fresh((id: string, patch: CallPatch, at: number) => {
      update(id, patch, at);
      return must(q.byId.get({ id }), id);
    }),
    addEvent: fresh((event: NewEvent) => void q.insertEvent.run({ ...event })),
    events: fresh((id: string) => q.eventsOf.all({ id })),
    takeOrphans: fresh((sid: string) => {
      const rows = q.orphans.all({ sid });
      if (rows.length) q.dropOrphans.run({ sid });
      return rows;
    }),
    upsertTurn: (turn, events) => batch.addTurn(turn, events),
    onWriteError(sink) {
      batch.sink.current = sink;
    },
    saveMetrics: (id, metrics, at) => batch.setMetrics(id, metrics, at),
    transcript: fresh((id: string) => q.turns.all({ id })),
    callsAwaitingReport: fresh((limit: number) => q.awaitingReport.all({ limit })),
    enqueue: fresh(outbox.enqueue),
    dueDeliveries: fresh(outbox.dueDeliveries),
    recordAttempt: fresh(outbox.recordAttempt),
    listOutbox: fresh(outbox.listOutbox),
    requeue: fresh(outbox.requeue),
    countPending: fresh(outbox.countPending),
    transaction: fresh(<T>(fn: () => T): T => db.transaction(fn)()),
    meta: fresh((key: string) => q.getMeta.get({ key })?.value ?? null),
    setMeta: fresh((key: string, value: string) => void q.putMeta.run({ key, value })),
    close: fresh(() => {
      batch.close();
      db.close();
    }),
  };
}
