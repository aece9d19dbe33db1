// Model → Twilio: the agent's audio, each chunk followed by a mark so that playback tracking knows what
// the caller has heard. It may arrive before Twilio opens the stream, and faster than Twilio takes it.
import { base64Bytes, createPcm24ToUlaw } from "../media/transcode.ts";
import type { Recorder } from "../recording/recorder.ts";
import { clearMessage, markMessage, mediaMessage } from "../twilio/media.ts";
import { detached } from "../wire/json-field.ts";
import { type AudioLimits, createAudioQueue } from "./audio-queue.ts";
import type { CallMetrics } from "./metrics.ts";
import { audioSent, type Playback } from "./playback.ts";
import { createToneTrack, TONES, type ToneChunk } from "./tones.ts";
import type { Turns } from "./turns.ts";

/** The Twilio side as the bridge sees it: Bun's ServerWebSocket fits. */
export interface TwilioSocket {
  send(text: string): number;
  /** Sends made inside go out in one write. */
  cork(callback: () => void): unknown;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
}

export interface AgentAudio {
  attach(socket: TwilioSocket, streamSid: string): void;
  /** Forgets the socket and returns it, for the caller to close. */
  detach(): TwilioSocket | null;
  delta(responseId: string, itemId: string, delta: string): void;
  /** Twilio's socket has room again. */
  flush(): void;
  /** The caller cut in: drop what waits here, and have Twilio drop what it buffered. False with no stream. */
  clear(): boolean;
  /** Queues μ-law audio of the server's own (keypad tones) behind the agent's; resolves when its last chunk is sent. */
  tones(ulaw: Uint8Array): Promise<void>;
  /** Keypad tones wait here or have not played yet: a clear now would lose the keypress. */
  tonesPending(): boolean;
}

/** A chunk of the agent's audio, or of keypad tones (see tones.ts). */
type Chunk = ToneChunk;

export function createAgentAudio(
  limits: AudioLimits,
  metrics: CallMetrics,
  playback: Playback,
  turns: Turns,
  recorder: Recorder | null,
): AgentAudio {
  const toUlaw = limits.pcm ? createPcm24ToUlaw() : null;
  let twilio: TwilioSocket | null = null;
  let streamSid = "";
  let attachedAt = 0;

  const send = (chunk: Chunk) => {
    const socket = twilio!;
    const now = performance.now();
    if (metrics.time_to_first_audio_ms === null) metrics.time_to_first_audio_ms = Math.round(now - attachedAt);
    if (chunk.responseId !== TONES) turns.agentAudio(now);
    if (playback.current?.itemId !== chunk.itemId && chunk.responseId !== TONES) {
      // The ids are slices of a delta; kept for the whole item, they must not keep that delta alive.
      chunk.itemId = detached(chunk.itemId);
      chunk.responseId = detached(chunk.responseId);
      turns.agentItemStarted(chunk.itemId);
    }
    const mark = markMessage(streamSid, audioSent(playback, chunk.responseId, chunk.itemId, chunk.bytes, now));
    // The audio and its mark leave in one write: half the syscalls on the busiest path out.
    socket.cork(() => {
      socket.send(mediaMessage(streamSid, chunk.payload));
      socket.send(mark);
    });
    metrics.frames_out++;
    recorder?.agentAudio(chunk.payload);
    if (chunk.responseId === TONES) tones.sent();
    chunk.sent?.();
  };
  const tones = createToneTrack(playback);

  const queue = createAudioQueue<Chunk>({
    limit: limits.queuedBytes,
    cost: (chunk) => chunk.bytes,
    writable: () => twilio !== null && twilio.getBufferedAmount() <= limits.socketBytes,
    send,
    onDrop: (chunk) => {
      metrics.frames_dropped_out++;
      if (chunk.responseId === TONES) tones.dropped();
    },
  });

  return {
    attach(socket, sid) {
      twilio = socket;
      streamSid = sid;
      attachedAt = performance.now();
      queue.flush();
    },
    detach() {
      const socket = twilio;
      twilio = null;
      return socket;
    },
    delta(responseId, itemId, delta) {
      if (playback.discarded.has(responseId)) return;
      if (!toUlaw) return queue.push({ responseId, itemId, payload: delta, bytes: base64Bytes(delta) });
      const { payload, bytes } = toUlaw(delta);
      if (bytes > 0) queue.push({ responseId, itemId, payload, bytes });
    },
    flush: queue.flush,
    clear() {
      if (!twilio) return false;
      queue.clear();
      twilio.send(clearMessage(streamSid));
      recorder?.cleared();
      return true;
    },
    tones: (ulaw) => tones.push(ulaw, queue.push),
    tonesPending: tones.pending,
  };
}
