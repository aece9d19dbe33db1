// Versioned schema: PRAGMA user_version counts applied steps. Append only; never edit a shipped step. The
// tables are written once for both engines in schema.ts; here they come in the steps SQLite shipped them in.
import {
  addColumns,
  CALL_ORDER,
  CALLS_INDEXES,
  GATEKEEPERS,
  META,
  RETENTION,
  resumeColumns,
  SCHEDULING,
  SQLITE,
  step,
  table,
  tables,
} from "./schema.ts";

const t = tables(SQLITE);

export const MIGRATIONS: readonly string[] = [
  step(META, table("calls", t.calls.base), CALLS_INDEXES.base, t.callEvents),
  step(t.transcript, addColumns("calls", t.calls.metrics)),
  step(addColumns("calls", t.calls.reports), CALLS_INDEXES.reports, t.outbox),
  step(addColumns("calls", t.calls.abilities), CALLS_INDEXES.abilities, t.attempts),
  // Several workers and instances, and, SQLite's own, when a delivery worker claimed an outbox row: a file
  // serves one instance, so a claim found at open was its previous run's, and is let go at once.
  step(
    addColumns("calls", t.calls.instances),
    t.instances,
    addColumns("outbox", ["claimed_at INTEGER"]),
    "CREATE INDEX outbox_claimed ON outbox (id) WHERE claimed_at IS NOT NULL",
  ),
  step(addColumns("calls", RETENTION.callsColumns), RETENTION.indexes),
  step(addColumns("calls", SCHEDULING.callsColumns(SQLITE)), SCHEDULING.indexes),
  step(addColumns("calls", resumeColumns(SQLITE))),
  step(addColumns("calls", GATEKEEPERS.callsColumns)),
  step(CALL_ORDER),
];
