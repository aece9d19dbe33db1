// Per-frame cost of every hot-path step, each next to a naive baseline measured in the same run.

import { ConfigSchema } from "../src/config/schema.ts";
import { createMusicMeter, meterFrame } from "../src/gatekeepers/music.ts";
import { createDownsampler, createUpsampler } from "../src/media/resample.ts";
import { base64Bytes, createPcm24ToUlaw, createUlawToPcm24 } from "../src/media/transcode.ts";
import { ulawDecode, ulawEncode } from "../src/media/ulaw.ts";
import { createModelProtocol } from "../src/model/protocol.ts";
import { appendMessage, type ModelHandlers, readModelEvent } from "../src/model/realtime.ts";
import { markMessage, mediaMessage, readTwilioMessage, type TwilioHandlers } from "../src/twilio/media.ts";
import { compareNsPerOp, fmt } from "./stats.ts";

const SID = `MZ${"0123456789abcdef".repeat(2)}`;
const ulaw = Uint8Array.from({ length: 160 }, (_, i) => (i * 37) & 0xff);
const payload = Buffer.from(ulaw).toString("base64");
const twilioFrame = `{"event":"media","sequenceNumber":"42","streamSid":"${SID}","media":{"track":"inbound","chunk":"41","timestamp":"820","payload":"${payload}"}}`;
const deltaUlaw = Buffer.from(Uint8Array.from({ length: 800 }, (_, i) => (i * 13) & 0xff)).toString("base64");
const modelDelta = JSON.stringify({
  type: "response.output_audio.delta",
  event_id: "event_abc123",
  response_id: "resp_abc123",
  item_id: "item_abc123",
  output_index: 0,
  content_index: 0,
  delta: deltaUlaw,
});

/**
 * Reads the last character, which makes the engine flatten a lazily concatenated string: the cost a
 * socket send pays anyway, so both sides of each comparison include it.
 */
const flat = (s: string) => s.charCodeAt(s.length - 1);

// ── naive baselines: what a typical bridge does per message ───────────────────────────────────
function naiveInbound(text: string): string {
  const msg = JSON.parse(text);
  const audio = Buffer.from(msg.media.payload, "base64");
  return JSON.stringify({ type: "input_audio_buffer.append", audio: audio.toString("base64") });
}
function naiveOutbound(text: string): [string, string] {
  const ev = JSON.parse(text);
  const audio = Buffer.from(ev.delta, "base64");
  return [
    JSON.stringify({ event: "media", streamSid: SID, media: { payload: audio.toString("base64") } }),
    JSON.stringify({ event: "mark", streamSid: SID, mark: { name: `${ev.item_id}:${audio.length / 8}` } }),
  ];
}
function naiveDecode(src: Uint8Array): Int16Array {
  const out = new Int16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const u = ~src[i]! & 0xff;
    const mag = ((((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84;
    out[i] = u & 0x80 ? -mag : mag;
  }
  return out;
}
function naiveEncode(src: Int16Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    let s = src[i]!;
    const sign = s < 0 ? 0x80 : 0;
    s = Math.min(Math.abs(s), 32635) + 0x84;
    let exp = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exp > 0; exp--, mask >>= 1);
    out[i] = ~(sign | (exp << 4) | ((s >> (exp + 3)) & 0x0f)) & 0xff;
  }
  return out;
}
/** Stateless per-chunk resampling: linear interpolation up, 3-sample average down, new arrays each time. */
function naiveUp(src: Int16Array): Int16Array {
  const out = new Int16Array(src.length * 3);
  for (let i = 0; i < src.length; i++) {
    const a = src[i]!;
    const b = src[i + 1] ?? a;
    out[3 * i] = a;
    out[3 * i + 1] = (2 * a + b) / 3;
    out[3 * i + 2] = (a + 2 * b) / 3;
  }
  return out;
}
function naiveDown(src: Int16Array): Int16Array {
  const out = new Int16Array(Math.floor(src.length / 3));
  for (let i = 0; i < out.length; i++) out[i] = (src[3 * i]! + src[3 * i + 1]! + src[3 * i + 2]!) / 3;
  return out;
}
function naivePcmIn(b64: string): string {
  const pcm = naiveUp(naiveDecode(Buffer.from(b64, "base64")));
  return Buffer.from(pcm.buffer).toString("base64");
}
function naivePcmOut(b64: string): string {
  const bytes = Buffer.from(b64, "base64");
  const pcm = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~1)));
  return Buffer.from(naiveEncode(naiveDown(pcm))).toString("base64");
}

