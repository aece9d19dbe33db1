// Our rule for applying a status Twilio reports to a call: which reports move it forward.
import { type CallStatus, isTerminal } from "../twilio/status.ts";
import type { EndReason } from "./store.ts";

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

/** The end reason a terminal status from Twilio gives a call this server did not end itself. */
export const END_REASON: Record<string, EndReason> = {
  completed: "completed",
  busy: "busy",
  "no-answer": "no_answer",
  failed: "failed",
  canceled: "canceled",
};
