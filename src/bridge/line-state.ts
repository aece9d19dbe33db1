// What a bridge keeps of the line between its writes (calls.line_state), so that the bridge taking the call over
// after its stream dropped, on this instance or another, goes on from there: how long the line had been quiet,
// whether the agent had checked in on it, and whether the agent was still speaking when it dropped. Pure.

export interface LineState {
  /** Epoch ms when the last speech ended, as the silence watch counts it; null before the line was up. */
  quiet_since: number | null;
  /** The agent checked in on a quiet line and the other side has not answered since. */
  checked_in: boolean;
  /** Epoch ms when the agent audio sent so far has played to its end; null when none was left to play. */
  agent_audio_until: number | null;
  /** Who was on the line, as the gatekeeper watch knew it (gatekeeper.ts); absent in states from before it. */
  gate?: GateAtDrop;
}

/** What the gatekeeper watch carries over a drop: a person already reached, a hold and since when, a screener met. */
export interface GateAtDrop {
  person: boolean;
  /** Epoch ms when the hold under way began; null when not on hold. */
  hold_since: number | null;
  screened: boolean;
}

/** Where the line stood when it dropped, as the resuming bridge starts from it. */
export interface LineAtDrop {
  /** Quiet before the drop that still counts towards the silence check-in and hang-up. */
  quietMs: number;
  checkedIn: boolean;
  /** The agent was in the middle of saying something: its audio was still playing. */
  agentSpeaking: boolean;
}

const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** The stored state, or null for none or for one that is not this shape (written by another build, say). */
export function readLineState(json: string | null): LineState | null {
  if (!json) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  const v = value as Partial<LineState> | null;
  if (typeof v !== "object" || v === null) return null;
  const gate = typeof v.gate === "object" && v.gate !== null ? v.gate : null;
  return {
    quiet_since: isTime(v.quiet_since) ? v.quiet_since : null,
    checked_in: v.checked_in === true,
    agent_audio_until: isTime(v.agent_audio_until) ? v.agent_audio_until : null,
    ...(gate && {
      gate: {
        person: gate.person === true,
        hold_since: isTime(gate.hold_since) ? gate.hold_since : null,
        screened: gate.screened === true,
      },
    }),
  };
}

/**
 * The line as the silence watch and playback see it at `now` (epoch ms): quiet counts from the end of the
 * agent's audio still to play, unless the agent has checked in, after which only the other side's speech counts.
 */
export function lineState(
  now: number,
  silence: { quietMs: number | null; checkedIn: boolean },
  unplayedMs: number,
  gate?: GateAtDrop,
): LineState {
  const speechEnd = silence.quietMs === null ? null : now - silence.quietMs;
  const audioEnd = unplayedMs > 0 ? now + unplayedMs : null;
  const quietSince = speechEnd === null || silence.checkedIn ? speechEnd : Math.max(speechEnd, audioEnd ?? speechEnd);
  return { quiet_since: quietSince, checked_in: silence.checkedIn, agent_audio_until: audioEnd, ...(gate && { gate }) };
}

/** What the line was at `droppedAt`; the gap after it counts for nothing, since nobody could hear anyone. */
export function lineAtDrop(state: LineState | null, droppedAt: number): LineAtDrop {
  const agentSpeaking = state?.agent_audio_until != null && state.agent_audio_until > droppedAt;
  const since = state?.quiet_since ?? null;
  const quietMs = agentSpeaking || since === null ? 0 : Math.max(0, droppedAt - since);
  return { quietMs, checkedIn: state?.checked_in ?? false, agentSpeaking };
}
