import { describe, expect, test } from "bun:test";
import { ULAW_DECODE, ULAW_ENCODE, ulawDecode, ulawEncode } from "../../src/media/ulaw.ts";

// sha256 of Python 3.11 `audioop.lin2ulaw(all 65 536 samples in 16-bit-pattern order, 2)` and of
// `audioop.ulaw2lin(bytes(range(256)), 2)` (little-endian int16), i.e. the ITU-T G.191 reference.
const AUDIOOP_ENCODE_SHA256 = "617fa4850d68d3906597e949f7625fb2fc46db479e29707f33159b3d131721cb";
const AUDIOOP_DECODE_SHA256 = "3dab54339e520bb2c924826e3b72a917a2b612e9fd12fc867500f1d983a75827";

function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

function littleEndian(samples: Int16Array): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (const [i, s] of samples.entries()) view.setInt16(i * 2, s, true);
  return bytes;
}

// Independent transcription of the G.191 reference (g711.c), kept deliberately close to the C:
// segment found by searching the segment end table rather than by counting bits.
const SEG_UEND = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];

function referenceEncode(sample: number): number {
  let pcm = sample >> 2;
  let mask: number;
  if (pcm < 0) {
    pcm = -pcm;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  if (pcm > 8159) pcm = 8159;
  pcm += 0x84 >> 2;
  let seg = 0;
  while (seg < 8 && pcm > SEG_UEND[seg]!) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((pcm >> (seg + 1)) & 0x0f)) ^ mask;
}

function referenceDecode(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

describe("μ-law tables", () => {
  test("match audioop byte for byte", () => {
    expect(ULAW_ENCODE.length).toBe(65536);
    expect(ULAW_DECODE.length).toBe(256);
    expect(sha256(ULAW_ENCODE)).toBe(AUDIOOP_ENCODE_SHA256);
    expect(sha256(littleEndian(ULAW_DECODE))).toBe(AUDIOOP_DECODE_SHA256);
  });

  test("match the reference algorithm for every code and every sample", () => {
    const decodeMismatches: number[] = [];
    for (let b = 0; b < 256; b++) if (ULAW_DECODE[b] !== referenceDecode(b)) decodeMismatches.push(b);
    expect(decodeMismatches).toEqual([]);

    const encodeMismatches: number[] = [];
    for (let s = -32768; s <= 32767; s++) if (ULAW_ENCODE[s & 0xffff] !== referenceEncode(s)) encodeMismatches.push(s);
    expect(encodeMismatches).toEqual([]);
  });

  test("known pairs from the G.711 μ-law table", () => {
    const pairs: [number, number, number][] = [
      [0, 0xff, 0],
      [1000, 0xce, 988],
      [-1000, 0x4e, -988],
      [32767, 0x80, 32124],
      [-32768, 0x00, -32124],
    ];
    for (const [sample, byte, decoded] of pairs) {
      expect(ULAW_ENCODE[sample & 0xffff]).toBe(byte);
      expect(ULAW_DECODE[byte]).toBe(decoded);
    }
    expect(ULAW_DECODE[0xff]).toBe(0);
    expect(ULAW_DECODE[0x7f]).toBe(0);
  });

  test("−1 encodes as audioop does (0x7E), not 0x7F as the 16-bit truncating form in §9.2", () => {
    expect(ULAW_ENCODE[-1 & 0xffff]).toBe(0x7e);
    expect(ULAW_DECODE[0x7e]).toBe(-8);
  });

  test("every code survives decode → encode, except 0x7F (negative zero) which becomes 0xFF", () => {
    for (let b = 0; b < 256; b++) {
      expect(ULAW_ENCODE[ULAW_DECODE[b]! & 0xffff]).toBe(b === 0x7f ? 0xff : b);
    }
  });
});

describe("ulawDecode / ulawEncode", () => {
  test("convert whole buffers through the tables", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const pcm = new Int16Array(256);
    expect(ulawDecode(bytes, pcm)).toBe(256);
    expect([...pcm]).toEqual([...ULAW_DECODE]);

    const back = new Uint8Array(256);
    expect(ulawEncode(pcm, back)).toBe(256);
    for (let b = 0; b < 256; b++) expect(back[b]).toBe(b === 0x7f ? 0xff : b);
  });

  test("write only as many values as the shorter buffer holds", () => {
    const pcm = new Int16Array([1000, -1000, 0, 32767]);
    const short = new Uint8Array(2);
    expect(ulawEncode(pcm, short)).toBe(2);
    expect([...short]).toEqual([0xce, 0x4e]);

    const long = new Uint8Array(6).fill(0x55);
    expect(ulawEncode(pcm, long)).toBe(4);
    expect([...long]).toEqual([0xce, 0x4e, 0xff, 0x80, 0x55, 0x55]);

    const out = new Int16Array(3).fill(7);
    expect(ulawDecode(new Uint8Array([0x80, 0x00]), out)).toBe(2);
    expect([...out]).toEqual([32124, -32124, 7]);
  });

  test("empty input writes nothing", () => {
    expect(ulawDecode(new Uint8Array(0), new Int16Array(4))).toBe(0);
    expect(ulawEncode(new Int16Array(4), new Uint8Array(0))).toBe(0);
  });
});
