// Our rule for applying a status Twilio reports to a call: which reports move it forward.

import type { EndReason, Verdict } from "../store/store.ts";
import { type CallStatus, isTerminal } from "../twilio/status.ts";

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

/** A status as Twilio reported it: by a callback, by the voice webhook, or read back from its REST API. */
export type Report = { status: CallStatus; sequence?: number; duration?: number; error?: string };

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
