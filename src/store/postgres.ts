// The Store on a PostgreSQL database that several instances share, through Bun's built-in client (Bun.sql).
// Rows come back as SQLite's do: int8 columns (the epoch-ms times, identity ids, count(*)) arrive from Bun as
// BigInt (the `bigint` option; strings otherwise) and are made numbers, which they fit in.
import { AsyncLocalStorage } from "node:async_hooks";
import { SQL, type TransactionSQL } from "bun";
import { LOCK_NAMESPACE, migratePg } from "./postgres-migrations.ts";
import {
  type AttemptRow,
  admitted,
  type CallPatch,
  type CallRow,
  CLAIM_LOOKS_PER_EVENT,
  type ClaimFilter,
  type EventRow,
  MAX_NOTIFY_BYTES,
  type NewCall,
  type NewEvent,
  type NewOutboxRow,
  type OutboxRow,
  type OutboxStore,
  type PageKey,
  type Store,
  type StoredStatus,
  type TurnRow,
} from "./store.ts";
import { type CommitBatch, createWriteBatch } from "./write-batch.ts";

/**
 * Per instance. PostgreSQL's default max_connections is 100; ten each leaves room for several instances
 * and psql. The store's statements are short, so more would queue at the server's CPUs rather than here.
 */
const POOL_MAX = 10;
/** An idle connection is closed after a minute, so a quiet instance holds few of the server's slots. */
const IDLE_TIMEOUT_S = 60;
/** A database that does not accept a connection in this long is down, as far as a request is concerned. */
const CONNECTION_TIMEOUT_S = 10;
/** /health waits no longer than this for the database. */
const PING_TIMEOUT_MS = 2_000;
/** pg_advisory_xact_lock's second key (the first is LOCK_NAMESPACE): admissions of every instance take turns. */
const ADMISSION_LOCK = 2;

/** Every column of `calls`: updateCall builds SQL from patch keys, and only these may be named. */
const CALL_COLUMNS: Record<keyof CallRow, true> = {
  id: true,
  call_sid: true,
  direction: true,
  from_number: true,
  to_number: true,
  status: true,
  prompt: true,
  metadata: true,
  webhook_url: true,
  created_at: true,
  updated_at: true,
  answered_at: true,
  ended_at: true,
  end_requested_at: true,
  duration_s: true,
  end_reason: true,
  error: true,
  last_sequence: true,
  metrics: true,
  report: true,
  report_due: true,
  report_schema: true,
  callback_url: true,
  notify: true,
  options: true,
  answered_by: true,
  transferred_to: true,
  transfer_status: true,
  attempt: true,
  attempt_started_at: true,
  next_attempt_at: true,
  owner: true,
  report_claimed_until: true,
  client_address: true,
  screened: true,
  hold_s: true,
  scheduled_for: true,
  cost: true,
  price_due_at: true,
  price_tries: true,
  resumes: true,
  stream_lost_at: true,
  line_state: true,
};

type Row = Record<string, unknown>;

/** A row as SQLite gives it: int8 values are numbers (epoch ms and ids stay far below 2^53). */
function plain<T>(row: Row): T {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) out[key] = typeof value === "bigint" ? Number(value) : value;
  return out as T;
}

async function all<T>(query: PromiseLike<Row[]>): Promise<T[]> {
  return (await query).map((row) => plain<T>(row));
}

async function first<T>(query: PromiseLike<Row[]>): Promise<T | null> {
  const [row] = await all<T>(query);
  return row ?? null;
}

function must(row: CallRow | null, id: string): CallRow {
  if (!row) throw new Error(`call ${id} vanished from the store`);
  return row;
}

/** The transaction that the running code is part of; `live` turns false when it ends. */
interface Frame {
  tx: TransactionSQL;
  live: boolean;
  /** What waits for the COMMIT (afterCommit). */
  committed: (() => void)[];
}

/**
 * Where a store call runs: the caller's transaction, found through AsyncLocalStorage, or the pool. A frame
 * outlives its transaction in timers and promises started inside it; those run on the pool.
 */