// ── Gemini Live: the same frames on its protocol, in and out ───────────────────────────────────
/** 100 ms of 24 kHz PCM as Google sends it: indented JSON in a binary frame. */
const geminiDelta = new TextEncoder().encode(
  JSON.stringify(
    {
      serverContent: {
        modelTurn: {
          parts: [
            {
              inlineData: {
                mimeType: "audio/pcm;rate=24000",
                data: Buffer.from(
                  new Int16Array(2400).map((_, i) => Math.round(8000 * Math.sin(i / 7))).buffer,
                ).toString("base64"),
              },
            },
          ],
        },
      },
    },
    null,
    2,
  ),
);
function naiveGeminiIn(text: string): string {
  const msg = JSON.parse(text);
  const pcm = naiveDecode(Buffer.from(msg.media.payload, "base64"));
  const data = Buffer.from(pcm.buffer).toString("base64");
  return JSON.stringify({ realtimeInput: { audio: { data, mimeType: "audio/pcm;rate=8000" } } });
}
function naiveGeminiOut(bytes: Uint8Array): [string, string] {
  const msg = JSON.parse(new TextDecoder().decode(bytes));
  const payload = naivePcmOut(msg.serverContent.modelTurn.parts[0].inlineData.data);
  return [
    JSON.stringify({ event: "media", streamSid: SID, media: { payload } }),
    JSON.stringify({ event: "mark", streamSid: SID, mark: { name: `g:${payload.length}` } }),
  ];
}

/** The bridge's Gemini path per frame: its protocol's append, its reader, and the resampler to Twilio's μ-law. */
function geminiReaders() {
  const config = ConfigSchema.parse({});
  const speech = { voice: "Kore", language: null };
  const protocol = createModelProtocol(config, { provider: "google", model: "gemini", speech });
  const toUlaw = createPcm24ToUlaw();
  let sink = 0;
  let mark = 0;
  const ignore = () => {};
  const twilio: TwilioHandlers = {
    media(payload, timestampMs) {
      sink += flat(protocol.appendFrame(payload)) + timestampMs! + base64Bytes(payload);
    },
    mark: ignore,
    start: ignore,
    dtmf: ignore,
    stop: ignore,
  };
  const model: ModelHandlers = {
    audioDelta(_responseId, _itemId, delta) {
      const out = toUlaw(delta);
      sink += flat(mediaMessage(SID, out.payload)) + flat(markMessage(SID, `g0.${++mark}`)) + out.bytes;
    },
    event: ignore,
    malformed: ignore,
  };
  return {
    inbound: () => {
      readTwilioMessage(twilioFrame, twilio);
      return sink;
    },
    outbound: () => {
      protocol.read(geminiDelta, model);
      return sink;
    },
  };
}

export interface FrameRow {
  step: string;
  ns: number;
  baselineNs: number;
}

/** The bridge's own entry points, the codecs' readers, with handlers that do what the bridge does per frame. */
function passthroughReaders() {
  let sink = 0;
  let mark = 0;
  const ignore = () => {};
  const twilio: TwilioHandlers = {
    media(payload, timestampMs) {
      sink += flat(appendMessage(payload)) + timestampMs! + base64Bytes(payload);
    },
    mark: ignore,
    start: ignore,
    dtmf: ignore,
    stop: ignore,
  };
  const model: ModelHandlers = {
    audioDelta(_responseId, _itemId, delta) {
      sink += flat(mediaMessage(SID, delta)) + flat(markMessage(SID, `g0.${++mark}`)) + base64Bytes(delta);
    },
    event: ignore,
    malformed: ignore,
  };
  return {
    media: twilio.media,
    inbound: () => {
      readTwilioMessage(twilioFrame, twilio);
      return sink;
    },
    outbound: () => {
      readModelEvent(modelDelta, model);
      return sink;
    },
  };
}

/** What the hold detector adds to each caller frame: the meter reads the payload the passthrough forwards. */
export function runHoldMeterBench(): {
  passthroughNs: number;
  withMeterNs: number;
  heapGrowthBytes: number;
  frames: number;
} {
  const readers = passthroughReaders();
  const meter = createMusicMeter();
  const withMeter: TwilioHandlers = {
    media(p, timestampMs) {
      meterFrame(meter, p);
      return readers.media(p, timestampMs);
    },
    mark: () => {},
    start: () => {},
    dtmf: () => {},
    stop: () => {},
  };
  const { ns, baselineNs } = compareNsPerOp(() => readTwilioMessage(twilioFrame, withMeter), readers.inbound);
  const frames = 1_000_000;
  Bun.gc(true);
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < frames; i++) meterFrame(meter, payload);
  Bun.gc(true);
  return {
    passthroughNs: baselineNs,
    withMeterNs: ns,
    heapGrowthBytes: process.memoryUsage().heapUsed - before,
    frames,
  };
}

export function holdMeterTable(r: ReturnType<typeof runHoldMeterBench>): string {
  return [
    "| caller frame | ns / frame | ÷ passthrough |",
    "|---|---:|---:|",
    `| Twilio media → model append (passthrough) | ${fmt(r.passthroughNs, 0)} | 1.0× |`,
    `| the same, and the hold-music meter reading the payload in place | ${fmt(r.withMeterNs, 0)} | ${fmt(r.withMeterNs / r.passthroughNs, 2)}× |`,
    "",
    `Heap growth after ${r.frames.toLocaleString("en")} frames through the meter alone (after a full GC): ${(r.heapGrowthBytes / 1024).toFixed(1)} KB.`,
  ].join("\n");
}

