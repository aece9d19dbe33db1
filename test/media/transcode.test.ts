import { describe, expect, test } from "bun:test";
import { base64Bytes, createPcm24ToUlaw, createUlawToPcm24 } from "../../src/media/transcode.ts";
import { ULAW_DECODE, ULAW_ENCODE } from "../../src/media/ulaw.ts";

const tone = (hz: number, rate: number, n: number, amp = 8000) =>
  Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate)));
const b64 = (bytes: Uint8Array | Int16Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");

describe("linear PCM path", () => {
  test("a 20 ms μ-law frame becomes 60 ms-equivalent of 24 kHz PCM16 (480 samples)", () => {
    const toPcm = createUlawToPcm24();
    const ulaw = Uint8Array.from(tone(1000, 8000, 160), (s) => ULAW_ENCODE[s & 0xffff]!);
    const out = Buffer.from(toPcm(b64(ulaw)), "base64");
    expect(out.length).toBe(960);
  });

  test("model PCM at 24 kHz comes back as μ-law at 8 kHz, one byte per 1/8 ms, across odd-sized deltas", () => {
    const toUlaw = createPcm24ToUlaw();
    const pcm = tone(1000, 24000, 2400); // 100 ms
    const bytes = Buffer.from(pcm.buffer);
    let total = 0;
    const decoded: number[] = [];
    // Split at odd byte offsets: a delta may end in the middle of a sample.
    for (const [a, b] of [
      [0, 1001],
      [1001, 3333],
      [3333, 4800],
    ] as const) {
      const { payload, bytes: n } = toUlaw(bytes.subarray(a, b).toString("base64"));
      total += n;
      for (const u of Buffer.from(payload, "base64")) decoded.push(ULAW_DECODE[u]!);
    }
    expect(total).toBe(800);
    // After the filter delay the tone is there at about its level (μ-law and filter error allowed).
    const rms = Math.sqrt(decoded.slice(100).reduce((s, v) => s + v * v, 0) / (decoded.length - 100));
    expect(rms).toBeGreaterThan((8000 / Math.SQRT2) * 0.9);
    expect(rms).toBeLessThan((8000 / Math.SQRT2) * 1.1);
  });

  test("base64Bytes counts decoded bytes without decoding", () => {
    for (const n of [0, 1, 2, 3, 160, 161, 162]) expect(base64Bytes(Buffer.alloc(n).toString("base64"))).toBe(n);
  });
});
