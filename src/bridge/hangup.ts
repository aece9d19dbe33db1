// The agent's own hang-up: it asks during its goodbye, so the call ends once that reply is finished
// and has played, or after a grace period if the echoes that would say so never come.
import type { Logger } from "../log.ts";
import { forgetPending, isPlaying, type Playback } from "./playback.ts";

/** Bound on waiting for the goodbye to play before hanging up anyway. */
const GRACE_MS = 10_000;

export interface HangupDeps {
  playback: Playback;
  log: Logger;
  later(ms: number, fn: () => void): void;
  hangup(endReason: HangupReason): Promise<unknown>;
}

/**
 * Why the bridge itself ends a call: the agent's end_call, the server's shutdown farewell, a silent line,
 * a voicemail message left, a handoff to a person (which ends the bridge, not the call), or a gatekeeper the
 * agent did not get past (a screener, a hold too long, a menu going round).
 */
export type HangupReason =
  | "agent_hangup"
  | "shutdown"
  | "silence"
  | "voicemail"
  | "transferred"
  | "screened"
  | "hold_timeout"
  | "ivr_stuck";

export interface Hangup {
  /** Hang up after the response `responseId` is done and its audio has played. */
  afterReply(responseId: string, reason: string, endReason?: HangupReason): void;
  replyDone(responseId: string | null): void;
  /** Some of the agent's audio has played: the goodbye may be over. */
  played(): void;
}

export function createHangup({ playback, log, later, hangup }: HangupDeps): Hangup {
  let pending: { responseId: string | null; reason: string; endReason: HangupReason } | null = null;
  let hangingUp = false;

  const tryNow = () => {
    if (!pending || pending.responseId !== null || hangingUp || isPlaying(playback)) return;
    hangingUp = true;
    log.info("agent ended the call", { reason: pending.reason, end_reason: pending.endReason });
    hangup(pending.endReason).catch((e) => log.warn("hanging up after end_call failed", { error: e }));
  };

  return {
    afterReply(responseId, reason, endReason = "agent_hangup") {
      pending = { responseId, reason, endReason };
      later(GRACE_MS, () => {
        if (pending) pending.responseId = null;
        forgetPending(playback);
        tryNow();
      });
    },
    replyDone(responseId) {
      if (!pending || pending.responseId !== responseId) return;
      pending.responseId = null;
      tryNow();
    },
    played: tryNow,
  };
}
