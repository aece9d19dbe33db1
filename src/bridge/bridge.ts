// One call's audio bridge: Twilio's media stream on one side, the realtime model on the other. This
// module owns the bridge's lifetime: its timers, its limits and its close. parts.ts builds and wires
// the parts, each with one concern: caller-audio.ts and agent-audio.ts move the audio, playback.ts
// knows what the caller has heard, model-link.ts keeps the model socket, model-events.ts reacts to
// the model, turns.ts keeps the transcript, tools.ts and tool-calls.ts run the model's tools, and
// hangup.ts ends the call for the agent.

import type { ConsultResult } from "../assistant/consult.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Recorder } from "../recording/recorder.ts";
import type { StartMessage } from "../twilio/media.ts";
import { readTwilioMessage } from "../twilio/media.ts";
import type { TwilioSocket } from "./agent-audio.ts";
import type { HangupReason } from "./hangup.ts";
import { heldUntilAttached } from "./held-store.ts";
import type { CallMetrics } from "./metrics.ts";
import { createParts } from "./parts.ts";
import type { SilencePolicy } from "./silence.ts";
import type { AgentOutcome, ToolRegistry } from "./tools.ts";
import type { BridgeStore } from "./turns.ts";

export type { TwilioSocket } from "./agent-audio.ts";

export interface BridgeCall {
  id: string;
  direction: "outbound" | "inbound";
  prompt: string;
  /** The tools this call's model is offered. */
  tools: ReadonlySet<string>;
  silence: SilencePolicy;
  /** Said instead of the greeting by an agent coming back to a call (after a transfer nobody took). */
  opening?: string;
}

export interface BridgeDeps {
  config: Config;
  log: Logger;
  store: BridgeStore;
  tools: ToolRegistry;
  call: BridgeCall;
  /** Ends the call through Twilio with this end reason. */
  hangup(reason: HangupReason | "max_duration"): Promise<unknown>;
  /** Plays a short apology through Twilio and hangs up; used when the model is gone for good. */
  apologize(reason: "model_unavailable"): Promise<unknown>;
  /** The agent's report_outcome: kept as the call's report; a problem with it goes back to the model. */
  recordOutcome(outcome: AgentOutcome): Promise<string | null>;
  /** Asks the owner's assistant (consult_assistant). */
  consult(question: string): Promise<ConsultResult>;
  /** The call's recording, when it is recorded. */
  recorder: Recorder | null;
  /** The bridge is finished: both sockets are closed and its metrics stored. */
  onClosed(): void;
}

export interface Bridge {
  readonly callId: string;
  attach(twilio: TwilioSocket, start: StartMessage): void;
  onTwilioText(text: string): void;
  /** Twilio's socket has room again after backpressure. */
  onTwilioDrain(): void;
  onTwilioClosed(): void;
  close(reason: string): void;
  /** The server is stopping: the agent says goodbye, then the call is hung up as `shutdown`. */
  farewell(): void;
  /** Voicemail has answered and beeped: the agent leaves the message (or one of its own), then hangs up. */
  leaveVoicemail(message: string | null): void;
  metrics(): CallMetrics;
}

/** A prepared bridge whose media stream never arrives is abandoned after this. */
const STREAM_WAIT_MS = 30_000;
const STREAM_NEVER_STARTED = "stream_never_started";
const CLOSE_NORMAL = 1000;

export function createBridge(deps: BridgeDeps): Bridge {
  const { config, log } = deps;
  const timers = createTimers();
  let closed = false;
  let attached = false;
  const held = heldUntilAttached(deps.store);
  const parts = createParts({ ...deps, store: held.store }, timers, (reason) => close(reason));
  const { link, agentAudio, turns } = parts;

  function close(reason: string) {
    if (closed) return;
    closed = true;
    timers.clearAll();
    link.close(reason);
    agentAudio.detach()?.close(CLOSE_NORMAL, reason);
    deps.recorder?.close();
    // A bridge that ends before any stream came (the model failed, the call ended) was the call's own. One
    // whose stream never came may have lost it to another instance, whose bridge recorded the call.
    if (reason !== STREAM_NEVER_STARTED) held.release();
    turns.saveMetrics();
    deps.onClosed();
  }

  link.connect();
  timers.later(config.calls.max_duration_s * 1000, () => {
    log.info("maximum call duration reached");
    deps.hangup("max_duration").catch((e) => log.warn("hanging up at the duration limit failed", { error: e }));
  });
  timers.later(STREAM_WAIT_MS, () => {
    if (!attached) close(STREAM_NEVER_STARTED);
  });

  return {
    callId: deps.call.id,
    attach(socket, start) {
      attached = true;
      held.release();
      agentAudio.attach(socket, start.streamSid);
      parts.silence.lineUp();
    },
    onTwilioText: (text) => readTwilioMessage(text, parts.onTwilio),
    onTwilioDrain: agentAudio.flush,
    onTwilioClosed() {
      agentAudio.detach();
      close("stream_closed");
    },
    close,
    farewell: parts.farewell,
    leaveVoicemail: parts.leaveVoicemail,
    metrics: () => parts.metrics,
  };
}

/** The bridge's timers, all cleared when it closes. */
function createTimers() {
  const pending = new Set<ReturnType<typeof setTimeout>>();
  const repeating = new Set<ReturnType<typeof setInterval>>();
  return {
    later(ms: number, fn: () => void) {
      const t = setTimeout(() => {
        pending.delete(t);
        fn();
      }, ms);
      pending.add(t);
    },
    every(ms: number, fn: () => void) {
      repeating.add(setInterval(fn, ms));
    },
    clearAll() {
      for (const t of pending) clearTimeout(t);
      for (const t of repeating) clearInterval(t);
      pending.clear();
      repeating.clear();
    },
  };
}
