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
  // Calls from before reports existed are not due one: report_due defaults to 0 and new calls set it.
  `ALTER TABLE calls ADD COLUMN report TEXT;
   ALTER TABLE calls ADD COLUMN report_due INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE calls ADD COLUMN report_schema TEXT;
   ALTER TABLE calls ADD COLUMN callback_url TEXT;
   ALTER TABLE calls ADD COLUMN notify INTEGER NOT NULL DEFAULT 1;
   CREATE INDEX calls_report_due ON calls (ended_at) WHERE report_due = 1 AND ended_at IS NOT NULL;
   CREATE TABLE outbox (
     id INTEGER PRIMARY KEY,
     event_id TEXT NOT NULL,
     call_id TEXT REFERENCES calls (id),
     receiver TEXT NOT NULL,
     url TEXT NOT NULL,
     type TEXT NOT NULL,
     body TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'pending',
     attempts INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     next_attempt_at INTEGER NOT NULL,
     last_status INTEGER,
     last_error TEXT,
     delivered_at INTEGER
   );
   CREATE UNIQUE INDEX outbox_event_receiver ON outbox (event_id, receiver);
   CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
   CREATE INDEX outbox_order ON outbox (call_id, receiver, id) WHERE status = 'pending';
   CREATE INDEX outbox_status ON outbox (status, id);`,
  // In-call policies (options JSON), what answered (AMD), transfers, and retries: each attempt of a call is
  // a Twilio call of its own, and the finished ones are kept in attempts while the call row follows the latest.
  `ALTER TABLE calls ADD COLUMN options TEXT;
   ALTER TABLE calls ADD COLUMN answered_by TEXT;
   ALTER TABLE calls ADD COLUMN transferred_to TEXT;
   ALTER TABLE calls ADD COLUMN transfer_status TEXT;
   ALTER TABLE calls ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE calls ADD COLUMN attempt_started_at INTEGER;
   ALTER TABLE calls ADD COLUMN next_attempt_at INTEGER;
   CREATE INDEX calls_retry_due ON calls (next_attempt_at) WHERE next_attempt_at IS NOT NULL AND ended_at IS NULL;
   CREATE TABLE attempts (
     id INTEGER PRIMARY KEY,
     call_id TEXT NOT NULL REFERENCES calls (id),
     attempt INTEGER NOT NULL,
     call_sid TEXT,
     status TEXT NOT NULL,
     end_reason TEXT,
     error TEXT,
     started_at INTEGER NOT NULL,
     ended_at INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX attempts_call ON attempts (call_id, attempt);
   CREATE INDEX attempts_sid ON attempts (call_sid);`,
  // Several workers and instances: which instance holds a call, the report worker's claim on an ended call,
  // the instances alive (their heartbeats), and, SQLite's own, when a delivery worker claimed an outbox row:
  // a file serves one instance, so a claim found at open was its previous run's, and is let go at once.
  `ALTER TABLE calls ADD COLUMN owner TEXT;
   ALTER TABLE calls ADD COLUMN report_claimed_until INTEGER;
   CREATE TABLE instances (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL);
   ALTER TABLE outbox ADD COLUMN claimed_at INTEGER;
   CREATE INDEX outbox_claimed ON outbox (id) WHERE claimed_at IS NOT NULL;`,
];
