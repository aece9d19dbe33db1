// src/store/ owns where calls are kept: this contract, the SQLite and PostgreSQL engines with their migrations,
// the write batch, the change feed and the engine choice. It imports no call, worker, bridge or edge module.
// Both engines run the same store test suite.
import type { CallStatus } from "../twilio/status.ts";

export type Direction = "outbound" | "inbound";

/** Why a call ended: Twilio's terminal status, or what this server did to end it. */
export const END_REASONS = [
  "completed",
  "busy",
  "no_answer",
  "failed",
  "canceled",
  "ended_by_api",
  "agent_hangup",
  "max_duration",
  "model_unavailable",
  "twilio_error",
  "server_restart",
  "shutdown",
  "no_callbacks",
  "no_media",
  "silence",
  "voicemail",
  "transferred",
  "screened",
  "hold_timeout",
  "ivr_stuck",
] as const;
export type EndReason = (typeof END_REASONS)[number];

/**
 * A call's status: Twilio's, or `scheduled` for a call not dialled yet because its time (not_before, calling
 * window) has not come; when it is dialled it becomes `queued` and follows Twilio's from there.
 */
export type StoredStatus = CallStatus | "scheduled";

/** What a status-history row came from; stored, so existing values never change. */
export type EventSource = "api" | "status_callback" | "voice_webhook" | "reconcile" | "sweeper" | "resume";

export interface CallRow {
  id: string;
  call_sid: string | null;
  direction: Direction;
  from_number: string | null;
  to_number: string;
  status: StoredStatus;
  prompt: string;
  metadata: string;
  webhook_url: string;
  created_at: number;
  updated_at: number;
  answered_at: number | null;
  ended_at: number | null;
  end_requested_at: number | null;
  duration_s: number | null;
  end_reason: EndReason | null;
  error: string | null;
  last_sequence: number;
  metrics: string | null;
  /** The call report (JSON), once made. */
  report: string | null;
  /** 1 from creation until the report is stored: what the report worker picks up after the call ends. */
  report_due: number;
  /** The request's report_schema (JSON), if any. */
  report_schema: string | null;
  callback_url: string | null;
  /** 0 when the request opted out of notifying the assistant (OpenClaw). */
  notify: number;
  /** The call's in-call policies (CallOptions as JSON); null for calls from before they existed. */
  options: string | null;
  /** Twilio's answering machine detection result: human, machine_end_beep, fax, … */
  answered_by: string | null;
  /** Where transfer_call handed the call, and how that leg went (Twilio's DialCallStatus). */
  transferred_to: string | null;
  transfer_status: string | null;
  /** Which attempt the row follows (1 unless retried), since when, and when the next one is due if one waits. */
  attempt: number;
  attempt_started_at: number | null;
  next_attempt_at: number | null;
  /** The instance that holds the call: placed or admitted it, or runs its media bridge. */
  owner: string | null;
  /** While a report worker makes the call's report: no other worker takes it before then. */
  report_claimed_until: number | null;
  /** The API client's address that placed the call: its retries draw from that client's calls_per_minute. */
  client_address: string | null;
  /** 1 once a call screener answered the call. */
  screened: number;
  /** Seconds the call spent on hold, all holds added up. */
  hold_s: number;
  /** When a call placed for later (not_before, a calling window) was due to be dialled first; null if at once. */
  scheduled_for: number | null;
  /** What the call cost (JSON: currency, telephony, model, total, estimated), once its report is made. */
  cost: string | null;
  /** When Twilio is next asked for the call's price, while its cost is an estimate; null once settled. */
  price_due_at: number | null;
  /** How many times Twilio has been asked for the call's price. */
  price_tries: number;
  /** How many times the call's media stream dropped and a new one was granted (calls.max_resumes). */
  resumes: number;
  /** When Twilio last reported the stream gone while the call was up; null once a new stream took the call. */
  stream_lost_at: number | null;
  /** What the call's bridge keeps of the line (JSON, see bridge/line-state.ts), for the bridge that resumes it. */
  line_state: string | null;
}

