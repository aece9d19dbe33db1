// The embedded store: one SQLite file in the data dir, for one instance. What a store must do is said in
// store.ts, which the PostgreSQL store (postgres.ts) implements too.
import { Database } from "bun:sqlite";
import type { AsyncLocalStorage } from "node:async_hooks";
import { asyncHooks, nodeFs } from "../runtime/node-modules.ts";
import { localSignals } from "./local-signals.ts";
import { MIGRATIONS } from "./sqlite-migrations.ts";
import { outboxStatements, outboxStore, type SqliteOutbox } from "./sqlite-outbox.ts";
import { prepared } from "./sqlite-prepared.ts";
import { retentionMethods, retentionStatements } from "./sqlite-retention.ts";
import type {
  AttemptRow,
  CallPatch,
  CallRow,
  EventRow,
  NewCall,
  NewEvent,
  PageKey,
  Store,
  StoredStatus,
  TurnRow,
} from "./store.ts";
import { type CommitBatch, createWriteBatch } from "./write-batch.ts";

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

/** What a file holding secrets, prompts and transcripts may be: its owner's only. */
const PRIVATE_FILE = 0o600;
const PRIVATE_DIR = 0o700;

/** chmod, except for a file that is not there (yet) or that another user owns and this one may still use. */
function restrict(path: string, mode: number): void {
  try {
    nodeFs().chmodSync(path, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "EPERM") throw e;
  }
}

const databaseFile = (dataDir: string) => `${dataDir}/agenticai.db`;
const sidecars = (file: string) => [file, `${file}-wal`, `${file}-shm`];

/**
 * The data dir is made 700 when this creates it (an existing one is the operator's: the server warns
 * about it instead). The database is made 600 before SQLite opens it, whatever the umask: SQLite creates
 * its -wal and -shm files, now or at any later open, with the database file's own permissions, which a
 * umask set around the open would not cover. Left-over -wal/-shm files of an older build are tightened too.
 */
function prepareFiles(dataDir: string): void {
  const fs = nodeFs();
  if (fs.mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR }) !== undefined) restrict(dataDir, PRIVATE_DIR);
  const file = databaseFile(dataDir);
  fs.closeSync(fs.openSync(file, "a", PRIVATE_FILE));
  for (const path of sidecars(file)) restrict(path, PRIVATE_FILE);
}

/**
 * Whether the database is there and it and its -wal/-shm files (where they exist) are this user's and 600 already, as
 * the last start left them: then there is nothing for prepareFiles to make or tighten, and a restart opens it without
 * node:fs. Anything else takes prepareFiles, and its errors (a data dir this user cannot write).
 */
export async function filesInPlace(dataDir: string): Promise<boolean> {
  const modes = await Promise.all(
    sidecars(databaseFile(dataDir)).map((path) =>
      Bun.file(path)
        .stat()
        .then(
          (stat) => (stat.isFile() && stat.uid === process.getuid?.() ? stat.mode & 0o777 : -1),
          (e: { code?: string }) => (e.code === "ENOENT" ? null : -1),
        ),
    ),
  );
  return modes[0] === PRIVATE_FILE && modes.every((mode) => mode === null || mode === PRIVATE_FILE);
}

/**
 * The store in `dataDir`, opened while filesInPlace reads its files' owners and modes on Bun's thread pool, so that a
 * restart waits for neither after the other. Files found out of place are then prepared as before a first open
 * (prepareFiles tightens the -wal and -shm that SQLite made with the file's own mode). A database that does not open
 * this way is opened the first start's way, so its errors are that way's (a data dir this user cannot write).
 */
