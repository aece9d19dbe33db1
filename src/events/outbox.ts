// The outbox: events waiting to be delivered, committed in the same transaction as the change that
// caused them, so none is lost to a crash and none is sent for a change that was rolled back.
import type { Database } from "bun:sqlite";
import { v4 as uuidv4 } from "uuid";

/** Who an event goes to: the global receiver, the call's own callback_url, or the OpenClaw gateway. */
export type Receiver = "events" | "callback" | "openclaw";
export type OutboxStatus = "pending" | "delivered" | "failed";

export interface OutboxRow {
  id: number;
  /** The webhook-id: one per event, the same for each receiver and across retries. */
  event_id: string;
  call_id: string | null;
  receiver: Receiver;
  url: string;
  type: string;
  body: string;
  status: OutboxStatus;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
}

/** A webhook-id in the `msg_` form Standard Webhooks' own tools use. */
export const newEventId = () => `msg_${uuidv4().replaceAll("-", "")}`;

export type NewOutboxRow = Pick<OutboxRow, "event_id" | "call_id" | "receiver" | "url" | "type" | "body">;

/** What one delivery attempt left: delivered, to be tried again at `next_attempt_at`, or given up. */
export interface AttemptResult {
  status: OutboxStatus;
  at: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
}

export interface OutboxStore {
  /** Adds events; call inside the transaction of the change that caused them. */
  enqueue(rows: NewOutboxRow[], at: number): Promise<void>;
  /**
   * Pending events that are due, each the oldest still pending for its call and receiver, claimed: their
   * next_attempt_at is moved to `leaseUntil`, so no other worker or instance sends them meanwhile, and one
   * whose sender died is due again then (delivery is at least once).
   */
  claimDeliveries(now: number, leaseUntil: number, limit: number): Promise<OutboxRow[]>;
  recordAttempt(id: number, result: AttemptResult): Promise<void>;
  listOutbox(status: OutboxStatus | null, limit: number): Promise<OutboxRow[]>;
  /** Puts an event back in the queue, due now; null if there is no such event. */
  requeue(id: number, at: number): Promise<OutboxRow | null>;
  /** Events still to be delivered, due or waiting for a retry. */
  countPending(): Promise<number>;
}

/** An outbox row's columns, without SQLite's own claimed_at. */
const ROW = `id, event_id, call_id, receiver, url, type, body, status, attempts, created_at, next_attempt_at, last_status,
  last_error, delivered_at`;

export function outboxStatements(db: Database) {
  return {
    insert: db.query(
      `INSERT OR IGNORE INTO outbox (event_id, call_id, receiver, url, type, body, created_at, next_attempt_at)
       VALUES ($event_id, $call_id, $receiver, $url, $type, $body, $at, $at)`,
    ),
    due: db.query<OutboxRow, { now: number; limit: number }>(
      `SELECT ${ROW} FROM outbox o WHERE o.status = 'pending' AND o.next_attempt_at <= $now
         AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.status = 'pending' AND p.receiver = o.receiver
                           AND p.call_id IS o.call_id AND p.id < o.id)
       ORDER BY o.id LIMIT $limit`,
    ),
    claim: db.query("UPDATE outbox SET next_attempt_at = $until, claimed_at = $now WHERE id = $id"),
    // Due again as they were when claimed: claims found at open are a previous run's (a file serves one instance).
    releaseClaims: db.query(
      "UPDATE outbox SET next_attempt_at = claimed_at, claimed_at = NULL WHERE claimed_at IS NOT NULL",
    ),
    attempt: db.query(
      `UPDATE outbox SET status = $status, attempts = attempts + 1, next_attempt_at = $next_attempt_at,
         last_status = $last_status, last_error = $last_error, claimed_at = NULL,
         delivered_at = CASE WHEN $status = 'delivered' THEN $at ELSE delivered_at END
       WHERE id = $id`,
    ),
    list: db.query<OutboxRow, { status: string | null; limit: number }>(
      `SELECT ${ROW} FROM outbox WHERE $status IS NULL OR status = $status ORDER BY id DESC LIMIT $limit`,
    ),
    byId: db.query<OutboxRow, { id: number }>(`SELECT ${ROW} FROM outbox WHERE id = $id`),
    // Answered from the outbox_status index alone, so a scrape stays cheap however long the history.
    pending: db.query<{ n: number }, []>("SELECT count(*) AS n FROM outbox WHERE status = 'pending'"),
    requeue: db.query(
      `UPDATE outbox SET status = 'pending', next_attempt_at = $at, created_at = $at, claimed_at = NULL
       WHERE id = $id AND status <> 'delivered'`,
    ),
  };
}

/** The outbox on SQLite: synchronous, as bun:sqlite is; the store runs each method in its turn and answers with a promise. */
export type SqliteOutbox = {
  [K in keyof OutboxStore]: (...args: Parameters<OutboxStore[K]>) => Awaited<ReturnType<OutboxStore[K]>>;
};

export function outboxStore(db: Database, q: ReturnType<typeof outboxStatements>): SqliteOutbox {
  return {
    enqueue(rows, at) {
      for (const row of rows) q.insert.run({ ...row, at });
    },
    claimDeliveries: (now, leaseUntil, limit) =>
      db.transaction(() => {
        const rows = q.due.all({ now, limit });
        for (const row of rows) q.claim.run({ id: row.id, until: leaseUntil, now });
        return rows.map((row) => ({ ...row, next_attempt_at: leaseUntil }));
      })(),
    recordAttempt: (id, r) => void q.attempt.run({ id, ...r }),
    listOutbox: (status, limit) => q.list.all({ status, limit }),
    requeue(id, at) {
      q.requeue.run({ id, at });
      return q.byId.get({ id });
    },
    countPending: () => q.pending.get()!.n,
  };
}