/** A finished attempt of a call that was tried again. */
export interface AttemptRow {
  call_id: string;
  attempt: number;
  call_sid: string | null;
  status: string;
  end_reason: string | null;
  error: string | null;
  started_at: number;
  ended_at: number;
}

/**
 * Who a transcript row is from: the two sides of the call, as the bridge records their turns, or, when the agent
 * asked the owner's assistant mid-call (consult_assistant), its question and the answer it got.
 */
export type TurnRole = "caller" | "agent" | "consult_question" | "consult_answer";

/** One transcript row. */
export interface TurnRow {
  call_id: string;
  role: TurnRole;
  item_id: string;
  text: string;
  started_at: number;
  interrupted: number;
}

/** How a status report was judged against the call's current state (see calls/status.ts). */
export type Verdict = "apply" | "duplicate" | "out_of_order" | "after_terminal";

export interface EventRow {
  id: number;
  call_id: string | null;
  call_sid: string | null;
  status: string;
  sequence: number | null;
  source: EventSource;
  /** `orphan`: a status callback for a CallSid no call knows yet, kept until the call is created. */
  verdict: Verdict | "orphan";
  at: number;
  params: string | null;
}

export type NewCall = Pick<
  CallRow,
  "id" | "direction" | "from_number" | "to_number" | "status" | "prompt" | "metadata" | "webhook_url"
> &
  Partial<
    Pick<
      CallRow,
      | "call_sid"
      | "report_schema"
      | "callback_url"
      | "notify"
      | "options"
      | "owner"
      | "client_address"
      | "scheduled_for"
      | "next_attempt_at"
    >
  >;
export type NewEvent = Omit<EventRow, "id">;
/** Where a page of calls ends: its last call's creation time and id. */
export type PageKey = Pick<CallRow, "created_at" | "id">;
export type CallPatch = Partial<Omit<CallRow, "id" | "created_at">>;

