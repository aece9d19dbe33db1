// Twilio's side of <Connect><Stream>, simulated: it opens the media WebSocket, sends the caller's
// audio as Twilio does (connected, start, 20 ms media frames, dtmf, stop) and plays back what the
// server sends at 8000 bytes/s, echoing marks as their audio finishes and honouring `clear`.
//
// Two ways to drive it: tests push bursts of audio (`sendAudio`, `sendSpeech`, `sendSilence`); a
// simulated caller calls `startLine()`, after which a frame clock sends one 20 ms frame per tick
// (queued speech from `say()`, else silence) exactly as a phone line does. `speed` > 1 runs the clock
// and playback faster than real time for tests and load.
import { randomBytes } from "node:crypto";
import { base64Bytes } from "../media/transcode.ts";
import { ULAW_ENCODE } from "../media/ulaw.ts";
import { stringField } from "../wire/json-field.ts";
import { readStamp, stampedSilence } from "./probe.ts";

export interface MediaClientOptions {
  url: string;
  /** X-Twilio-Signature for the upgrade; omitted when undefined. */
  signature?: string;
  accountSid?: string;
  callSid?: string;
  customParameters?: Record<string, string>;
  /** Count audio as played the moment it arrives (unpaced load, quick tests). */
  instantPlayback?: boolean;
  /** Stream time per wall time; 1 is real time. */
  speed?: number;
  /** Keep both sides of the line, aligned frame by frame (needs `startLine`). */
  record?: boolean;
  /** Load runs: stamp every line frame with its send time and report the age of stamped agent audio on arrival. */
  probe?: { onAgentAudio(latencyMs: number, sentAt: number): void };
}

export interface MediaClient {
  readonly streamSid: string;
  readonly received: { media: number; marks: number; clears: number };
  /** μ-law bytes received from the server. */
  readonly totalAudioBytes: number;
  /** Frames the line clock has sent. */
  readonly framesSent: number;
  /** Milliseconds of received audio that have played (what the caller heard). */
  readonly playedMs: number;
  /** Stream milliseconds since agent audio last played; 0 while it plays. */
  readonly agentQuietMs: number;
  readonly agentPlaying: boolean;
  /** Server messages other than media and marks (clears, and anything unexpected), in order. */
  readonly events: { event: string; [k: string]: unknown }[];
  /** Messages Twilio would reject (binary, not JSON, wrong event or streamSid). */
  readonly protocolErrors: number;
  /** When the agent's first audio arrived (performance.now()); pending until it does. */
  readonly firstAudio: Promise<number>;
  readonly closed: Promise<{ code: number; reason: string }>;
  isOpen(): boolean;
  sendAudio(ulaw: Uint8Array, opts?: { paced?: boolean }): Promise<void>;
  sendSilence(ms: number, opts?: { paced?: boolean }): Promise<void>;
  sendSpeech(ms: number, opts?: { paced?: boolean }): Promise<void>;
  /** Starts the line's frame clock: from now on a frame goes out every 20 ms of stream time. */
  startLine(): void;
  /** Queues caller speech on the line; resolves when its last frame has been sent. */
  say(ulaw: Uint8Array): Promise<void>;
  /** Resolves after `ms` of stream time. */
  wait(ms: number): Promise<void>;
  sendDtmf(digit: string): void;
  sendRaw(data: string | Uint8Array): void;
  /** Both sides as heard on the line, μ-law, equal length (with `record`). */
  recording(): { caller: Uint8Array; agent: Uint8Array };
  stop(): void;
  close(): void;
}

const FRAME_BYTES = 160;
const FRAME_MS = 20;
const SILENCE = 0xff;

/** A loud 300 Hz tone: well above any speech detector's threshold. */
export function speechTone(ms: number): Uint8Array {
  const n = ms * 8;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++)
    out[i] = ULAW_ENCODE[Math.round(12000 * Math.sin((2 * Math.PI * 300 * i) / 8000)) & 0xffff]!;
  return out;
}

