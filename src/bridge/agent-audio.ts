// Model → Twilio: the agent's audio, each chunk followed by a mark so that playback tracking knows what
// the caller has heard. It may arrive before Twilio opens the stream, and faster than Twilio takes it.
//
// Each call gets ten or more deltas a second. As on the caller's side (caller-audio.ts), what a delta needs is in
// one object per call, read by plain functions, so that a delta touches few objects outside the CPU's cache.
import { base64Bytes, createPcm24ToUlaw } from "../media/transcode.ts";
import type { Recorder } from "../recording/recorder.ts";
import { clearMessage, markMessage, mediaMessage } from "../twilio/media.ts";
import { detached } from "../wire/json-field.ts";
import { type AudioLimits, type AudioQueue, createAudioQueue } from "./audio-queue.ts";
import type { CallMetrics } from "./metrics.ts";
import { audioSent, type Playback } from "./playback.ts";
import { createToneTrack, TONES, type ToneChunk, type ToneTrack } from "./tones.ts";
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

/** One call's agent side. */
interface AgentLine {
  twilio: TwilioSocket | null;
  streamSid: string;
  attachedAt: number;
  /** Bytes Twilio's socket may hold unsent before chunks wait in the queue instead. */
  maxBuffered: number;
  /** At most what Twilio's socket holds unsent (as on the caller's side): it is asked again only past `maxBuffered`. */
  unsentAtMost: number;
  /** Chunks waiting in the queue: while any are, a new one goes behind them. */
  waiting: number;
  toUlaw: ReturnType<typeof createPcm24ToUlaw> | null;
  playback: Playback;
  metrics: CallMetrics;
  turns: Turns;
  recorder: Recorder | null;
  tones: ToneTrack;
  queue: AudioQueue<Chunk>;
  /** The two messages of the chunk being sent, for `write`, which sends them corked. */
  media: string;
  mark: string;
  write: () => void;
}

export function createAgentAudio(
  limits: AudioLimits,
  metrics: CallMetrics,
  playback: Playback,
  turns: Turns,
  recorder: Recorder | null,
): AgentAudio {
  const a: AgentLine = {
    twilio: null,
    streamSid: "",
    attachedAt: 0,
    maxBuffered: limits.socketBytes,
    unsentAtMost: 0,
    waiting: 0,
    toUlaw: limits.pcm ? createPcm24ToUlaw() : null,
    playback,
    metrics,
    turns,
    recorder,
    tones: createToneTrack(playback),
    queue: createAudioQueue<Chunk>({
      limit: limits.queuedBytes,
      cost: (chunk) => chunk.bytes,
      writable: () => writable(a),
      send: (chunk) => sendChunk(a, chunk),
      onDrop: (chunk) => {
        metrics.frames_dropped_out++;
        if (chunk.responseId === TONES) a.tones.dropped();
      },
    }),
    media: "",
    mark: "",
    // The audio and its mark leave in one write: half the syscalls on the busiest path out.
    write: () => {
      a.twilio!.send(a.media);
      a.twilio!.send(a.mark);
      // Sent, the media message is let go: its payload is a slice of the model's message, which it would keep alive
      // until the next chunk (measured: ~65 KB more RSS per call at 500 calls). The mark holds only our own name.
      a.media = "";
    },
  };
  return agentAudioOf(a);
}

function agentAudioOf(a: AgentLine): AgentAudio {
  const enqueue = (chunk: Chunk) => {
    a.queue.push(chunk);
    a.waiting = a.queue.size();
  };
  const flush = () => {
    a.queue.flush();
    a.waiting = a.queue.size();
  };
  return {
    attach(socket, sid) {
      a.twilio = socket;
      a.unsentAtMost = socket.getBufferedAmount();
      a.streamSid = sid;
      a.attachedAt = performance.now();
      flush();
    },
    detach() {
      const socket = a.twilio;
      a.twilio = null;
      return socket;
    },
    delta: (responseId, itemId, delta) => agentDelta(a, responseId, itemId, delta),
    flush,
    clear() {
      if (!a.twilio) return false;
      a.queue.clear();
      a.waiting = 0;
      a.twilio.send(clearMessage(a.streamSid));
      a.recorder?.cleared();
      return true;
    },
    tones: (ulaw) => a.tones.push(ulaw, enqueue),
    tonesPending: a.tones.pending,
  };
}

function writable(a: AgentLine): boolean {
  if (a.twilio === null) return false;
  if (a.unsentAtMost <= a.maxBuffered) return true;
  a.unsentAtMost = a.twilio.getBufferedAmount();
  return a.unsentAtMost <= a.maxBuffered;
}

/** One delta of the model's audio: to Twilio at once when nothing waits and its socket has room. */
function agentDelta(a: AgentLine, responseId: string, itemId: string, delta: string): void {
  // Most calls have no discarded reply most of the time: the size is read before a lookup that hashes the id.
  const discarded = a.playback.discarded;
  if (discarded.size !== 0 && discarded.has(responseId)) return;
  let payload = delta;
  let bytes: number;
  if (a.toUlaw) {
    ({ payload, bytes } = a.toUlaw(delta));
    if (bytes === 0) return;
  } else bytes = base64Bytes(delta);
  if (a.waiting === 0 && writable(a)) sendAudio(a, responseId, itemId, payload, bytes);
  else {
    a.queue.push({ responseId, itemId, payload, bytes });
    a.waiting = a.queue.size();
  }
}

function sendChunk(a: AgentLine, chunk: Chunk): void {
  sendAudio(a, chunk.responseId, chunk.itemId, chunk.payload, chunk.bytes);
  if (chunk.responseId === TONES) a.tones.sent();
  chunk.sent?.();
}

function sendAudio(a: AgentLine, responseId: string, itemId: string, payload: string, bytes: number): void {
  const now = performance.now();
  const tones = responseId === TONES;
  if (a.metrics.time_to_first_audio_ms === null) a.metrics.time_to_first_audio_ms = Math.round(now - a.attachedAt);
  if (!tones) a.turns.agentAudio(now);
  let item = itemId;
  let response = responseId;
  if (a.playback.current?.itemId !== itemId && !tones) {
    // The ids are slices of a delta; kept for the whole item, they must not keep that delta alive.
    item = detached(itemId);
    response = detached(responseId);
    a.turns.agentItemStarted(item);
  }
  a.media = mediaMessage(a.streamSid, payload);
  a.mark = markMessage(a.streamSid, audioSent(a.playback, response, item, bytes, now));
  a.twilio!.cork(a.write);
  a.unsentAtMost += a.media.length + a.mark.length;
  a.metrics.frames_out++;
  a.recorder?.agentAudio(payload);
}
