// src/bridge/ owns one call's audio bridge, from Twilio's media stream to the model and back. It must not
// import calls/, workers/ or http/: what it needs of them comes in BridgeDeps (deps.ts).
//
// One call's audio bridge: Twilio's media stream on one side, the realtime model on the other. This
// module owns the bridge's lifetime: its timers, its limits and its close. parts.ts builds and wires
// the parts, each with one concern: caller-audio.ts and agent-audio.ts move the audio, playback.ts
// knows what the caller has heard, model-link.ts keeps the model socket, model-events.ts reacts to
// the model, turns.ts keeps the transcript, tools.ts and tool-calls.ts run the model's tools, and
// hangup.ts ends the call for the agent.

import type { Ticks } from "../runtime/ticks.ts";
import type { StartMessage } from "../twilio/media.ts";
import type { TwilioSocket } from "./agent-audio.ts";
import type { CallerLine } from "./caller-audio.ts";
import type { BridgeDeps } from "./deps.ts";
import { heldUntilAttached } from "./held-store.ts";
import type { CallMetrics } from "./metrics.ts";
import { createParts } from "./parts.ts";

export type { TwilioSocket } from "./agent-audio.ts";

export interface Bridge {
  readonly callId: string;
  /** A media stream has attached (the bridge is not only prepared). */
  readonly attached: boolean;
  attach(twilio: TwilioSocket, start: StartMessage): void;
  /**
   * Where Twilio's text frames go: `line.read(line, text)`. A socket handed over stays open until the bridge's
   * writes are committed; what it still brings is dropped.
   */
  readonly line: CallerLine;
  /** Twilio's socket has room again after backpressure. */
  onTwilioDrain(): void;
  onTwilioClosed(): void;
  close(reason: string): void;
  /** The server is stopping: the agent says goodbye, then the call is hung up as `shutdown`. */
  farewell(): void;
  /** Voicemail has answered and beeped: the agent leaves the message (or one of its own), then hangs up. */
  leaveVoicemail(message: string | null): void;
  /** Twilio's AMD says a machine answered: true when the bridge knows it for a screener, menu or hold queue. */
  machineAnswered(answeredBy: string): Promise<boolean>;
  /**
   * Another bridge has the call's stream now (another instance took it), or this one, only prepared, never will:
   * it ends without writing anything more, so nothing of it lands over what the call's bridge writes.
   */
  abandon(): void;
  /**
   * The instance hands its calls over: the bridge ends and writes what it holds, but Twilio's socket is left open
   * and returned, to be closed once those writes are committed, so the call resumes elsewhere from them. A bridge
   * only prepared ends as one whose stream never came, and returns null.
   */
  handOver(): TwilioSocket | null;
  /** This bridge's own counts (since it was made), for the process's metrics. */
  metrics(): CallMetrics;
}

/** A prepared bridge whose media stream never arrives is abandoned after this. */
const STREAM_WAIT_MS = 30_000;
const STREAM_NEVER_STARTED = "stream_never_started";
const STREAM_MOVED = "stream_moved";
const CLOSE_NORMAL = 1000;

/** How long the call may still go on: calls.max_duration_s counts from its answer, across the bridges it had. */
function durationLeftMs(deps: BridgeDeps): number {
  const limit = deps.config.calls.max_duration_s * 1000;
  const answeredAt = deps.call.resumed?.answeredAt;
  return answeredAt == null ? limit : Math.max(0, limit - (Date.now() - answeredAt));
}

export function createBridge(deps: BridgeDeps): Bridge {
  const { log } = deps;
  const timers = createTimers(deps.ticks);
  let closed = false;
  let attached = false;
  const held = heldUntilAttached(deps.store);
  const parts = createParts({ ...deps, store: held.store }, timers, (reason) => close(reason));
  const { link, agentAudio, turns } = parts;

  function close(reason: string) {
    if (closed) return;
    closed = true;
    parts.callerLine.open = false;
    timers.clearAll();
    link.close(reason);
    agentAudio.detach()?.close(CLOSE_NORMAL, reason);
    deps.recorder?.close();
    // A bridge that ends before any stream came (the model failed, the call ended) was the call's own. One
    // whose stream never came may have lost it to another instance, whose bridge recorded the call; one whose
    // stream moved there has nothing more to write over that bridge's.
    if (reason !== STREAM_NEVER_STARTED && reason !== STREAM_MOVED) {
      held.release();
      parts.saveLine();
      turns.saveMetrics();
    }
    // After the line is saved: a hold under way is carried over to a bridge that takes the call over.
    parts.gate.close();
    deps.onClosed();
  }

  link.connect();
  timers.later(durationLeftMs(deps), () => {
    log.info("maximum call duration reached");
    deps.hangup("max_duration").catch((e) => log.warn("hanging up at the duration limit failed", { error: e }));
  });
  timers.later(STREAM_WAIT_MS, () => {
    if (!attached) close(STREAM_NEVER_STARTED);
  });

  return {
    callId: deps.call.id,
    get attached() {
      return attached;
    },
    attach(socket, start) {
      attached = true;
      held.release();
      agentAudio.attach(socket, start.streamSid);
      parts.silence.lineUp();
    },
    line: parts.callerLine,
    onTwilioDrain: agentAudio.flush,
    onTwilioClosed() {
      agentAudio.detach();
      close("stream_closed");
    },
    close,
    farewell: parts.farewell,
    leaveVoicemail: parts.leaveVoicemail,
    machineAnswered: parts.gate.machineAnswered,
    abandon: () => close(STREAM_MOVED),
    handOver() {
      // Prepared only: what it holds was never heard, and is not the call's.
      if (!attached) {
        close(STREAM_NEVER_STARTED);
        return null;
      }
      const socket = agentAudio.detach();
      close("handover");
      return socket;
    },
    metrics: () => parts.metrics,
  };
}

/** The bridge's timers, all cleared when it closes. Repeating ones share the server's intervals (deps.ticks). */
function createTimers(ticks: Ticks) {
  const pending = new Set<ReturnType<typeof setTimeout>>();
  const repeating = new Set<() => void>();
  return {
    later(ms: number, fn: () => void): () => void {
      const t = setTimeout(() => {
        pending.delete(t);
        fn();
      }, ms);
      pending.add(t);
      return () => {
        clearTimeout(t);
        pending.delete(t);
      };
    },
    every(ms: number, fn: () => void) {
      repeating.add(ticks.every(ms, fn));
    },
    clearAll() {
      for (const t of pending) clearTimeout(t);
      for (const stop of repeating) stop();
      pending.clear();
      repeating.clear();
    },
  };
}
