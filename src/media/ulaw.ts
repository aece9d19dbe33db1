// G.711 μ-law codec, table driven. Bit-exact with the ITU-T G.191 / Sun reference that Python's
// audioop implements, so captured calls can be checked against the usual tools.
//
// The reference encoder works on 14-bit samples: it drops the two low bits with an arithmetic shift,
// which floors, so a negative sample is coded as if its magnitude were rounded up to a multiple of 4
// (−1 → 0x7E, where a 16-bit truncating encoder gives 0x7F). Positive samples code the same either way.

const BIAS = 0x84;
const BIAS_14 = BIAS >> 2;
const CLIP_14 = 8159;

function decodeByte(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

function encodeSample(sample: number): number {
  let v = sample >> 2;
  let mask = 0xff;
  if (v < 0) {
    v = -v;
    mask = 0x7f;
  }
  v = Math.min(v, CLIP_14) + BIAS_14;
  // Past the last segment (only a clipped full-scale input) the reference returns the top code.
  if (v > 0x1fff) return 0x7f ^ mask;
  // v is 33…0x1fff, so its top set bit is bit 5…12: the segment (0…7) is that index minus 5.
  const segment = 26 - Math.clz32(v);
  return ((segment << 4) | ((v >> (segment + 1)) & 0x0f)) ^ mask;
}

function buildDecodeTable(): Int16Array {
  const table = new Int16Array(256);
  for (let b = 0; b < 256; b++) table[b] = decodeByte(b);
  return table;
}

function buildEncodeTable(): Uint8Array {
  const table = new Uint8Array(65536);
  // Index is the sample's 16-bit pattern; `<< 16 >> 16` sign-extends it back to the sample.
  for (let u = 0; u < 65536; u++) table[u] = encodeSample((u << 16) >> 16);
  return table;
}

/** μ-law byte → linear PCM16 sample. */
export const ULAW_DECODE: Int16Array = buildDecodeTable();

/** Linear PCM16 sample → μ-law byte, indexed by `sample & 0xffff`. */
export const ULAW_ENCODE: Uint8Array = buildEncodeTable();

/** Decodes `src` into `dst`; returns the number of samples written (the shorter length). */
export function ulawDecode(src: Uint8Array, dst: Int16Array): number {
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) dst[i] = ULAW_DECODE[src[i]!]!;
  return n;
}

/** Encodes `src` into `dst`; returns the number of bytes written (the shorter length). */
export function ulawEncode(src: Int16Array, dst: Uint8Array): number {
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) dst[i] = ULAW_ENCODE[src[i]! & 0xffff]!;
  return n;
}
