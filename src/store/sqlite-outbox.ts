// The outbox on SQLite: its statements, and the OutboxStore methods the SQLite store runs on them.
import type { Database } from "bun:sqlite";
import { prepared } from "./sqlite-prepared.ts";
import { admitted, CLAIM_LOOKS_PER_EVENT, type OutboxRow, type OutboxStore } from "./store.ts";

/** An outbox row's columns, without SQLite's own claimed_at. */
const ROW = `id, event_id, call_id, receiver, url, type, body, status, attempts, created_at, next_attempt_at, last_status,
  last_error, delivered_at`;

/**
 * An event's host name, as URL.hostname gives it for the normalised urls the outbox holds: the authority without
 * a port (an IPv6 one keeps its brackets), lower-cased.
 */
function hostOf(url: string): string {
  const rest = `substr(${url}, instr(${url}, '://') + 3)`;
  const a = `substr(${rest}, 1, instr(${rest} || '/', '/') - 1)`;
  return `lower(CASE WHEN instr(${a}, ':') = 0 OR substr(${a}, -1) = ']' THEN ${a} ELSE rtrim(rtrim(${a}, '0123456789'), ':') END)`;
}
const HOST = hostOf("o.url");

export function outboxStatements(db: Database) {
  return prepared({
    insert: () =>
      db.query(
        `INSERT OR IGNORE INTO outbox (event_id, call_id, receiver, url, type, body, created_at, next_attempt_at)
       VALUES ($event_id, $call_id, $receiver, $url, $type, $body, $at, $at)`,
      ),
    // Only what a claim decides by: the rows it takes are read whole as they are claimed (claim), which with a
    // filter are a few of those looked at, and an event's body is the larger part of its row.
    due: () =>
      db.query<{ id: number; url: string }, { now: number; limit: number; skip: string; only: string | null }>(
        `SELECT o.id, o.url FROM outbox o WHERE o.status = 'pending' AND o.next_attempt_at <= $now
         AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.status = 'pending' AND p.receiver = o.receiver
                           AND p.call_id IS o.call_id AND p.id < o.id)
         AND ${HOST} NOT IN (SELECT value FROM json_each($skip))
         AND ($only IS NULL OR ${HOST} IN (SELECT value FROM json_each($only)))
       ORDER BY o.id LIMIT $limit`,
      ),
    claim: () =>
      db.query<OutboxRow, { id: number; until: number; now: number }>(
        `UPDATE outbox SET next_attempt_at = $until, claimed_at = $now WHERE id = $id RETURNING ${ROW}`,
      ),
    defer: () =>
      db.query(
        `UPDATE outbox SET next_attempt_at = $until
       WHERE status = 'pending' AND next_attempt_at < $until AND ${hostOf("url")} = $host`,
      ),
    // Due again as they were when claimed: claims found at open are a previous run's (a file serves one instance).
    releaseClaims: () =>
      db.query("UPDATE outbox SET next_attempt_at = claimed_at, claimed_at = NULL WHERE claimed_at IS NOT NULL"),
    attempt: () =>
      db.query(
        `UPDATE outbox SET status = $status, attempts = attempts + 1, next_attempt_at = $next_attempt_at,
         last_status = $last_status, last_error = $last_error, claimed_at = NULL,
         delivered_at = CASE WHEN $status = 'delivered' THEN $at ELSE delivered_at END
       WHERE id = $id`,
      ),
    list: () => db.query<OutboxRow, { limit: number }>(`SELECT ${ROW} FROM outbox ORDER BY id DESC LIMIT $limit`),
    // A statement of its own, through outbox_status: with "$status IS NULL OR" in one, SQLite read the whole outbox
    // (every delivered event kept) to find a page of the few failed ones, ~75 ms at 200 000 rows.
    listByStatus: () =>
      db.query<OutboxRow, { status: string; limit: number }>(
        `SELECT ${ROW} FROM outbox WHERE status = $status ORDER BY id DESC LIMIT $limit`,
      ),
    byId: () => db.query<OutboxRow, { id: number }>(`SELECT ${ROW} FROM outbox WHERE id = $id`),
    // Answered from the outbox_status index alone, so a scrape stays cheap however long the history.
    pending: () => db.query<{ n: number }, []>("SELECT count(*) AS n FROM outbox WHERE status = 'pending'"),
    requeue: () =>
      db.query(
        `UPDATE outbox SET status = 'pending', next_attempt_at = $at, created_at = $at, claimed_at = NULL
       WHERE id = $id AND status <> 'delivered'`,
      ),
  });
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
    claimDeliveries: (now, leaseUntil, limit, filter) =>
      db.transaction(() => {
        const looked = q.due.all({
          now,
          limit: filter ? limit * CLAIM_LOOKS_PER_EVENT : limit,
          skip: JSON.stringify(filter?.skipHosts ?? []),
          only: filter?.onlyHosts ? JSON.stringify(filter.onlyHosts) : null,
        });
        const rows = filter ? admitted(looked, filter, limit) : looked;
        return rows.map((row) => q.claim.get({ id: row.id, until: leaseUntil, now })!);
      })(),
    recordAttempt: (id, r) => void q.attempt.run({ id, ...r }),
    deferDeliveries: (host, until) => void q.defer.run({ host, until }),
    listOutbox: (status, limit) => (status === null ? q.list.all({ limit }) : q.listByStatus.all({ status, limit })),
    requeue(id, at) {
      q.requeue.run({ id, at });
      return q.byId.get({ id });
    },
    countPending: () => q.pending.get()!.n,
  };
}
