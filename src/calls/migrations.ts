// Versioned schema: PRAGMA user_version counts applied steps. Append only; never edit a shipped step.
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE calls (
     id TEXT PRIMARY KEY,
     call_sid TEXT UNIQUE,
     direction TEXT NOT NULL,
     from_number TEXT,
     to_number TEXT NOT NULL,
     status TEXT NOT NULL,
     prompt TEXT NOT NULL,
     metadata TEXT NOT NULL,
     webhook_url TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     answered_at INTEGER,
     ended_at INTEGER,
     end_requested_at INTEGER,
     duration_s INTEGER,
     end_reason TEXT,
     error TEXT,
     last_sequence INTEGER NOT NULL DEFAULT -1
   );
   CREATE INDEX calls_active ON calls (created_at) WHERE ended_at IS NULL;
   CREATE TABLE call_events (
     id INTEGER PRIMARY KEY,
     call_id TEXT REFERENCES calls (id),
     call_sid TEXT,
     status TEXT NOT NULL,
     sequence INTEGER,
     source TEXT NOT NULL,
     verdict TEXT NOT NULL,
     at INTEGER NOT NULL,
     params TEXT
   );
   CREATE INDEX call_events_call ON call_events (call_id, id);
   CREATE INDEX call_events_orphans ON call_events (call_sid) WHERE call_id IS NULL;`,
  `CREATE TABLE transcript (
     id INTEGER PRIMARY KEY,
     call_id TEXT NOT NULL REFERENCES calls (id),
     role TEXT NOT NULL,
     item_id TEXT,
     text TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     interrupted INTEGER NOT NULL DEFAULT 0
   );
   CREATE UNIQUE INDEX transcript_item ON transcript (call_id, item_id);
   ALTER TABLE calls ADD COLUMN metrics TEXT;`,
];