/** Agent audio waiting to play (its bytes kept only when recording) or a mark waiting behind it. */
type Queued = { bytes: Uint8Array | null; length: number; at: number } | { mark: string };

const SILENCE_FRAME = new Uint8Array(FRAME_BYTES).fill(SILENCE);
const SILENCE_FRAME_B64 = Buffer.from(SILENCE_FRAME).toString("base64");

export function connectMediaStream(opts: MediaClientOptions): Promise<MediaClient> {
  const speed = opts.speed ?? 1;
  const stamped = opts.probe ? stampedSilence(FRAME_BYTES) : null;
  const streamSid = `MZ${randomBytes(16).toString("hex")}`;
  const accountSid = opts.accountSid ?? `AC${"0".repeat(32)}`;
  const callSid = opts.callSid ?? `CA${randomBytes(16).toString("hex")}`;
  const headers: Record<string, string> = opts.signature === undefined ? {} : { "X-Twilio-Signature": opts.signature };
  const ws = new WebSocket(opts.url, { headers });

  let seq = 0;
  let chunk = 0;
  let sentMs = 0;
  let totalAudioBytes = 0;
  let playedBytes = 0;
  let quietSinceMs = 0;
  let protocolErrors = 0;
  const received = { media: 0, marks: 0, clears: 0 };
  const events: MediaClient["events"] = [];
  const queue: Queued[] = [];
  let lastTick = performance.now();
  let open = false;
  let opened = false;
  let onClosed: (v: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
  let onFirstAudio: ((at: number) => void) | null = null;
  const firstAudio = new Promise<number>((resolve) => (onFirstAudio = resolve));

  // The line: caller speech waiting to be sent, and what each side heard, frame by frame.
  let lineStart = 0;
  let lineFrames = 0;
  let line: ReturnType<typeof setInterval> | null = null;
  const speech: { bytes: Uint8Array; done: () => void }[] = [];
  let speechAt = 0;
  const recCaller: Uint8Array[] = [];
  const recAgent: Uint8Array[] = [];
  const waiters: { at: number; done: () => void }[] = [];

  const streamMs = () => (line ? lineFrames * FRAME_MS : (performance.now() - lineStart) * speed);

  const send = (msg: object) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };
  const nextSeq = () => String(++seq);
  const echo = (name: string) => {
    if (ws.readyState === WebSocket.OPEN)
      ws.send(`{"event":"mark","sequenceNumber":"${nextSeq()}","streamSid":"${streamSid}","mark":{"name":"${name}"}}`);
  };
  const onMark = (name: string) => {
    received.marks++;
    if (opts.instantPlayback || queue.length === 0) echo(name);
    else queue.push({ mark: name });
  };

  /** Plays up to `budget` bytes of queued agent audio, echoing marks as the audio ahead of them finishes. */
  const play = (budget: number, into?: Uint8Array): number => {
    let played = 0;
    while (queue.length) {
      const head = queue[0]!;
      if ("mark" in head) {
        queue.shift();
        echo(head.mark);
        continue;
      }
      if (budget <= 0) break;
      const take = Math.min(budget, head.length - head.at);
      if (into && head.bytes) into.set(head.bytes.subarray(head.at, head.at + take), played);
      head.at += take;
      budget -= take;
      played += take;
      if (head.at === head.length) queue.shift();
    }
    playedBytes += played;
    if (played > 0 || queue.length) quietSinceMs = streamMs();
    return played;
  };

  // Built as a string like Twilio's own frames (event first), cheap enough for a thousand lines at once.
  const mediaFrame = (frame: Uint8Array) =>
    mediaPayload(Buffer.from(frame.buffer, frame.byteOffset, frame.length).toString("base64"), frame.length);
  const mediaPayload = (payload: string, bytes: number) => {
    chunk++;
    sentMs += bytes / 8;
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(
      `{"event":"media","sequenceNumber":"${++seq}","streamSid":"${streamSid}","media":{"track":"inbound","chunk":"${chunk}","timestamp":"${Math.round(sentMs)}","payload":"${payload}"}}`,
    );
  };

  /** One 20 ms frame of the line: the caller's next speech (or silence) out, the agent's audio played. */
  const lineFrame = () => {
    const current = speech[0];
    let out = SILENCE_FRAME;
    if (current) {
      out = new Uint8Array(FRAME_BYTES).fill(SILENCE);
      const part = current.bytes.subarray(speechAt, speechAt + FRAME_BYTES);
      out.set(part);
      speechAt += part.length;
      if (speechAt >= current.bytes.length) {
        speech.shift();
        speechAt = 0;
        current.done();
      }
      mediaFrame(out);
    } else {
      mediaPayload(stamped ? stamped() : SILENCE_FRAME_B64, FRAME_BYTES);
    }
    if (opts.record) {
      const heard = new Uint8Array(FRAME_BYTES).fill(SILENCE);
      play(FRAME_BYTES, heard);
      recCaller.push(out);
      recAgent.push(heard);
    } else {
      play(FRAME_BYTES);
    }
    lineFrames++;
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.at <= lineFrames * FRAME_MS) waiters.splice(i, 1)[0]!.done();
    }
  };

  const tick = setInterval(() => {
    if (line) return;
    const now = performance.now();
    play(Math.floor((now - lastTick) * 8 * speed));
    lastTick = now;
  }, FRAME_MS);

  /** Audio, the bulk of what arrives, is read without a JSON parse; anything else is parsed and checked. */
  const onAgentAudio = (payload: string) => {
    received.media++;
    if (onFirstAudio) {
      onFirstAudio(performance.now());
      onFirstAudio = null;
    }
    const length = base64Bytes(payload);
    totalAudioBytes += length;
    if (opts.probe) {
      const sentAt = readStamp(payload);
      if (sentAt !== null) opts.probe.onAgentAudio(performance.now() - sentAt, sentAt);
    }
    if (opts.instantPlayback) {
      playedBytes += length;
      return;
    }
    if (queue.length === 0) lastTick = performance.now();
    queue.push({ bytes: opts.record ? new Uint8Array(Buffer.from(payload, "base64")) : null, length, at: 0 });
    quietSinceMs = streamMs();
  };

  const onServerMessage = (data: unknown) => {
    if (typeof data !== "string") return void protocolErrors++;
    const fast = data.startsWith('{"event":"media","streamSid":"')
      ? "payload"
      : data.startsWith('{"event":"mark","streamSid":"')
        ? "name"
        : null;
    if (fast && stringField(data, "streamSid") === streamSid) {
      const value = stringField(data, fast);
      // Mark names with escapes are not the server's; let the full parser judge them.
      if (value !== null && !value.includes("\\")) return fast === "payload" ? onAgentAudio(value) : onMark(value);
    }
    let msg: { event?: string; streamSid?: string; media?: { payload?: string }; mark?: { name?: string } };
    try {
      msg = JSON.parse(data);
    } catch {
      return void protocolErrors++;
    }
    if (msg.streamSid !== streamSid) return void protocolErrors++;
    if (msg.event === "media" && typeof msg.media?.payload === "string") {
      onAgentAudio(msg.media.payload);
    } else if (msg.event === "mark" && typeof msg.mark?.name === "string") {
      onMark(msg.mark.name);
    } else if (msg.event === "clear") {
      received.clears++;
      events.push(msg as MediaClient["events"][number]);
      // Twilio drops unplayed audio and echoes every pending mark at once.
      for (const q of queue.splice(0)) if ("mark" in q) echo(q.mark);
    } else {
      protocolErrors++;
    }
  };

  const sendAudio = async (ulaw: Uint8Array, o: { paced?: boolean } = {}) => {
    const started = performance.now();
    for (let at = 0; at < ulaw.length; at += FRAME_BYTES) {
      if (ws.readyState !== WebSocket.OPEN) return;
      mediaFrame(ulaw.subarray(at, at + FRAME_BYTES));
      if (o.paced) {
        const wait = started + (at + FRAME_BYTES) / 8 / speed - performance.now();
        if (wait > 0) await Bun.sleep(wait);
      }
    }
    if (!o.paced) await Bun.sleep(0);
  };

  const stopLine = () => {
    if (line) clearInterval(line);
    line = null;
    for (const s of speech.splice(0)) s.done();
    for (const w of waiters.splice(0)) w.done();
  };

  return new Promise((resolve, reject) => {
    ws.onopen = () => {
      open = opened = true;
      lineStart = performance.now();
      send({ event: "connected", protocol: "Call", version: "1.0.0" });
      send({
        event: "start",
        sequenceNumber: nextSeq(),
        streamSid,
        start: {
          streamSid,
          accountSid,
          callSid,
          tracks: ["inbound"],
          customParameters: opts.customParameters ?? {},
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        },
      });
      resolve(client);
    };
    ws.onmessage = (e) => onServerMessage(e.data);
    ws.onerror = () => {
      if (!opened) reject(new Error(`media stream upgrade to ${opts.url} failed`));
    };
    ws.onclose = (e) => {
      open = false;
      clearInterval(tick);
      stopLine();
      onClosed({ code: e.code, reason: e.reason });
      if (!opened) reject(new Error(`media stream closed before opening (${e.code})`));
    };
    const client: MediaClient = {
      streamSid,
      received,
      get totalAudioBytes() {
        return totalAudioBytes;
      },
      get framesSent() {
        return lineFrames;
      },
      get playedMs() {
        return playedBytes / 8;
      },
      get agentPlaying() {
        return queue.some((q) => "bytes" in q);
      },
      get agentQuietMs() {
        return queue.some((q) => "bytes" in q) ? 0 : Math.max(0, streamMs() - quietSinceMs);
      },
      events,
      get protocolErrors() {
        return protocolErrors;
      },
      firstAudio,
      closed,
      isOpen: () => open && ws.readyState === WebSocket.OPEN,
      sendAudio,
      sendSilence: (ms, o) => sendAudio(new Uint8Array(ms * 8).fill(SILENCE), o),
      sendSpeech: (ms, o) => sendAudio(speechTone(ms), o),
      startLine() {
        if (line || !open) return;
        // From here the line clock plays the agent's audio; the free-running player stops.
        clearInterval(tick);
        const period = FRAME_MS / speed;
        // Under load, each line starts at a random phase of the frame clock, as calls answered at random
        // moments do: lines set up in a burst would otherwise send their frames in bursts for ever.
        const phase = opts.probe ? Math.random() * period : 0;
        lineStart = performance.now() + phase;
        const clock = () => {
          // Catch up on every frame that is due, so timer jitter never stretches the line.
          line = setInterval(
            () => {
              const due = Math.floor((performance.now() - lineStart) / period);
              while (lineFrames < due && ws.readyState === WebSocket.OPEN) lineFrame();
            },
            Math.max(1, Math.min(FRAME_MS, period)),
          );
        };
        if (phase) line = setTimeout(clock, phase);
        else clock();
      },
      say: (bytes) => new Promise<void>((done) => (open ? speech.push({ bytes, done }) : done())),
      wait: (ms) =>
        new Promise<void>((done) => {
          if (!open) return done();
          if (line) waiters.push({ at: lineFrames * FRAME_MS + ms, done });
          else setTimeout(done, ms / speed);
        }),
      sendDtmf: (digit) =>
        send({ event: "dtmf", sequenceNumber: nextSeq(), streamSid, dtmf: { track: "inbound_track", digit } }),
      sendRaw: (data) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data);
      },
      recording() {
        const join = (parts: Uint8Array[]) => {
          const out = new Uint8Array(parts.length * FRAME_BYTES);
          for (const [i, p] of parts.entries()) out.set(p, i * FRAME_BYTES);
          return out;
        };
        return { caller: join(recCaller), agent: join(recAgent) };
      },
      stop: () => {
        send({ event: "stop", sequenceNumber: nextSeq(), streamSid, stop: { accountSid, callSid } });
        ws.close(1000, "stop");
      },
      close: () => ws.close(1000),
    };
  });
}