function connections(sql: SQL) {
  const als = new AsyncLocalStorage<Frame>();
  const current = (): Frame | null => {
    const frame = als.getStore();
    return frame?.live ? frame : null;
  };
  return {
    current,
    db: (): SQL => current()?.tx ?? sql,
    async begin<T>(fn: () => Promise<T>): Promise<T> {
      const committed: (() => void)[] = [];
      const result = await sql.begin(async (tx) => {
        const frame: Frame = { tx, live: true, committed };
        try {
          // Wrapped, so a result that is an array of promises is not taken for pipelined queries.
          return { value: await als.run(frame, fn) };
        } finally {
          frame.live = false;
        }
      });
      for (const after of committed) after();
      return result.value as T;
    },
    afterCommit(fn: () => void): void {
      const frame = current();
      if (frame) frame.committed.push(fn);
      else fn();
    },
  };
}
type Connections = ReturnType<typeof connections>;

function callQueries(c: Connections) {
  /** Inside a transaction the row is locked until it ends, so a read-modify-write is not lost to another's. */
  const lock = () => (c.current() ? c.db()`FOR NO KEY UPDATE` : c.db()``);
  return {
    // Columns named one by one, as in SQLite's statement: a caller's object may carry more than a NewCall.
    insertCall: async (k: NewCall, at: number) =>
      must(
        await first<CallRow>(
          c.db()`INSERT INTO calls (id, call_sid, direction, from_number, to_number, status, prompt, metadata,
                   webhook_url, report_schema, callback_url, notify, options, owner, client_address, scheduled_for,
                   next_attempt_at, report_due, created_at, updated_at)
                 VALUES (${k.id}, ${k.call_sid ?? null}, ${k.direction}, ${k.from_number}, ${k.to_number}, ${k.status},
                   ${k.prompt}, ${k.metadata}, ${k.webhook_url}, ${k.report_schema ?? null}, ${k.callback_url ?? null},
                   ${k.notify ?? 1}, ${k.options ?? null}, ${k.owner ?? null}, ${k.client_address ?? null},
                   ${k.scheduled_for ?? null}, ${k.next_attempt_at ?? null}, 1,
                   GREATEST(${at}::bigint, COALESCE((SELECT max(created_at) FROM calls), 0) + 1), ${at})
                 RETURNING *`,
        ),
        k.id,
      ),
    getCall: (id: string) => first<CallRow>(c.db()`SELECT * FROM calls WHERE id = ${id} ${lock()}`),
    getCallBySid: (sid: string) => first<CallRow>(c.db()`SELECT * FROM calls WHERE call_sid = ${sid} ${lock()}`),
    listActive: () => all<CallRow>(c.db()`SELECT * FROM calls WHERE ended_at IS NULL ORDER BY created_at`),
    listRecent: (limit: number) =>
      all<CallRow>(c.db()`SELECT * FROM calls WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT ${limit}`),
    countActive: async () => {
      const row = await first<{ n: number }>(
        c.db()`SELECT count(*) AS n FROM calls WHERE ended_at IS NULL AND next_attempt_at IS NULL`,
      );
      return row!.n;
    },
    // Through calls_active: every page reads only calls not ended.
    listActivePage: (after: PageKey | null, limit: number, status: StoredStatus | null = null) =>
      all<CallRow>(
        c.db()`SELECT * FROM calls WHERE ended_at IS NULL
                 AND (${after?.created_at ?? null}::bigint IS NULL
                      OR (created_at, id) > (${after?.created_at ?? 0}::bigint, ${after?.id ?? ""}::text))
                 AND (${status}::text IS NULL OR status = ${status}::text)
               ORDER BY created_at, id LIMIT ${limit}`,
      ),
    countWaiting: async () => {
      const row = await first<{ n: number }>(
        c.db()`SELECT count(*) AS n FROM calls WHERE next_attempt_at IS NOT NULL AND ended_at IS NULL`,
      );
      return row!.n;
    },
    activeWebhookBases: async () => {
      const rows = await all<{ webhook_url: string }>(
        c.db()`SELECT DISTINCT webhook_url FROM calls WHERE ended_at IS NULL`,
      );
      return rows.map((r) => r.webhook_url);
    },
    updateCall: async (id: string, patch: CallPatch, at: number) => {
      const { text, values } = updateStatement(id, patch, at);
      return must(await first<CallRow>(c.db().unsafe(text, values)), id);
    },
  };
}

/** UPDATE of the patched columns and updated_at (which `at` sets, whatever the patch says). */
function updateStatement(id: string, patch: CallPatch, at: number): { text: string; values: unknown[] } {
  const keys = Object.keys(patch).filter((k) => k !== "updated_at");
  for (const key of keys) {
    if (!Object.hasOwn(CALL_COLUMNS, key)) throw new Error(`updateCall: calls has no column ${key}`);
  }
  const sets = keys.map((k, i) => `"${k}" = $${i + 1}`);
  sets.push(`updated_at = $${keys.length + 1}`);
  const values = [...keys.map((k) => patch[k as keyof CallPatch] ?? null), at, id];
  return { text: `UPDATE calls SET ${sets.join(", ")} WHERE id = $${keys.length + 2} RETURNING *`, values };
}

