// Twilio's side of <Connect><Stream>, simulated: it opens the media WebSocket, sends the caller's
// audio as Twilio does (connected, start, 20 ms media frames, dtmf, stop) and plays back what the
// server sends at 8000 bytes/s, echoing marks as their audio finishes and honouring `clear`.
import { randomBytes } from "node:crypto";
import { ULAW_ENCODE } from "../media/ulaw.ts";

export interface MediaClientOptions {
  url: string;
  /** X-Twilio-Signature for the upgrade; omitted when undefined. */
  signature?: string;
  accountSid?: string;
  callSid?: string;
  customParameters?: Record<string, string>;
  /** Count audio as played the moment it arrives (unpaced load, quick tests). */
  instantPlayback?: boolean;
  /** Keep every received audio byte (for recordings); otherwise only counts are kept. */
  capture?: boolean;
}

export interface MediaClient {
  readonly streamSid: string;
  readonly received: { media: number; marks: number; clears: number };
  /** μ-law bytes received from the server. */
  readonly totalAudioBytes: number;
  /** Milliseconds of received audio that have played (what the caller heard). */
  readonly playedMs: number;
  readonly markEchoes: string[];
  /** Server messages other than media, in order. */
  readonly events: { event: string; [k: string]: unknown }[];
  /** Messages Twilio would reject (binary, not JSON, wrong event or streamSid). */
  readonly protocolErrors: number;
  readonly captured: Uint8Array[];
  readonly closed: Promise<{ code: number; reason: string }>;
  isOpen(): boolean;
  sendAudio(ulaw: Uint8Array, opts?: { paced?: boolean }): Promise<void>;
  sendSilence(ms: number, opts?: { paced?: boolean }): Promise<void>;
  sendSpeech(ms: number, opts?: { paced?: boolean }): Promise<void>;
  sendDtmf(digit: string): void;
  sendRaw(data: string | Uint8Array): void;
  stop(): void;
  close(): void;
}

const FRAME_BYTES = 160;
const TICK_MS = 20;

/** A loud 300 Hz tone: well above any speech detector's threshold. */
export function speechTone(ms: number): Uint8Array {
  const n = ms * 8;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ULAW_ENCODE[Math.round(12000 * Math.sin((2 * Math.PI * 300 * i) / 8000)) & 0xffff]!;
  return out;
}

type Queued = { bytes: number } | { mark: string };

export function connectMediaStream(opts: MediaClientOptions): Promise<MediaClient> {
  const streamSid = "MZ" + randomBytes(16).toString("hex");
  const accountSid = opts.accountSid ?? "AC" + "0".repeat(32);
  const callSid = opts.callSid ?? "CA" + randomBytes(16).toString("hex");
  const headers: Record<string, string> = opts.signature === undefined ? {} : { "X-Twilio-Signature": opts.signature };
  const ws = new WebSocket(opts.url, { headers } as unknown as string[]);

  let seq = 0;
  let chunk = 0;
  let sentMs = 0;
  let totalAudioBytes = 0;
  let playedBytes = 0;
  let protocolErrors = 0;
  const received = { media: 0, marks: 0, clears: 0 };
  const markEchoes: string[] = [];
  const events: MediaClient["events"] = [];
  const captured: Uint8Array[] = [];
  const queue: Queued[] = [];
  let lastTick = performance.now();
  let open = false;
  let opened = false;
  let onClosed: (v: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));

  const send = (msg: object) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };
  const nextSeq = () => String(++seq);
  const echo = (name: string) => {
    markEchoes.push(name);
    send({ event: "mark", sequenceNumber: nextSeq(), streamSid, mark: { name } });
  };

  /** Plays `budget` bytes of queued audio, echoing marks as the audio ahead of them finishes. */
  const play = (budget: number) => {
    while (queue.length) {
      const head = queue[0]!;
      if ("mark" in head) {
        queue.shift();
        echo(head.mark);
        continue;
      }
      if (budget <= 0) break;
      const take = Math.min(budget, head.bytes);
      head.bytes -= take;
      budget -= take;
      playedBytes += take;
      if (head.bytes === 0) queue.shift();
    }
  };

  const tick = setInterval(() => {
    const now = performance.now();
    play(Math.floor((now - lastTick) * 8));
    lastTick = now;
  }, TICK_MS);

  const onServerMessage = (data: unknown) => {
    if (typeof data !== "string") return void protocolErrors++;
    let msg: { event?: string; streamSid?: string; media?: { payload?: string }; mark?: { name?: string } };
    try {
      msg = JSON.parse(data);
    } catch {
      return void protocolErrors++;
    }
    if (msg.streamSid !== streamSid) return void protocolErrors++;
    if (msg.event === "media" && typeof msg.media?.payload === "string") {
      received.media++;
      const bytes = Buffer.from(msg.media.payload, "base64");
      totalAudioBytes += bytes.length;
      if (opts.capture) captured.push(new Uint8Array(bytes));
      if (opts.instantPlayback) playedBytes += bytes.length;
      else {
        if (queue.length === 0) lastTick = performance.now();
        queue.push({ bytes: bytes.length });
      }
    } else if (msg.event === "mark" && typeof msg.mark?.name === "string") {
      received.marks++;
      events.push(msg as MediaClient["events"][number]);
      if (opts.instantPlayback || queue.length === 0) echo(msg.mark.name);
      else queue.push({ mark: msg.mark.name });
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
      const frame = ulaw.subarray(at, at + FRAME_BYTES);
      chunk++;
      sentMs += frame.length / 8;
      send({
        event: "media",
        sequenceNumber: nextSeq(),
        streamSid,
        media: { track: "inbound", chunk: String(chunk), timestamp: String(Math.round(sentMs)), payload: Buffer.from(frame).toString("base64") },
      });
      if (o.paced) {
        const due = started + ((at + FRAME_BYTES) / 8);
        const wait = due - performance.now();
        if (wait > 0) await Bun.sleep(wait);
      }
    }
    if (!o.paced) await Bun.sleep(0);
  };

  return new Promise((resolve, reject) => {
    ws.onopen = () => {
      open = opened = true;
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
      onClosed({ code: e.code, reason: e.reason });
      if (!opened) reject(new Error(`media stream closed before opening (${e.code})`));
    };
    const client: MediaClient = {
      streamSid,
      received,
      get totalAudioBytes() {
        return totalAudioBytes;
      },
      get playedMs() {
        return playedBytes / 8;
      },
      markEchoes,
      events,
      get protocolErrors() {
        return protocolErrors;
      },
      captured,
      closed,
      isOpen: () => open && ws.readyState === WebSocket.OPEN,
      sendAudio,
      sendSilence: (ms, o) => sendAudio(new Uint8Array(ms * 8).fill(0xff), o),
      sendSpeech: (ms, o) => sendAudio(speechTone(ms), o),
      sendDtmf: (digit) => send({ event: "dtmf", sequenceNumber: nextSeq(), streamSid, dtmf: { track: "inbound_track", digit } }),
      sendRaw: (data) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data);
      },
      stop: () => {
        send({ event: "stop", sequenceNumber: nextSeq(), streamSid, stop: { accountSid, callSid } });
        ws.close(1000, "stop");
      },
      close: () => ws.close(1000),
    };
  });
}
