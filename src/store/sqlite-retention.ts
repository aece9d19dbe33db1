// Retention on SQLite: deleting ended calls with everything kept about them, and delivered events, a few rows
// per transaction. bun:sqlite is synchronous, so a transaction here holds both the file's write lock and the
// event loop: the caller keeps each one small and lets other work in between.
import type { Database } from "bun:sqlite";
import { prepared } from "./sqlite-prepared.ts";

/** Every table that keeps rows of a call, children first: the calls row goes last, as its foreign keys want. */
const CALL_TABLES = ["transcript", "call_events", "attempts", "outbox"] as const;

export function retentionStatements(db: Database) {
  return prepared({
    // Through calls_ended: the oldest ended calls first, however many calls are kept.
    doomed: () =>
      db.query<{ id: string }, { before: number; limit: number }>(
        `SELECT id FROM calls
       WHERE ended_at IS NOT NULL AND ended_at < $before AND report_due = 0 AND next_attempt_at IS NULL
       ORDER BY ended_at LIMIT $limit`,
      ),
    children: () => CALL_TABLES.map((name) => db.query(`DELETE FROM ${name} WHERE call_id = $id`)),
    call: () => db.query("DELETE FROM calls WHERE id = $id"),
    delivered: () =>
      db.query(
        `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE status = 'delivered' AND delivered_at < $before
         ORDER BY delivered_at LIMIT $limit)`,
      ),
  });
}

export function retentionMethods(db: Database, q: ReturnType<typeof retentionStatements>) {
  return {
    deleteEndedCalls: (before: number, limit: number): string[] =>
      db.transaction(() => {
        const ids = q.doomed.all({ before, limit }).map((r) => r.id);
        for (const id of ids) {
          for (const child of q.children) child.run({ id });
          q.call.run({ id });
        }
        return ids;
      })(),
    deleteDelivered: (before: number, limit: number): number => q.delivered.run({ before, limit }).changes,
  };
}
