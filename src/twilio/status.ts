// Twilio's call status vocabulary: the statuses it reports and what each says about the call's lifecycle.

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

const KNOWN: ReadonlySet<string> = new Set(CALL_STATUSES);

export const TERMINAL: ReadonlySet<string> = new Set(["completed", "busy", "failed", "no-answer", "canceled"]);

/** Before answer a call is stopped with `Status=canceled`; `completed` is for a call in progress. */
export const PRE_ANSWER: ReadonlySet<string> = new Set(["queued", "initiated", "ringing"]);

export function isCallStatus(s: string): s is CallStatus {
  return KNOWN.has(s);
}

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

export function isPreAnswer(status: string): boolean {
  return PRE_ANSWER.has(status);
}
