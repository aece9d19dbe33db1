// The outbox on SQLite: its statements, and the OutboxStore methods the SQLite store runs on them.
import type { Database } from "bun:sqlite";
import type { OutboxRow, OutboxStore } from "./store.ts";

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