function historyQueries(c: Connections) {
  return {
    addAttempt: async (a: AttemptRow) => {
      await c.db()`INSERT INTO attempts (call_id, attempt, call_sid, status, end_reason, error, started_at, ended_at)
                   VALUES (${a.call_id}, ${a.attempt}, ${a.call_sid}, ${a.status}, ${a.end_reason}, ${a.error},
                     ${a.started_at}, ${a.ended_at})`;
    },
    attempts: (id: string) =>
      all<AttemptRow>(
        c.db()`SELECT call_id, attempt, call_sid, status, end_reason, error, started_at, ended_at FROM attempts
               WHERE call_id = ${id} ORDER BY attempt`,
      ),
    callIdOfAttempt: async (sid: string) => {
      const row = await first<{ call_id: string }>(
        c.db()`SELECT call_id FROM attempts WHERE call_sid = ${sid} LIMIT 1`,
      );
      return row?.call_id ?? null;
    },
    addEvent: async (e: NewEvent) => {
      await c.db()`INSERT INTO call_events (call_id, call_sid, status, sequence, source, verdict, at, params)
                   VALUES (${e.call_id}, ${e.call_sid}, ${e.status}, ${e.sequence}, ${e.source}, ${e.verdict}, ${e.at},
                     ${e.params})`;
    },
    events: (id: string) => all<EventRow>(c.db()`SELECT * FROM call_events WHERE call_id = ${id} ORDER BY id`),
    takeOrphans: (sid: string) =>
      all<EventRow>(
        c.db()`WITH taken AS (DELETE FROM call_events WHERE call_id IS NULL AND call_sid = ${sid} RETURNING *)
               SELECT * FROM taken ORDER BY id`,
      ),
    transcript: (id: string) =>
      all<TurnRow>(
        c.db()`SELECT call_id, role, item_id, text, started_at, interrupted FROM transcript
               WHERE call_id = ${id} ORDER BY started_at, id`,
      ),
  };
}

/**
 * The claims: one statement each, which locks the due rows it picks (skipping those another claimant holds)
 * and moves them out of reach until `leaseUntil`, so concurrent workers, here or on other instances, get
 * disjoint sets.
 */
function claimQueries(c: Connections) {
  return {
    claimRetries: (now: number, leaseUntil: number, limit: number) =>
      all<CallRow>(
        c.db()`WITH due AS (
                 SELECT id, next_attempt_at FROM calls
                 WHERE next_attempt_at IS NOT NULL AND ended_at IS NULL AND next_attempt_at <= ${now}
                 ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED),
               claimed AS (
                 UPDATE calls SET next_attempt_at = ${leaseUntil} WHERE id IN (SELECT id FROM due) RETURNING *)
               SELECT claimed.* FROM claimed JOIN due USING (id) ORDER BY due.next_attempt_at, claimed.id`,
      ),
    claimPrices: (now: number, leaseUntil: number, limit: number) =>
      all<CallRow>(
        c.db()`WITH due AS (
                 SELECT id, price_due_at FROM calls
                 WHERE price_due_at IS NOT NULL AND price_due_at <= ${now}
                 ORDER BY price_due_at LIMIT ${limit} FOR UPDATE SKIP LOCKED),
               claimed AS (
                 UPDATE calls SET price_due_at = ${leaseUntil} WHERE id IN (SELECT id FROM due) RETURNING *)
               SELECT claimed.* FROM claimed JOIN due USING (id) ORDER BY due.price_due_at, claimed.id`,
      ),
    claimReports: (now: number, leaseUntil: number, limit: number) =>
      all<CallRow>(
        c.db()`WITH claimed AS (
                 UPDATE calls SET report_claimed_until = ${leaseUntil} WHERE id IN (
                   SELECT id FROM calls
                   WHERE report_due = 1 AND ended_at IS NOT NULL
                     AND (report_claimed_until IS NULL OR report_claimed_until < ${now})
                   ORDER BY ended_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
                 RETURNING *)
               SELECT * FROM claimed ORDER BY ended_at, id`,
      ),
    // The owner's liveness is a scalar subquery, not a join, so a call that another claimant took while
    // this statement waited is checked again against its new owner's heartbeat (READ COMMITTED's recheck).
    claimOrphans: (instanceId: string, now: number, leaseMs: number, limit: number) =>
      all<CallRow>(
        c.db()`WITH claimed AS (
                 UPDATE calls SET owner = ${instanceId} WHERE id IN (
                   SELECT id FROM calls c
                   WHERE ended_at IS NULL AND next_attempt_at IS NULL AND owner IS DISTINCT FROM ${instanceId}
                     AND coalesce((SELECT i.heartbeat_at < ${now - leaseMs} FROM instances i WHERE i.id = c.owner), true)
                   ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
                 RETURNING *)
               SELECT * FROM claimed ORDER BY created_at, id`,
      ),
  };
}

