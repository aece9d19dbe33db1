// The lines the server has the agent say (worded in agent/lines.ts), spoken by the model so they match
// the call's language and voice: a check-in, a last line before the call ends, a voicemail message. A
// last line ends the call once it has played, or after a grace period if the model never says it.
import { responseInstructions, SILENCE_CHECK_IN, SILENCE_GOODBYE } from "../agent/lines.ts";
import type { Logger } from "../log.ts";
import type { ModelProtocol } from "../model/protocol.ts";
import type { Hangup, HangupReason } from "./hangup.ts";
import type { Responses } from "./model-events.ts";
import type { ModelLink } from "./model-link.ts";
import { createSilence, heard, lineUp, type SilencePolicy, silenceStep } from "./silence.ts";

/** How long a last line may take to start before the call ends without it. */
const LAST_LINE_WAIT_MS = 10_000;
const SILENCE_TICK_MS = 250;

export interface ServerLinesDeps {
  link: ModelLink;
  protocol: ModelProtocol;
  responses: Responses;
  hangup: Hangup;
  log: Logger;
  later(ms: number, fn: () => void): void;
  instructions(): string;
  /** Ends the call at once, for a last line the model never started. */
  end(endReason: HangupReason): void;
}

export interface ServerLines {
  /** Has the agent say a line, unless it is speaking already. */
  say(directive: string): void;
  /** Has the agent say a last line, cutting short any reply under way, and ends the call once it has played. */
  sayThenEnd(directive: string, endReason: HangupReason, why: string): void;
  /** Ends the call this way once the agent's next reply has played. */
  afterNextReply(endReason: HangupReason, why: string): void;
}

export function createServerLines(d: ServerLinesDeps): ServerLines {
  const ask = (directive: string) => {
    d.responses.requested = true;
    d.link.send(d.protocol.reply(directive, responseInstructions(d.instructions(), directive)));
  };
  const afterNextReply = (endReason: HangupReason, why: string) => {
    const hook = (id: string) => d.hangup.afterReply(id, why, endReason);
    d.responses.onNextCreated = hook;
    d.later(LAST_LINE_WAIT_MS, () => {
      if (d.responses.onNextCreated !== hook) return;
      d.responses.onNextCreated = null;
      d.log.warn("the agent never said its last line; ending the call without it", { end_reason: endReason });
      d.end(endReason);
    });
  };
  return {
    say(directive) {
      if (!d.responses.active && !d.responses.requested) ask(directive);
    },
    sayThenEnd(directive, endReason, why) {
      afterNextReply(endReason, why);
      if (d.responses.active) d.link.send(d.protocol.cancel());
      ask(directive);
    },
    afterNextReply,
  };
}

export interface SilenceWatchDeps {
  policy: SilencePolicy;
  /** Where the line stood when it dropped, for a call taken over on a new stream. */
  resumed?: { quietMs: number; checkedIn: boolean };
  lines: ServerLines;
  log: Logger;
  every(ms: number, fn: () => void): void;
  /** The agent is speaking, or busy on the other side's behalf (a tool is running). */
  agentBusy(): boolean;
}

export interface SilenceWatch {
  /** The media stream is up: quiet counts from now (or from when it began, for a resumed call). */
  lineUp(): void;
  callerSpeaking(speaking: boolean): void;
  /** How long the line has been quiet (null before it was up) and whether the agent has checked in. */
  snapshot(): { quietMs: number | null; checkedIn: boolean };
}

/** Checks in once after policy.repromptMs of quiet, and says goodbye and hangs up (`silence`) after hangupMs. */
export function watchSilence(d: SilenceWatchDeps): SilenceWatch {
  const silence = createSilence(d.resumed?.checkedIn);
  let caller = false;
  if (d.policy.repromptMs > 0 || d.policy.hangupMs > 0) {
    d.every(SILENCE_TICK_MS, () => {
      const now = performance.now();
      if (caller || d.agentBusy()) heard(silence, now, caller);
      const step = silenceStep(silence, d.policy, now);
      if (step === "check_in") d.lines.say(SILENCE_CHECK_IN);
      if (step === "hang_up") {
        d.log.info("ending a call that has been silent too long", { silence_ms: d.policy.hangupMs });
        d.lines.sayThenEnd(SILENCE_GOODBYE, "silence", "the line was silent");
      }
    });
  }
  return {
    lineUp: () => lineUp(silence, performance.now(), d.resumed?.quietMs),
    callerSpeaking(speaking) {
      caller = speaking;
      if (speaking) heard(silence, performance.now(), true);
    },
    snapshot() {
      const at = silence.lastSpeechAt;
      const quietMs = at === null ? null : caller ? 0 : Math.max(0, performance.now() - at);
      return { quietMs, checkedIn: silence.checkedIn };
    },
  };
}
