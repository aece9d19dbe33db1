// Twilio's call status lifecycle and the rules for applying a reported status to a call.

export const CALL_STATUSES = [
  "queued",
  "initiated",
  "ringing",
  "in-progress",
  "completed",
  "busy",
  "failed",
  "no-answer",
  "canceled",
] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export const TERMINAL: ReadonlySet<string> = new Set(["completed", "busy", "failed", "no-answer", "canceled"]);

const RANK: Record<CallStatus, number> = {
  queued: 0,
  initiated: 1,
  ringing: 2,
  "in-progress": 3,
  completed: 4,
  busy: 4,
  failed: 4,
  "no-answer": 4,
  canceled: 4,
};

export function isCallStatus(s: string): s is CallStatus {
  return s in RANK;
}

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

/** Before answer a call is stopped with `Status=canceled`; `completed` is for a call in progress. */
export function isPreAnswer(status: string): boolean {
  return status === "queued" || status === "initiated" || status === "ringing";
}

export interface Current {
  status: string;
  last_sequence: number;
}

export type Verdict = "apply" | "duplicate" | "out_of_order" | "after_terminal";

/**
 * Callbacks can arrive late, twice or out of order. A report is applied only if it is newer
 * (by SequenceNumber when Twilio gave one) and moves the call forward; nothing leaves a terminal status.
 */
export function judge(current: Current, status: CallStatus, sequence: number | undefined): Verdict {
  if (isTerminal(current.status)) return current.status === status ? "duplicate" : "after_terminal";
  if (sequence !== undefined && sequence <= current.last_sequence) {
    return current.status === status ? "duplicate" : "out_of_order";
  }
  if (current.status === status) return "duplicate";
  if (RANK[status] < (RANK[current.status as CallStatus] ?? 0)) return "out_of_order";
  return "apply";
}