export async function openSqliteStore(dataDir: string): Promise<Store> {
  const inPlace = filesInPlace(dataDir);
  // No file yet, or an empty one: a first start, whose files are made private before SQLite makes any.
  if (Bun.file(databaseFile(dataDir)).size === 0) return openStore(dataDir, await inPlace);
  let store: Store;
  try {
    store = openStore(dataDir, true);
  } catch {
    return openStore(dataDir, await inPlace);
  }
  if (await inPlace) return store;
  try {
    prepareFiles(dataDir);
    return store;
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** `inPlace`: filesInPlace said so, and the files need no preparing. */
function openDatabase(dataDir: string, inPlace: boolean): Database {
  if (!inPlace) prepareFiles(dataDir);
  const db = new Database(databaseFile(dataDir), { create: true, strict: true });
  try {
    // WAL keeps readers off the writer's back; synchronous=NORMAL in WAL mode is still durable across a
    // process crash, which is the failure a restart test (and a container kill) produces.
    db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    );
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function callStatements(db: Database) {
  return {
    byId: () => db.query<CallRow, { id: string }>("SELECT * FROM calls WHERE id = $id"),
    bySid: () => db.query<CallRow, { sid: string }>("SELECT * FROM calls WHERE call_sid = $sid"),
    active: () => db.query<CallRow, []>("SELECT * FROM calls WHERE ended_at IS NULL ORDER BY created_at"),
    // Read once per console that connects, not per request, so a scan of the ended calls is acceptable.
    recent: () =>
      db.query<CallRow, { limit: number }>(
        "SELECT * FROM calls WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT $limit",
      ),
    activeBases: () =>
      db.query<{ webhook_url: string }, []>("SELECT DISTINCT webhook_url FROM calls WHERE ended_at IS NULL"),
    activeCount: () =>
      db.query<{ n: number }, []>("SELECT count(*) AS n FROM calls WHERE ended_at IS NULL AND next_attempt_at IS NULL"),
    // Through calls_active: every page reads only calls not ended.
    activePage: () =>
      db.query<CallRow, { after_at: number | null; after_id: string; limit: number; status: string | null }>(
        `SELECT * FROM calls WHERE ended_at IS NULL
         AND ($after_at IS NULL OR created_at > $after_at OR (created_at = $after_at AND id > $after_id))
         AND ($status IS NULL OR status = $status)
       ORDER BY created_at, id LIMIT $limit`,
      ),
    waitingCount: () =>
      db.query<{ n: number }, []>(
        "SELECT count(*) AS n FROM calls WHERE next_attempt_at IS NOT NULL AND ended_at IS NULL",
      ),
    retriesDue: () =>
      db.query<CallRow, { now: number; limit: number }>(
        `SELECT * FROM calls WHERE next_attempt_at IS NOT NULL AND ended_at IS NULL AND next_attempt_at <= $now
       ORDER BY next_attempt_at LIMIT $limit`,
      ),
    leaseRetry: () => db.query("UPDATE calls SET next_attempt_at = $until WHERE id = $id"),
    pricesDue: () =>
      db.query<CallRow, { now: number; limit: number }>(
        `SELECT * FROM calls WHERE price_due_at IS NOT NULL AND price_due_at <= $now ORDER BY price_due_at LIMIT $limit`,
      ),
    leasePrice: () => db.query("UPDATE calls SET price_due_at = $until WHERE id = $id"),
    ...callWrites(db),
  };
}

/** Writing a call: creating it, its metrics and line state, and claiming its report. */
function callWrites(db: Database) {
  return {
    insert: () =>
      db.query(
        `INSERT INTO calls (id, call_sid, direction, from_number, to_number, status, prompt, metadata, webhook_url,
                          report_schema, callback_url, notify, options, owner, client_address, scheduled_for,
                          next_attempt_at, report_due, created_at, updated_at)
     VALUES ($id, $call_sid, $direction, $from_number, $to_number, $status, $prompt, $metadata, $webhook_url,
             $report_schema, $callback_url, $notify, $options, $owner, $client_address, $scheduled_for,
             $next_attempt_at, 1, max($at, coalesce((SELECT max(created_at) FROM calls), 0) + 1), $at)`,
      ),
    // INDEXED BY: with no statistics SQLite takes calls_ended for these two, as good for its ORDER BY, and then reads
    // every call kept (30 days' worth by default) to find the few awaiting a report: ~150 ms at 100 000 calls, on the
    // event loop every second. calls_report_due holds only the calls awaiting one.
    awaitingReport: () =>
      db.query<CallRow, { now: number; limit: number }>(
        `SELECT * FROM calls INDEXED BY calls_report_due WHERE report_due = 1 AND ended_at IS NOT NULL
         AND (report_claimed_until IS NULL OR report_claimed_until < $now)
       ORDER BY ended_at LIMIT $limit`,
      ),
    leaseReport: () => db.query("UPDATE calls SET report_claimed_until = $until WHERE id = $id"),
    // A file serves one instance: a report claim found at open was its previous run's.
    releaseReports: () =>
      db.query(
        `UPDATE calls INDEXED BY calls_report_due SET report_claimed_until = NULL
       WHERE report_due = 1 AND ended_at IS NOT NULL AND report_claimed_until IS NOT NULL`,
      ),
    putMetrics: () => db.query("UPDATE calls SET metrics = $metrics, updated_at = $at WHERE id = $id"),
    putLineState: () => db.query("UPDATE calls SET line_state = $state, updated_at = $at WHERE id = $id"),
  };
}

/** What hangs off a call: its attempts, status history and transcript. */
function callRecordStatements(db: Database) {
  return {
    insertAttempt: () =>
      db.query(
        `INSERT INTO attempts (call_id, attempt, call_sid, status, end_reason, error, started_at, ended_at)
       VALUES ($call_id, $attempt, $call_sid, $status, $end_reason, $error, $started_at, $ended_at)`,
      ),
    attemptsOf: () =>
      db.query<AttemptRow, { id: string }>(
        `SELECT call_id, attempt, call_sid, status, end_reason, error, started_at, ended_at FROM attempts
       WHERE call_id = $id ORDER BY attempt`,
      ),
    attemptBySid: () =>
      db.query<{ call_id: string }, { sid: string }>("SELECT call_id FROM attempts WHERE call_sid = $sid"),
    insertEvent: () =>
      db.query(
        `INSERT INTO call_events (call_id, call_sid, status, sequence, source, verdict, at, params)
     VALUES ($call_id, $call_sid, $status, $sequence, $source, $verdict, $at, $params)`,
      ),
    eventsOf: () => db.query<EventRow, { id: string }>("SELECT * FROM call_events WHERE call_id = $id ORDER BY id"),
    orphans: () =>
      db.query<EventRow, { sid: string }>(
        "SELECT * FROM call_events WHERE call_id IS NULL AND call_sid = $sid ORDER BY id",
      ),
    dropOrphans: () => db.query("DELETE FROM call_events WHERE call_id IS NULL AND call_sid = $sid"),
    putTurn: () =>
      db.query(
        `INSERT INTO transcript (call_id, role, item_id, text, started_at, interrupted)
     VALUES ($call_id, $role, $item_id, $text, $started_at, $interrupted)
     ON CONFLICT (call_id, item_id) DO UPDATE SET
       text = CASE WHEN excluded.text <> '' THEN excluded.text ELSE transcript.text END,
       started_at = min(transcript.started_at, excluded.started_at),
       interrupted = max(transcript.interrupted, excluded.interrupted)`,
      ),
    turns: () =>
      db.query<TurnRow, { id: string }>(
        "SELECT call_id, role, item_id, text, started_at, interrupted FROM transcript WHERE call_id = $id ORDER BY started_at, id",
      ),
  };
}

/** The meta table, the instances' heartbeats, and the calls whose instance is gone. */
function instanceStatements(db: Database) {
  return {
    getMeta: () => db.query<{ value: string }, { key: string }>("SELECT value FROM meta WHERE key = $key"),
    putMeta: () =>
      db.query(
        "INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
    addMeta: () => db.query("INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO NOTHING"),
    heartbeat: () =>
      db.query(
        `INSERT INTO instances (id, started_at, heartbeat_at) VALUES ($id, $at, $at)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      ),
    leave: () => db.query("DELETE FROM instances WHERE id = $id"),
    live: () => db.query<{ id: string }, { since: number }>("SELECT id FROM instances WHERE heartbeat_at >= $since"),
    // Every owner but this instance is gone: a file serves one instance at a time.
    orphaned: () =>
      db.query<{ id: string }, { owner: string; limit: number }>(
        `SELECT id FROM calls WHERE ended_at IS NULL AND next_attempt_at IS NULL AND (owner IS NULL OR owner <> $owner)
       ORDER BY created_at LIMIT $limit`,
      ),
    adopt: () => db.query("UPDATE calls SET owner = $owner WHERE id = $id"),
    ping: () => db.query("SELECT 1"),
  };
}
/** The calls' statements; exported for test/store/sqlite-plans.test.ts, which reads how SQLite runs each. */
export const statements = (db: Database) =>
  prepared({ ...callStatements(db), ...callRecordStatements(db), ...instanceStatements(db) });
type Statements = ReturnType<typeof statements>;

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

/** One transaction with the batch's turns, metrics, line states and the turns' events (committed with the turns themselves). */
function commitBatch(db: Database, q: Statements, outbox: SqliteOutbox): CommitBatch {
  return (batch) => {
    db.transaction(() => {
      for (const turn of batch.turns) q.putTurn.run({ ...turn });
      for (const [id, m] of batch.metrics) q.putMetrics.run({ id, metrics: m.metrics, at: m.at });
      for (const [id, l] of batch.lines) q.putLineState.run({ id, state: l.state, at: l.at });
      outbox.enqueue(batch.events, Date.now());
    })();
    return batch.turns.length + batch.metrics.length + batch.lines.length;
  };
}

/** Marks the async context of a transaction's fn; `done` once it ended, for work that fn left running. */
interface Mark {
  done: boolean;
  /** What waits for the COMMIT (afterCommit). */
  committed: (() => void)[];
}

/**
 * One connection, so one transaction at a time, open across the awaits of its fn. Transactions queue for
 * it; a store call from inside fn (found through AsyncLocalStorage) is part of it, and one from anywhere
 * else waits until it ends, rather than landing in it and being rolled back with it.
 */
function transactions(db: Database, beforeBegin: () => void) {
  // Made at the first transaction: node:async_hooks costs a cold start ~0.5 ms, and nothing before it is inside one.
  let marks: AsyncLocalStorage<Mark> | null = null;
  let queue: Promise<void> = Promise.resolve();
  /** Resolves when the open transaction ends; null while none is open. */
  let open: Promise<void> | null = null;
  const inside = () => marks?.getStore()?.done === false;

  /** Runs `op` as soon as it may touch the database: at once, with no await between the check and the op. */
  async function inTurn<T>(op: () => T): Promise<T> {
    while (open && !inside()) await open;
    return op();
  }

  async function transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (inside()) return fn();
    const before = queue;
    let release = () => {};
    queue = new Promise((resolve) => {
      release = resolve;
    });
    await before;
    let end = () => {};
    open = new Promise((resolve) => {
      end = resolve;
    });
    const mark: Mark = { done: false, committed: [] };
    let result: T;
    try {
      beforeBegin();
      db.exec("BEGIN IMMEDIATE");
      marks ??= new (asyncHooks().AsyncLocalStorage)<Mark>();
      const within = marks;
      result = await commitOrRollBack(db, () => within.run(mark, fn));
    } finally {
      mark.done = true;
      open = null;
      end();
      release();
    }
    for (const after of mark.committed) after();
    return result;
  }
  function afterCommit(fn: () => void): void {
    const mark = marks?.getStore();
    if (mark && !mark.done) mark.committed.push(fn);
    else fn();
  }
  return { inTurn, transaction, afterCommit };
}

async function commitOrRollBack<T>(db: Database, fn: () => Promise<T>): Promise<T> {
  try {
    const result = await fn();
    db.exec("COMMIT");
    return result;
  } catch (e) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw e;
  }
}

function must(row: CallRow | null, id: string): CallRow {
  if (!row) throw new Error(`call ${id} vanished from the store`);
  return row;
}

/** The claims of the run before this one, which a file (one instance's) can only have had: let go at once. */
function releaseClaims(q: Statements, outbox: ReturnType<typeof outboxStatements>): void {
  q.releaseReports.run();
  outbox.releaseClaims.run();
}

/** Due rows, claimed until `until` in the same transaction, as they are once claimed. */
function claimer<R extends { id: string }>(
  db: Database,
  due: (now: number, limit: number) => R[],
  claim: (id: string, until: number) => void,
  claimed: (row: R, until: number) => R,
) {
  return (now: number, until: number, limit: number): R[] =>
    db.transaction(() => {
      const rows = due(now, limit);
      for (const row of rows) claim(row.id, until);
      return rows.map((row) => claimed(row, until));
    })();
}

/** Makes a synchronous bun:sqlite method the store's: run in its turn (see transactions), after the batch is committed. */
type Fresh = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A) => Promise<R>;

/** The methods that act on calls. */
function callMethods(db: Database, q: Statements, fresh: Fresh) {
  const update = callUpdater(db);
  const claimRetries = claimer(
    db,
    (now, limit) => q.retriesDue.all({ now, limit }),
    (id, until) => q.leaseRetry.run({ id, until }),
    (row, until) => ({ ...row, next_attempt_at: until }),
  );
  const claimPrices = claimer(
    db,
    (now, limit) => q.pricesDue.all({ now, limit }),
    (id, until) => q.leasePrice.run({ id, until }),
    (row, until) => ({ ...row, price_due_at: until }),
  );
  const claimReports = claimer(
    db,
    (now, limit) => q.awaitingReport.all({ now, limit }),
    (id, until) => q.leaseReport.run({ id, until }),
    (row, until) => ({ ...row, report_claimed_until: until }),
  );
  return {
    insertCall: fresh((call: NewCall, at: number) => {
      q.insert.run({
        call_sid: null,
        report_schema: null,
        callback_url: null,
        notify: 1,
        options: null,
        owner: null,
        client_address: null,
        scheduled_for: null,
        next_attempt_at: null,
        ...call,
        at,
      });
      return must(q.byId.get({ id: call.id }), call.id);
    }),
    getCall: fresh((id: string) => q.byId.get({ id })),
    getCallBySid: fresh((sid: string) => q.bySid.get({ sid })),
    listActive: fresh(() => q.active.all()),
    listRecent: fresh((limit: number) => q.recent.all({ limit })),
    countActive: fresh(() => q.activeCount.get()!.n),
    listActivePage: fresh((after: PageKey | null, limit: number, status: StoredStatus | null = null) =>
      q.activePage.all({ after_at: after?.created_at ?? null, after_id: after?.id ?? "", limit, status }),
    ),
    countWaiting: fresh(() => q.waitingCount.get()!.n),
    claimRetries: fresh(claimRetries),
    claimPrices: fresh(claimPrices),
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
    transcript: fresh((id: string) => q.turns.all({ id })),
    claimReports: fresh(claimReports),
  };
}

/** The methods on the meta table, the instances' heartbeats, and the calls whose instance is gone. */
function instanceMethods(db: Database, q: Statements, fresh: Fresh) {
  return {
    meta: fresh((key: string) => q.getMeta.get({ key })?.value ?? null),
    setMeta: fresh((key: string, value: string) => void q.putMeta.run({ key, value })),
    metaOnce: fresh((key: string, value: string) => {
      q.addMeta.run({ key, value });
      return q.getMeta.get({ key })!.value;
    }),
    heartbeat: fresh((id: string, at: number) => void q.heartbeat.run({ id, at })),
    leave: fresh((id: string) => void q.leave.run({ id })),
    liveInstances: fresh((now: number, leaseMs: number) => q.live.all({ since: now - leaseMs }).map((r) => r.id)),
    claimOrphans: fresh((instanceId: string, _now: number, _leaseMs: number, limit: number) =>
      db.transaction(() =>
        q.orphaned.all({ owner: instanceId, limit }).map(({ id }) => {
          q.adopt.run({ id, owner: instanceId });
          return must(q.byId.get({ id }), id);
        }),
      )(),
    ),
    ping: fresh(() => void q.ping.get()),
  };
}

export function openStore(dataDir: string, inPlace = false): Store {
  const db = openDatabase(dataDir, inPlace);
  const q = statements(db);
  const outboxQ = outboxStatements(db);
  const outbox = outboxStore(db, outboxQ);
  const retention = retentionMethods(db, retentionStatements(db));
  try {
    releaseClaims(q, outboxQ);
  } catch (e) {
    // A file SQLite could open only to read: openSqliteStore opens it again, and the start then fails its own way.
    db.close();
    throw e;
  }
  // Inside a transaction (store.transaction, open across awaits) the batch would commit or roll back with it:
  // it was flushed before that BEGIN, so it waits for the next flush.
  const batch = createWriteBatch(commitBatch(db, q, outbox), () => db.inTransaction);
  const tx = transactions(db, batch.flush);
  const fresh: Fresh =
    (fn) =>
    (...args) =>
      tx.inTurn(() => {
        batch.flush();
        return fn(...args);
      });

  return {
    kind: "sqlite",
    ...callMethods(db, q, fresh),
    ...instanceMethods(db, q, fresh),
    upsertTurn: (turn, events) => batch.addTurn(turn, events),
    saveMetrics: (id, metrics, at) => batch.setMetrics(id, metrics, at),
    saveLineState: (id, state, at) => batch.setLineState(id, state, at),
    ...localSignals(tx.afterCommit),
    onWriteError(sink) {
      batch.sink.current = sink;
    },
    enqueue: fresh(outbox.enqueue),
    claimDeliveries: fresh(outbox.claimDeliveries),
    recordAttempt: fresh(outbox.recordAttempt),
    deferDeliveries: fresh(outbox.deferDeliveries),
    listOutbox: fresh(outbox.listOutbox),
    requeue: fresh(outbox.requeue),
    countPending: fresh(outbox.countPending),
    deleteEndedCalls: fresh(retention.deleteEndedCalls),
    deleteDelivered: fresh(retention.deleteDelivered),
    transaction: tx.transaction,
    afterCommit: tx.afterCommit,
    // BEGIN IMMEDIATE takes the file's write lock: admissions are serialised already.
    lockAdmission: async () => {},
    flush: fresh(() => {}),
    close: fresh(() => {
      batch.close();
      db.close();
    }),
  };
}