async function insertOutbox(db: SQL, rows: NewOutboxRow[], at: number): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map((r) => ({
    event_id: r.event_id,
    call_id: r.call_id,
    receiver: r.receiver,
    url: r.url,
    type: r.type,
    body: r.body,
    created_at: at,
    next_attempt_at: at,
  }));
  await db`INSERT INTO outbox ${db(values)} ON CONFLICT (event_id, receiver) DO NOTHING`;
}

/**
 * Due events, each the oldest pending of its call and receiver, locked for this transaction; those the filter
 * admits are claimed. The host test mirrors URL.hostname on the normalised urls the outbox holds.
 */
async function claimOutbox(c: Connections, now: number, until: number, limit: number, filter?: ClaimFilter) {
  const skip = JSON.stringify(filter?.skipHosts ?? []);
  const only = filter?.onlyHosts ? JSON.stringify(filter.onlyHosts) : null;
  const looked = await all<{ id: number; url: string }>(
    c.db()`SELECT o.id, o.url FROM outbox o
           WHERE o.status = 'pending' AND o.next_attempt_at <= ${now}
             AND NOT EXISTS (
               SELECT 1 FROM outbox p WHERE p.status = 'pending' AND p.receiver = o.receiver AND p.id < o.id
                 AND (p.call_id = o.call_id OR (p.call_id IS NULL AND o.call_id IS NULL)))
             AND lower(regexp_replace(split_part(split_part(o.url, '://', 2), '/', 1), ':[0-9]*$', ''))
               NOT IN (SELECT jsonb_array_elements_text(${skip}::text::jsonb))
             AND (${only}::text::jsonb IS NULL OR lower(regexp_replace(split_part(split_part(o.url, '://', 2), '/', 1), ':[0-9]*$', ''))
               IN (SELECT jsonb_array_elements_text(${only}::text::jsonb)))
           ORDER BY o.id LIMIT ${filter ? limit * CLAIM_LOOKS_PER_EVENT : limit} FOR UPDATE OF o SKIP LOCKED`,
  );
  const ids = (filter ? admitted(looked, filter, limit) : looked).map((r) => r.id);
  if (ids.length === 0) return [];
  return all<OutboxRow>(
    c.db()`UPDATE outbox SET next_attempt_at = ${until}
           WHERE id IN (SELECT (jsonb_array_elements_text(${JSON.stringify(ids)}::text::jsonb))::bigint)
           RETURNING *`,
  ).then((rows) => rows.sort((a, b) => a.id - b.id));
}

function outboxQueries(c: Connections): OutboxStore {
  return {
    enqueue: (rows, at) => insertOutbox(c.db(), rows, at),
    // Each event waits for the older ones of its call and receiver: a claimed event stays pending (only its
    // next_attempt_at moves), so the next one is not sent before it is delivered or given up.
    claimDeliveries: (now, leaseUntil, limit, filter) =>
      c.current()
        ? claimOutbox(c, now, leaseUntil, limit, filter)
        : c.begin(() => claimOutbox(c, now, leaseUntil, limit, filter)),
    deferDeliveries: async (host, until) => {
      await c.db()`UPDATE outbox SET next_attempt_at = ${until}
                   WHERE status = 'pending' AND next_attempt_at < ${until}
                     AND lower(regexp_replace(split_part(split_part(url, '://', 2), '/', 1), ':[0-9]*$', '')) = ${host}`;
    },
    recordAttempt: async (id, r) => {
      await c.db()`UPDATE outbox SET status = ${r.status}, attempts = attempts + 1,
                     next_attempt_at = ${r.next_attempt_at}, last_status = ${r.last_status},
                     last_error = ${r.last_error},
                     delivered_at = CASE WHEN ${r.status} = 'delivered' THEN ${r.at}::bigint ELSE delivered_at END
                   WHERE id = ${id}`;
    },
    // As on SQLite, a filtered page has a statement of its own, which outbox_status serves.
    listOutbox: (status, limit) =>
      all<OutboxRow>(
        status === null
          ? c.db()`SELECT * FROM outbox ORDER BY id DESC LIMIT ${limit}`
          : c.db()`SELECT * FROM outbox WHERE status = ${status} ORDER BY id DESC LIMIT ${limit}`,
      ),
    requeue: async (id, at) => {
      await c.db()`UPDATE outbox SET status = 'pending', next_attempt_at = ${at}, created_at = ${at}
                   WHERE id = ${id} AND status <> 'delivered'`;
      return first<OutboxRow>(c.db()`SELECT * FROM outbox WHERE id = ${id}`);
    },
    countPending: async () => {
      const row = await first<{ n: number }>(c.db()`SELECT count(*) AS n FROM outbox WHERE status = 'pending'`);
      return row!.n;
    },
  };
}