export function runFrameBench(): {
  rows: FrameRow[];
  heapGrowthBytes: number;
  geminiHeapGrowthBytes: number;
  frames: number;
} {
  const readers = passthroughReaders();
  const gemini = geminiReaders();
  const pcm8 = new Int16Array(160);
  ulawDecode(ulaw, pcm8);
  const pcm24 = new Int16Array(480);
  const back = new Uint8Array(160);
  const up = createUpsampler();
  const down = createDownsampler();
  const toPcm = createUlawToPcm24();
  const toUlaw = createPcm24ToUlaw();
  const pcm24Delta = Buffer.from(new Int16Array(480).map((_, i) => Math.round(8000 * Math.sin(i / 7))).buffer).toString(
    "base64",
  );

  const row = (
    step: string,
    ours: (i: number) => unknown,
    baseline: (i: number) => unknown,
    iterations?: number,
  ): FrameRow => ({
    step,
    ...compareNsPerOp(ours, baseline, iterations),
  });
  const rows: FrameRow[] = [
    row("Twilio media → model append (passthrough, with the gap check)", readers.inbound, () =>
      flat(naiveInbound(twilioFrame)),
    ),
    row("model delta → Twilio media + mark (passthrough, one 100 ms delta)", readers.outbound, () =>
      naiveOutbound(modelDelta).map(flat),
    ),
    row(
      "μ-law decode, 160 samples",
      () => ulawDecode(ulaw, pcm8),
      () => naiveDecode(ulaw),
    ),
    row(
      "μ-law encode, 160 samples",
      () => ulawEncode(pcm8, back),
      () => naiveEncode(pcm8),
    ),
    row(
      "resample 8k → 24k, 20 ms",
      () => up.process(pcm8, pcm24),
      () => naiveUp(pcm8),
      50_000,
    ),
    row(
      "resample 24k → 8k, 20 ms",
      () => down.process(pcm24, pcm8),
      () => naiveDown(pcm24),
      50_000,
    ),
    row(
      "pcm path in: base64 μ-law → base64 PCM 24k",
      () => toPcm(payload),
      () => naivePcmIn(payload),
      50_000,
    ),
    row(
      "pcm path out: base64 PCM 24k → base64 μ-law",
      () => toUlaw(pcm24Delta),
      () => naivePcmOut(pcm24Delta),
      50_000,
    ),
    row("Gemini: Twilio media → realtimeInput (μ-law → PCM16 8k, with the gap check)", gemini.inbound, () =>
      flat(naiveGeminiIn(twilioFrame)),
    ),
    row(
      "Gemini: binary model turn → Twilio media + mark (24k PCM → μ-law, one 100 ms chunk)",
      gemini.outbound,
      () => naiveGeminiOut(geminiDelta).map(flat),
      50_000,
    ),
  ];

  // Heap growth across a million frames of the pcm path: only the output strings are allocated,
  // and they die young, so the retained heap must not grow.
  const frames = 1_000_000;
  Bun.gc(true);
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < frames; i++) {
    toPcm(payload);
    up.process(pcm8, pcm24);
    down.process(pcm24, pcm8);
  }
  Bun.gc(true);
  const heapGrowthBytes = process.memoryUsage().heapUsed - before;
  // The Gemini path, both ways, a frame in for each 20 ms and a 100 ms chunk out for every five.
  const geminiBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < frames; i++) {
    gemini.inbound();
    if (i % 5 === 0) gemini.outbound();
  }
  Bun.gc(true);
  const geminiHeapGrowthBytes = process.memoryUsage().heapUsed - geminiBefore;
  return { rows, heapGrowthBytes, geminiHeapGrowthBytes, frames };
}

export function frameTable(r: ReturnType<typeof runFrameBench>): string {
  const lines = ["| step | ns / frame | naive baseline ns | baseline ÷ ours |", "|---|---:|---:|---:|"];
  for (const row of r.rows)
    lines.push(`| ${row.step} | ${fmt(row.ns, 0)} | ${fmt(row.baselineNs, 0)} | ${fmt(row.baselineNs / row.ns, 1)}× |`);
  lines.push(
    "",
    `Heap growth after ${r.frames.toLocaleString("en")} frames of the pcm path (after a full GC): ${(r.heapGrowthBytes / 1024).toFixed(1)} KB.`,
    `Heap growth after ${r.frames.toLocaleString("en")} frames of the Gemini path in, and a 100 ms chunk out per five (after a full GC): ${(r.geminiHeapGrowthBytes / 1024).toFixed(1)} KB.`,
  );
  return lines.join("\n");
}

if (import.meta.main) console.log(frameTable(runFrameBench()));
