// Twilio → model: the caller's audio, appended to the model's input buffer as it arrives, with the
// gaps Twilio leaves under congestion filled so the model's audio clock stays true.
import { base64Bytes } from "../media/transcode.ts";
import type { ModelProtocol } from "../model/protocol.ts";
import type { Recorder } from "../recording/recorder.ts";
import { type AudioLimits, createAudioQueue, FRAME_MS } from "./audio-queue.ts";
import type { CallMetrics } from "./metrics.ts";
import type { ModelLink } from "./model-link.ts";

/** Timestamp jumps up to this are filled with silence; a longer one is not a congestion gap. */
const MAX_GAP_MS = 2_000;

export interface CallerAudio {
  frame(payload: string, timestampMs: number | null): void;
  /** The model can take audio again (its session is ready, or its socket drained). */
  flush(): void;
}

export function createCallerAudio(
  limits: AudioLimits,
  metrics: CallMetrics,
  model: ModelLink,
  protocol: ModelProtocol,
  recorder: Recorder | null,
): CallerAudio {
  const queue = createAudioQueue<string>({
    limit: limits.queuedFrames,
    cost: () => 1,
    writable: () => model.writable(limits.socketBytes),
    send: model.sendAudio,
    onDrop: () => metrics.frames_dropped_in++,
  });
  let nextTimestamp: number | null = null;

  /**
   * Twilio discards audio under congestion (error 31930) and its timestamps jump. Silence of the
   * missing length keeps the model's turn detection and truncation points true.
   */
  const fillGap = (timestamp: number | null, payload: string) => {
    if (timestamp === null || !Number.isFinite(timestamp)) return;
    const gap = nextTimestamp === null ? 0 : timestamp - nextTimestamp;
    nextTimestamp = timestamp + base64Bytes(payload) / 8;
    if (gap < FRAME_MS || gap > MAX_GAP_MS) return;
    queue.push(protocol.appendSilence(gap));
    metrics.gap_filled_ms += Math.round(gap);
    recorder?.callerGap(gap);
  };

  return {
    frame(payload, timestampMs) {
      metrics.frames_in++;
      fillGap(timestampMs, payload);
      recorder?.callerFrame(payload);
      queue.push(protocol.appendFrame(payload));
    },
    flush: queue.flush,
  };
}