/**
 * Retention: each call is one statement, so one short transaction that locks only the rows it deletes. The
 * children go in the same statement as their call: its foreign keys are checked at the statement's end.
 */
function retentionQueries(c: Connections) {
  return {
    deleteEndedCalls: async (before: number, limit: number) => {
      const rows = await all<{ id: string }>(
        c.db()`WITH doomed AS (
                 SELECT id FROM calls
                 WHERE ended_at IS NOT NULL AND ended_at < ${before} AND report_due = 0 AND next_attempt_at IS NULL
                 ORDER BY ended_at LIMIT ${limit} FOR UPDATE SKIP LOCKED),
               turns AS (DELETE FROM transcript WHERE call_id IN (SELECT id FROM doomed)),
               history AS (DELETE FROM call_events WHERE call_id IN (SELECT id FROM doomed)),
               tries AS (DELETE FROM attempts WHERE call_id IN (SELECT id FROM doomed)),
               events AS (DELETE FROM outbox WHERE call_id IN (SELECT id FROM doomed))
               DELETE FROM calls WHERE id IN (SELECT id FROM doomed) RETURNING id`,
      );
      return rows.map((r) => r.id);
    },
    deleteDelivered: async (before: number, limit: number) => {
      const rows = await c.db()`DELETE FROM outbox WHERE id IN (
                                  SELECT id FROM outbox WHERE status = 'delivered' AND delivered_at < ${before}
                                  ORDER BY delivered_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
                                RETURNING id`;
      return rows.length as number;
    },
  };
}

