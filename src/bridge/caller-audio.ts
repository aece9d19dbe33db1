// Twilio → model: the caller's audio, appended to the model's input buffer as it arrives, with the
// gaps Twilio leaves under congestion filled so the model's audio clock stays true.
//
// This is the path every caller frame takes, 50 a second per call. With hundreds of calls live, a frame's cost is
// mostly the objects it touches that are no longer in the CPU's cache, so what a frame needs is here, in one
// object per call (the line), read by plain functions: the socket's data points at the line, and the line at the
// model socket, the gatekeeper's watch and the call's metrics. The marks Twilio echoes, ten a second, are read here
// too. Anything else takes the slower road.
import { base64Bytes } from "../media/transcode.ts";
import type { ModelProtocol } from "../model/protocol.ts";
import type { Recorder } from "../recording/recorder.ts";
import { markName, mediaPayload, mediaTimestamp } from "../twilio/media.ts";
import { type AudioLimits, type AudioQueue, createAudioQueue, FRAME_MS } from "./audio-queue.ts";
import { type GateWatch, gateFrame } from "./gatekeeper.ts";
import type { CallMetrics } from "./metrics.ts";
import { markPlayed, type Playback } from "./playback.ts";

/** Timestamp jumps up to this are filled with silence; a longer one is not a congestion gap. */
const MAX_GAP_MS = 2_000;
const OPEN = 1;

/** One call's caller side, as the media socket hands it Twilio's text frames. */
export interface CallerLine {
  /** Reads one of Twilio's text frames: `readCallerText`, the same function for every call. */
  read(line: CallerLine, text: string): void;
  /** False once the bridge has closed: a socket handed over stays open until its writes commit, and is not heard. */
  open: boolean;
  /** The model socket while its session is ready (model-link.ts says when), else null. */
  model: WebSocket | null;
  /** Bytes the model socket may hold unsent before frames wait in the queue instead. */
  maxBuffered: number;
  /**
   * At most what the model socket holds unsent: its last reading plus what was sent since. Only when this passes
   * `maxBuffered` is the socket asked again, which is a call into the runtime: not on every frame.
   */
  unsentAtMost: number;
  /** Frames waiting in the queue: while any are, a new frame goes behind them. */
  waiting: number;
  /** Where the next frame's timestamp should be, ms; NaN before the first. */
  nextTimestamp: number;
  append(payload: string): string;
  gate: GateWatch;
  metrics: CallMetrics;
  recorder: Recorder | null;
  queue: AudioQueue<string>;
  protocol: ModelProtocol;
  /** What the caller has heard of the agent: each echoed mark says more. */
  playback: Playback;
  /** A mark's echo said something has played: what waits on the agent's audio may go on. */
  played(): void;
  /** Anything but media and marks on the fast path: start, dtmf, stop, and messages in an unusual form. */
  other(text: string): void;
}

export interface CallerAudioParts {
  limits: AudioLimits;
  metrics: CallMetrics;
  protocol: ModelProtocol;
  recorder: Recorder | null;
  gate: GateWatch;
  playback: Playback;
  played(): void;
  other(text: string): void;
}

export function createCallerLine(p: CallerAudioParts): CallerLine {
  const line: CallerLine = {
    read: readCallerText,
    open: true,
    model: null,
    maxBuffered: p.limits.socketBytes,
    unsentAtMost: 0,
    waiting: 0,
    nextTimestamp: Number.NaN,
    append: p.protocol.appendFrame,
    gate: p.gate,
    metrics: p.metrics,
    recorder: p.recorder,
    queue: createAudioQueue<string>({
      limit: p.limits.queuedFrames,
      cost: () => 1,
      writable: () => writable(line),
      send: (frame) => send(line, frame),
      onDrop: () => p.metrics.frames_dropped_in++,
    }),
    protocol: p.protocol,
    playback: p.playback,
    played: p.played,
    other: p.other,
  };
  return line;
}

export function readCallerText(line: CallerLine, text: string): void {
  if (!line.open) return;
  const payload = mediaPayload(text);
  if (payload !== null) {
    callerFrame(line, payload, mediaTimestamp(text));
    return;
  }
  const mark = markName(text);
  if (mark !== null) markEcho(line, mark);
  else line.other(text);
}

/** Twilio has played the agent's audio up to this mark. */
export function markEcho(line: CallerLine, name: string): void {
  if (markPlayed(line.playback, name, performance.now())) line.played();
}

/** One caller frame: the gatekeeper's meter reads it as it passes on to the model. */
export function callerFrame(line: CallerLine, payload: string, timestampMs: number | null): void {
  gateFrame(line.gate, payload);
  line.metrics.frames_in++;
  if (timestampMs !== null) fillGap(line, timestampMs, payload);
  line.recorder?.callerFrame(payload);
  const message = line.append(payload);
  if (line.waiting === 0 && writable(line)) send(line, message);
  else queue(line, message);
}

function writable(line: CallerLine): boolean {
  const model = line.model;
  if (model === null || model.readyState !== OPEN) return false;
  if (line.unsentAtMost <= line.maxBuffered) return true;
  line.unsentAtMost = model.bufferedAmount;
  return line.unsentAtMost <= line.maxBuffered;
}

function send(line: CallerLine, message: string): void {
  line.model!.send(message);
  line.unsentAtMost += message.length;
}

/** The caller's audio goes to this model socket now (model-link.ts): nothing sent to it yet. */
export function audioTo(line: CallerLine, model: WebSocket | null): void {
  line.model = model;
  line.unsentAtMost = model === null ? 0 : model.bufferedAmount;
}

function queue(line: CallerLine, message: string): void {
  line.queue.push(message);
  line.waiting = line.queue.size();
}

/** The model can take audio again (its session is ready, or its socket drained): what waits goes first. */
export function flushCallerAudio(line: CallerLine): void {
  line.queue.flush();
  line.waiting = line.queue.size();
}

/**
 * Twilio discards audio under congestion (error 31930) and its timestamps jump. Silence of the
 * missing length keeps the model's turn detection and truncation points true.
 */
function fillGap(line: CallerLine, timestamp: number, payload: string): void {
  if (!Number.isFinite(timestamp)) return;
  const gap = Number.isNaN(line.nextTimestamp) ? 0 : timestamp - line.nextTimestamp;
  line.nextTimestamp = timestamp + base64Bytes(payload) / 8;
  if (gap < FRAME_MS || gap > MAX_GAP_MS) return;
  queue(line, line.protocol.appendSilence(gap));
  line.metrics.gap_filled_ms += Math.round(gap);
  line.recorder?.callerGap(gap);
}
