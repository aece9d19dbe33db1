// The PostgreSQL schema, versioned like sqlite-migrations.ts: schema_version holds one row per applied step.
// Append only; never edit a shipped step. Step 1 is SQLite's schema after its first five steps at once,
// rendered from the same tables (schema.ts): BIGINT for epoch-ms times, identity columns for numbered rows.
// Each later step is the same change as a later SQLite step.
import type { ReservedSQL, SQL } from "bun";
import {
  addColumns,
  CALL_ORDER,
  CALLS_INDEXES,
  GATEKEEPERS,
  META,
  POSTGRES,
  RETENTION,
  resumeColumns,
  SCHEDULING,
  step,
  table,
  tables,
} from "./schema.ts";

const t = tables(POSTGRES);

export const PG_MIGRATIONS: readonly string[] = [
  step(
    META,
    table("calls", Object.values(t.calls).flat()),
    Object.values(CALLS_INDEXES),
    t.callEvents,
    t.transcript,
    t.outbox,
    t.attempts,
    t.instances,
  ),
  step(addColumns("calls", RETENTION.callsColumns), RETENTION.indexes),
  step(addColumns("calls", SCHEDULING.callsColumns(POSTGRES)), SCHEDULING.indexes),
  step(addColumns("calls", resumeColumns(POSTGRES))),
  step(addColumns("calls", GATEKEEPERS.callsColumns)),
  step(CALL_ORDER),
];

/** pg_advisory_lock's two-int key: agenticai's namespace (ASCII "agnt"), then what is locked. */
export const LOCK_NAMESPACE = 0x61676e74;
export const MIGRATION_LOCK = 1;

async function applied(db: ReservedSQL): Promise<number> {
  await db`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`;
  const [row] = await db`SELECT coalesce(max(version), 0) AS v FROM schema_version`;
  return Number(row.v);
}

async function applyPending(db: ReservedSQL): Promise<void> {
  const version = await applied(db);
  if (version > PG_MIGRATIONS.length) {
    throw new Error(
      `database schema version ${version} is newer than this build (${PG_MIGRATIONS.length}); upgrade agenticai`,
    );
  }
  for (let v = version; v < PG_MIGRATIONS.length; v++) {
    await db.begin(async (tx) => {
      await tx.unsafe(PG_MIGRATIONS[v]!);
      await tx`INSERT INTO schema_version (version, applied_at) VALUES (${v + 1}, ${Date.now()})`;
    });
  }
}

/**
 * Brings the database up to this build's schema. Instances that start together take turns on a session
 * advisory lock, held on one reserved connection: the first applies the steps, the others then find them
 * applied. The lock dies with the session, so a crashed migration blocks no one.
 */
export async function migratePg(sql: SQL): Promise<void> {
  const db = await sql.reserve();
  try {
    await db`SELECT pg_advisory_lock(${LOCK_NAMESPACE}::int4, ${MIGRATION_LOCK}::int4)`;
    try {
      await applyPending(db);
    } finally {
      await db`SELECT pg_advisory_unlock(${LOCK_NAMESPACE}::int4, ${MIGRATION_LOCK}::int4)`;
    }
  } finally {
    await db.release();
  }
}