function instanceQueries(c: Connections) {
  return {
    meta: async (key: string) => {
      const row = await first<{ value: string }>(c.db()`SELECT value FROM meta WHERE key = ${key}`);
      return row?.value ?? null;
    },
    setMeta: async (key: string, value: string) => {
      await c.db()`INSERT INTO meta (key, value) VALUES (${key}, ${value})
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
    },
    // Two statements: the SELECT sees a value that a concurrent instance committed while the INSERT waited.
    metaOnce: async (key: string, value: string) => {
      await c.db()`INSERT INTO meta (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO NOTHING`;
      const row = await first<{ value: string }>(c.db()`SELECT value FROM meta WHERE key = ${key}`);
      return row!.value;
    },
    heartbeat: async (instanceId: string, at: number) => {
      await c.db()`INSERT INTO instances (id, started_at, heartbeat_at) VALUES (${instanceId}, ${at}, ${at})
                   ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`;
    },
    leave: async (instanceId: string) => {
      await c.db()`DELETE FROM instances WHERE id = ${instanceId}`;
    },
    liveInstances: async (now: number, leaseMs: number) => {
      const rows = await all<{ id: string }>(
        c.db()`SELECT id FROM instances WHERE heartbeat_at >= ${now - leaseMs} ORDER BY id`,
      );
      return rows.map((r) => r.id);
    },
  };
}

/** One transaction with the batch's turns, metrics, line states and the turns' events (committed with the turns). */
function commitBatch(sql: SQL): CommitBatch {
  return async (batch) => {
    await sql.begin(async (tx) => {
      // Sent back to back on the transaction's connection, in order: the same turn may be upserted twice.
      await Promise.all([
        ...batch.turns.map((t) => putTurn(tx, t)),
        ...batch.metrics.map(
          ([id, m]) => tx`UPDATE calls SET metrics = ${m.metrics}, updated_at = ${m.at} WHERE id = ${id}`,
        ),
        ...batch.lines.map(
          ([id, l]) => tx`UPDATE calls SET line_state = ${l.state}, updated_at = ${l.at} WHERE id = ${id}`,
        ),
      ]);
      await insertOutbox(tx, batch.events, Date.now());
    });
    return batch.turns.length + batch.metrics.length + batch.lines.length;
  };
}

/**
 * LISTEN/NOTIFY: Bun keeps one connection for every listen of the pool, reconnects it when it drops and listens
 * again (onListen runs each time). A notify inside a transaction is sent on its connection, so at its COMMIT.
 */
function signalQueries(sql: SQL, c: Connections): Pick<Store, "notify" | "listen"> {
  return {
    notify: async (channel, payload) => {
      if (Buffer.byteLength(payload) > MAX_NOTIFY_BYTES)
        throw new Error(`notify: payload over ${MAX_NOTIFY_BYTES} bytes`);
      await c.db().notify(channel, payload);
    },
    listen: async (channel, onNotify, onListen) => {
      const subscription = await sql.listen(channel, onNotify, onListen);
      return () => subscription.unlisten();
    },
  };
}

/** An empty text never overwrites a known one; a turn starts at its earliest report and stays interrupted. */
function putTurn(tx: SQL, t: TurnRow) {
  return tx`INSERT INTO transcript (call_id, role, item_id, text, started_at, interrupted)
            VALUES (${t.call_id}, ${t.role}, ${t.item_id}, ${t.text}, ${t.started_at}, ${t.interrupted})
            ON CONFLICT (call_id, item_id) DO UPDATE SET
              text = CASE WHEN excluded.text <> '' THEN excluded.text ELSE transcript.text END,
              started_at = LEAST(transcript.started_at, excluded.started_at),
              interrupted = GREATEST(transcript.interrupted, excluded.interrupted)`;
}

/** Rejects when the database has not answered within PING_TIMEOUT_MS, so /health answers fast either way. */
async function ping(sql: SQL): Promise<void> {
  const query = sql`SELECT 1`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      query.cancel();
      reject(new Error(`the database did not answer within ${PING_TIMEOUT_MS} ms`));
    }, PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([query, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects, brings the schema up to date (or refuses a newer one), and returns the store. */
export async function openPgStore(url: string): Promise<Store> {
  const sql = new SQL(url, {
    max: POOL_MAX,
    idleTimeout: IDLE_TIMEOUT_S,
    connectionTimeout: CONNECTION_TIMEOUT_S,
    bigint: true,
    connection: { application_name: "agenticai" },
  });
  try {
    await migratePg(sql);
  } catch (e) {
    await sql.close({ timeout: 0 });
    throw e;
  }
  return pgStore(sql);
}

function pgStore(sql: SQL): Store {
  const c = connections(sql);
  // On the pool, never inside a caller's transaction.
  const batch = createWriteBatch(commitBatch(sql));
  /** The method, after the batch is committed; inside a transaction the batch waited before its BEGIN. */
  const fresh =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (!c.current()) await batch.flush();
      return fn(...args);
    };
  const methods = {
    ...callQueries(c),
    ...historyQueries(c),
    ...claimQueries(c),
    ...outboxQueries(c),
    ...retentionQueries(c),
    ...instanceQueries(c),
    lockAdmission: async () => {
      const frame = c.current();
      // Outside a transaction the lock would be released as soon as it is taken, and admit nothing.
      if (!frame) throw new Error("lockAdmission() outside a transaction");
      await frame.tx`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}::int4, ${ADMISSION_LOCK}::int4)`;
    },
    transaction: <T>(fn: () => Promise<T>): Promise<T> => (c.current() ? fn() : c.begin(fn)),
  };
  const wrapped = Object.fromEntries(
    Object.entries(methods).map(([name, fn]) => [name, fresh(fn as (...args: unknown[]) => Promise<unknown>)]),
  ) as typeof methods;
  return {
    kind: "postgres",
    ...wrapped,
    afterCommit: c.afterCommit,
    upsertTurn: (turn, events) => batch.addTurn(turn, events),
    saveMetrics: (id, metrics, at) => batch.setMetrics(id, metrics, at),
    saveLineState: (id, state, at) => batch.setLineState(id, state, at),
    ...signalQueries(sql, c),
    onWriteError(sink) {
      batch.sink.current = sink;
    },
    ping: () => ping(sql),
    flush: async () => batch.flush(),
    async close() {
      batch.close();
      await batch.flush();
      await sql.close({ timeout: 5 });
    },
  };
}
