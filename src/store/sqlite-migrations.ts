// Versioned schema: PRAGMA user_version counts applied steps. Append only; never edit a shipped step. The
// tables are written once for both engines in schema.ts; here they come in the steps SQLite shipped them in.
import {
  addColumns,
  attempts,
  CALLS_INDEXES,
  callEvents,
  callsColumns,
  instances,
  META,
  outbox,
  SQLITE,
  step,
  table,
  transcript,
} from "./schema.ts";

const calls = callsColumns(SQLITE);

export const MIGRATIONS: readonly string[] = [
  step(META, table("calls", calls.base), CALLS_INDEXES.base, callEvents(SQLITE)),
  step(transcript(SQLITE), addColumns("calls", calls.metrics)),
  step(addColumns("calls", calls.reports), CALLS_INDEXES.reports, outbox(SQLITE)),
  step(addColumns("calls", calls.abilities), CALLS_INDEXES.abilities, attempts(SQLITE)),
  // Several workers and instances, and, SQLite's own, when a delivery worker claimed an outbox row: a file
  // serves one instance, so a claim found at open was its previous run's, and is let go at once.
  step(
    addColumns("calls", calls.instances),
    instances(SQLITE),
    addColumns("outbox", ["claimed_at INTEGER"]),
    "CREATE INDEX outbox_claimed ON outbox (id) WHERE claimed_at IS NOT NULL",
  ),
];
