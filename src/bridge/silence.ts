// When a quiet line calls for the agent: once to check that someone is there, then to say goodbye. Quiet
// is counted from the last speech of either side; the agent's own check-in does not count as speech, so a
// callee who never answers it is still let go at hangup_s. Pure: the bridge ticks it and acts on the answer.

export interface SilencePolicy {
  /** 0 turns either step off. */
  repromptMs: number;
  hangupMs: number;
}

export interface Silence {
  /** When the last speech of either side was heard (ms, performance.now clock); null before the line is up. */
  lastSpeechAt: number | null;
  checkedIn: boolean;
  done: boolean;
}

export type SilenceStep = "check_in" | "hang_up" | null;

/** `checkedIn`: a call taken over after its stream dropped, whose agent had already checked in. */
export const createSilence = (checkedIn = false): Silence => ({ lastSpeechAt: null, checkedIn, done: false });

/** The line is up: quiet counts from now, or from `quietMs` ago for a call that was already quiet when it dropped. */
export function lineUp(s: Silence, now: number, quietMs = 0): void {
  s.lastSpeechAt ??= now - quietMs;
}

/** Someone spoke (or the agent is busy on the caller's behalf): the quiet spell, and any check-in, are over. */
export function heard(s: Silence, now: number, byCaller: boolean): void {
  if (s.done || s.lastSpeechAt === null) return;
  // After a check-in only the callee's answer counts: the agent talking on alone is no sign of anyone.
  if (s.checkedIn && !byCaller) return;
  s.lastSpeechAt = now;
  s.checkedIn = false;
}

/** What the quiet so far calls for; each step is returned once. */
export function silenceStep(s: Silence, policy: SilencePolicy, now: number): SilenceStep {
  if (s.done || s.lastSpeechAt === null) return null;
  const quietMs = now - s.lastSpeechAt;
  if (policy.hangupMs > 0 && quietMs >= policy.hangupMs) {
    s.done = true;
    return "hang_up";
  }
  if (policy.repromptMs > 0 && !s.checkedIn && quietMs >= policy.repromptMs) {
    s.checkedIn = true;
    return "check_in";
  }
  return null;
}
