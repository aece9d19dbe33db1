// G.711 μ-law codec, table driven. Bit-exact with the ITU-T G.191 / Sun reference that Python's
// audioop implements, so captured calls can be checked against the usual tools.
//
// The reference encoder works on 14-bit samples: it drops the two low bits with an arithmetic shift,
// which floors, so a negative sample is coded as if its magnitude were rounded up to a multiple of 4
// (−1 → 0x7E, where a 16-bit truncating encoder gives 0x7F). Positive samples code the same either way.

const BIAS = 0x84;
const BIAS_14 = BIAS >> 2;

function decodeByte(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

function buildDecodeTable(): Int16Array {
  const table = new Int16Array(256);
  for (let b = 0; b < 256; b++) table[b] = decodeByte(b);
  return table;
}

/**
 * The code depends only on k = |sample >> 2|, and each code covers one run of k, so the table is
 * filled run by run: encoding all 65 536 samples one at a time was a visible share of every cold start.
 */
function buildEncodeTable(): Uint8Array {
  // Indexed by the sample's 16-bit pattern: samples 0…32767 first, then −32768…−1.
  const table = new Uint8Array(65536);
  for (let segment = 0; segment < 8; segment++) {
    for (let step = 0; step < 16; step++) {
      const code = (segment << 4) | step;
      // The biased magnitude (k + BIAS_14) of this code has its top bit at `segment + 5`, `step` below it.
      const first = Math.max(((16 + step) << (segment + 1)) - BIAS_14, 0);
      // Magnitudes past 8159 clip into the top code, down to −32768 (k = 8192).
      const last = code === 0x7f ? 8192 : ((17 + step) << (segment + 1)) - 1 - BIAS_14;
      // k covers samples 4k…4k+3 and, from k = 1, −4k…−4k+3 (the shift floors negatives).
      table.fill(code ^ 0xff, first * 4, Math.min(last * 4 + 4, 32768));
      const low = Math.max(-4 * last, -32768);
      const high = Math.min(-4 * first + 3, -1);
      if (low <= high) table.fill(code ^ 0x7f, low + 65536, high + 65537);
    }
  }
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