export interface Store extends OutboxStore {
  readonly kind: "sqlite" | "postgres";
  /**
   * Stores a new call, created at `at` or, when a call already stored was created at that millisecond or later,
   * one millisecond after the newest: callers insert under lockAdmission, so creation order is listing order.
   */
  insertCall(call: NewCall, at: number): Promise<CallRow>;
  getCall(id: string): Promise<CallRow | null>;
  getCallBySid(sid: string): Promise<CallRow | null>;
  /** Calls not ended, including those waiting for their next attempt. */
  listActive(): Promise<CallRow[]>;
  /** The last `limit` ended calls, newest first (the console's recent list). */
  listRecent(limit: number): Promise<CallRow[]>;
  /** Calls under way: not ended and not waiting for a next attempt (what concurrency limits count). */
  countActive(): Promise<number>;
  /**
   * One page of listActive: at most `limit` calls in its order (created_at, then id), those after `after`
   * (the last call of the page before) when given, and only those in `status` when given. A call created later
   * sorts after every page read so far.
   */
  listActivePage(after: PageKey | null, limit: number, status?: StoredStatus | null): Promise<CallRow[]>;
  /** Calls waiting for their next attempt (not ended): what calls.max_waiting counts. */
  countWaiting(): Promise<number>;
  /**
   * Deletes at most `limit` ended calls that ended before `before`, oldest first, with their transcript,
   * status history, attempts and outbox rows, in one short transaction; returns their ids. A call whose
   * report is still due, or that waits for a next attempt, is never deleted.
   */
  deleteEndedCalls(before: number, limit: number): Promise<string[]>;
  /** Deletes at most `limit` outbox rows delivered before `before`, oldest first, in one short transaction. */
  deleteDelivered(before: number, limit: number): Promise<number>;
  /**
   * Calls whose next attempt is due by `now`, soonest first, claimed: their next_attempt_at is moved to
   * `leaseUntil`, so no other worker (or instance) takes them, and one whose worker died comes due again.
   */
  claimRetries(now: number, leaseUntil: number, limit: number): Promise<CallRow[]>;
  /**
   * Calls whose price is due to be asked of Twilio by `now`, soonest first, claimed like claimRetries: their
   * price_due_at is moved to `leaseUntil`, so one whose worker died comes due again then.
   */
  claimPrices(now: number, leaseUntil: number, limit: number): Promise<CallRow[]>;
  addAttempt(attempt: AttemptRow): Promise<void>;
  attempts(callId: string): Promise<AttemptRow[]>;
  /** The call a past attempt's CallSid belonged to. */
  callIdOfAttempt(callSid: string): Promise<string | null>;
  /** Distinct public bases of active calls: the URLs a media-stream upgrade may have been signed for. */
  activeWebhookBases(): Promise<string[]>;
  updateCall(id: string, patch: CallPatch, at: number): Promise<CallRow>;
  addEvent(event: NewEvent): Promise<void>;
  events(callId: string): Promise<EventRow[]>;
  /** Removes and returns status callbacks that arrived before the create reply named their CallSid. */
  takeOrphans(callSid: string): Promise<EventRow[]>;
  /**
   * Inserts or completes one transcript turn; an empty text never overwrites a known one. Batched, and so
   * not awaited: committed within BATCH_MS, or before any other call on the store, whichever comes first.
   */
  upsertTurn(turn: TurnRow, events?: NewOutboxRow[]): void;
  /** Stores a call's metrics (JSON), batched like upsertTurn; only the last save in a batch is written. */
  saveMetrics(id: string, metrics: string, at: number): void;
  /** Stores a call's line_state (JSON), batched like saveMetrics; only the last save in a batch is written. */
  saveLineState(id: string, state: string, at: number): void;
  transcript(callId: string): Promise<TurnRow[]>;
  /**
   * Ended calls whose report is still due, oldest first, claimed until `leaseUntil` (report_claimed_until):
   * a report worker that dies leaves the call to another once the claim lapses.
   */
  claimReports(now: number, leaseUntil: number, limit: number): Promise<CallRow[]>;
  /**
   * Runs `fn` in one transaction: every store call made while it runs (found through AsyncLocalStorage, so
   * callers pass no handle) is part of it; other callers wait or, on PostgreSQL, use other connections.
   * Commits when `fn` resolves, rolls back when it throws. Not reentrant: a nested call joins the outer one.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` once the transaction the caller is in has committed (not at all if it rolls back), or at once
   * outside one: a worker woken from inside a transaction would otherwise look, on another connection, before
   * the COMMIT lands, and find nothing until its next poll.
   */
  afterCommit(fn: () => void): void;
  /**
   * Inside a transaction: held until it ends, so two admissions (count the active calls, then insert one)
   * never interleave, on any instance. SQLite's write transaction already serialises them.
   */
  lockAdmission(): Promise<void>;
  /** Where failures of the batched writes (upsertTurn, saveMetrics) are reported; they are retried, not thrown. */
  onWriteError(sink: WriteErrorSink): void;
  meta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  /** Stores `value` unless the key has one already, and returns the stored one: two instances agree on it. */
  metaOnce(key: string, value: string): Promise<string>;
  /** Marks this instance alive until `at + leaseMs` is past; every instance calls it every few seconds. */
  heartbeat(instanceId: string, at: number): Promise<void>;
  /** Drops this instance's heartbeat on a clean stop, so its calls (none, once drained) need no lease to lapse. */
  leave(instanceId: string): Promise<void>;
  /**
   * Active calls (not waiting for a next attempt) whose owner is gone, made `instanceId`'s, and returned:
   * the owner is null, has no heartbeat, or its heartbeat is older than `now - leaseMs`. On SQLite (one
   * instance per file) every owner but `instanceId` is gone. Each call is handed to one claimant only.
   */
  claimOrphans(instanceId: string, now: number, leaseMs: number, limit: number): Promise<CallRow[]>;
  /** Instances whose heartbeat is younger than `now - leaseMs` (always `[instanceId]`'s own on SQLite). */
  liveInstances(now: number, leaseMs: number): Promise<string[]>;
  /**
   * Sends `payload` to every listener of `channel` on this database, this store's own included: on PostgreSQL
   * every instance's (NOTIFY), on SQLite, which serves one instance, this process's. Inside a transaction it
   * goes when that commits, and not at all if it rolls back. At most MAX_NOTIFY_BYTES of payload.
   */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Listens on `channel` until the returned function is called. `onListen` runs once listening, and again each
   * time a dropped connection listens again: what was sent meanwhile was missed.
   */
  listen(channel: string, onNotify: (payload: string) => void, onListen?: () => void): Promise<() => Promise<void>>;
  /** Answers when the database does (for /health); throws when it cannot be reached. */
  ping(): Promise<void>;
  /** Commits what is batched. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Told when a batch cannot be committed (`held`: rows kept for the retry) and when a held batch finally is. */
export interface WriteErrorSink {
  failed(error: unknown, held: number): void;
  recovered(written: number): void;
}

/** How long a transcript turn or a metrics save may wait to be committed with others. */
export const BATCH_MS = 100;

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; both engines keep under it. */
export const MAX_NOTIFY_BYTES = 7_999;

// The outbox: events waiting to be delivered, committed in the same transaction as the change that
// caused them, so none is lost to a crash and none is sent for a change that was rolled back.

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

export type NewOutboxRow = Pick<OutboxRow, "event_id" | "call_id" | "receiver" | "url" | "type" | "body">;

/** What one delivery attempt left: delivered, to be tried again at `next_attempt_at`, or given up. */
export interface AttemptResult {
  status: OutboxStatus;
  at: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
}

/**
 * Narrows a claim to the receivers a sender can serve now. Hosts are URL host names as `new URL(url).hostname`
 * writes them; the store matches them against events' urls in SQL, so the events of a paused or busy receiver
 * are not even looked at, however many there are.
 */
export interface ClaimFilter {
  /** Events to these hosts are left unclaimed. */
  skipHosts: readonly string[];
  /** When not null, only events to these hosts are claimed. */
  onlyHosts: readonly string[] | null;
  /** Asked of each due event looked at, oldest first; false leaves it unclaimed. */
  admit(url: string): boolean;
}

/** A claim looks at no more than this many due events per event it may claim. */
export const CLAIM_LOOKS_PER_EVENT = 4;

/** The events a filter admits, oldest first, `limit` at most: what both engines claim of those they looked at. */
export function admitted<T extends { url: string }>(looked: T[], filter: ClaimFilter, limit: number): T[] {
  const out: T[] = [];
  for (const row of looked) {
    if (out.length >= limit) break;
    if (filter.admit(row.url)) out.push(row);
  }
  return out;
}

export interface OutboxStore {
  /** Adds events; call inside the transaction of the change that caused them. */
  enqueue(rows: NewOutboxRow[], at: number): Promise<void>;
  /**
   * Pending events that are due, each the oldest still pending for its call and receiver, claimed: their
   * next_attempt_at is moved to `leaseUntil`, so no other worker or instance sends them meanwhile, and one
   * whose sender died is due again then (delivery is at least once). With a filter, up to
   * `limit * CLAIM_LOOKS_PER_EVENT` due events that it does not skip are looked at and those it admits are
   * claimed, `limit` at most.
   */
  claimDeliveries(now: number, leaseUntil: number, limit: number, filter?: ClaimFilter): Promise<OutboxRow[]>;
  recordAttempt(id: number, result: AttemptResult): Promise<void>;
  /**
   * Events to `host` (a URL host name, as in ClaimFilter) still pending and due before `until` are due at `until`
   * instead: a receiver paused till then, whose events claims then need not even look at, however many.
   */
  deferDeliveries(host: string, until: number): Promise<void>;
  listOutbox(status: OutboxStatus | null, limit: number): Promise<OutboxRow[]>;
  /** Puts an event back in the queue, due now; null if there is no such event. */
  requeue(id: number, at: number): Promise<OutboxRow | null>;
  /** Events still to be delivered, due or waiting for a retry. */
  countPending(): Promise<number>;
}
