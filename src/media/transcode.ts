// src/media/ owns audio as numbers: G.711, the resampler, the PCM transcoders and DTMF tones. It imports
// nothing else of the server, so the hot path depends on no call, socket or store.
//
// The linear-PCM path: Twilio's 8 kHz μ-law ⇄ the model's 24 kHz PCM16LE, both as base64 text.
// Each transcoder owns its buffers and filter state for one call; a frame allocates nothing but the
// output string, and a buffer grows only when a larger frame than any before arrives.
import { createDownsampler, createUpsampler } from "./resample.ts";
import { ULAW_DECODE, ULAW_ENCODE } from "./ulaw.ts";

const FACTOR = 3;

function growable(bytes: number) {
  let buf = Buffer.alloc(bytes);
  return (need: number) => {
    if (need > buf.length) buf = Buffer.alloc(need * 2);
    return buf;
  };
}

/** Twilio media payload (μ-law 8 kHz) → `audio/pcm` 24 kHz append payload. */
export function createUlawToPcm24(): (payload: string) => string {
  const up = createUpsampler();
  const ulawBuf = growable(640);
  let pcm8 = new Int16Array(640);
  let out = Buffer.alloc(640 * FACTOR * 2);
  let pcm24 = new Int16Array(out.buffer, out.byteOffset, out.length / 2);
  return (payload) => {
    const ulaw = ulawBuf((payload.length * 3) >> 2);
    const n = ulaw.write(payload, "base64");
    if (n > pcm8.length) {
      pcm8 = new Int16Array(n * 2);
      out = Buffer.alloc(n * 2 * FACTOR * 2);
      pcm24 = new Int16Array(out.buffer, out.byteOffset, out.length / 2);
    }
    for (let i = 0; i < n; i++) pcm8[i] = ULAW_DECODE[ulaw[i]!]!;
    const m = up.process(pcm8, pcm24, n);
    return out.toString("base64", 0, m * 2);
  };
}

/** Twilio media payload (μ-law 8 kHz) → PCM16LE at the same 8 kHz, for a model told the rate (Gemini). */
export function createUlawToPcm8(): (payload: string) => string {
  const ulawBuf = growable(640);
  let out = Buffer.alloc(640 * 2);
  let pcm = new Int16Array(out.buffer, out.byteOffset, out.length / 2);
  return (payload) => {
    const ulaw = ulawBuf((payload.length * 3) >> 2);
    const n = ulaw.write(payload, "base64");
    if (n > pcm.length) {
      out = Buffer.alloc(n * 4);
      pcm = new Int16Array(out.buffer, out.byteOffset, out.length / 2);
    }
    for (let i = 0; i < n; i++) pcm[i] = ULAW_DECODE[ulaw[i]!]!;
    return out.toString("base64", 0, n * 2);
  };
}

/** Model delta (`audio/pcm` 24 kHz) → Twilio payload (μ-law 8 kHz); reports the μ-law byte count (= ms × 8). */
export function createPcm24ToUlaw(): (delta: string) => { payload: string; bytes: number } {
  const down = createDownsampler();
  let inBuf = Buffer.alloc(9600);
  let pcm24 = new Int16Array(inBuf.buffer, inBuf.byteOffset, inBuf.length / 2);
  const ulawBuf = growable(1600);
  let pcm8 = new Int16Array(1600);
  // A delta may end mid-sample; the odd byte waits for the next delta.
  let carry = -1;
  return (delta) => {
    const need = ((delta.length * 3) >> 2) + 1;
    if (need > inBuf.length) {
      inBuf = Buffer.alloc(need * 2);
      pcm24 = new Int16Array(inBuf.buffer, inBuf.byteOffset, inBuf.length / 2);
    }
    let n = 0;
    if (carry >= 0) inBuf[n++] = carry;
    n += inBuf.write(delta, n, "base64");
    carry = n & 1 ? inBuf[n - 1]! : -1;
    const samples = n >> 1;
    const outCount = Math.ceil(samples / FACTOR) + 1;
    if (outCount > pcm8.length) pcm8 = new Int16Array(outCount * 2);
    const m = down.process(pcm24, pcm8, samples);
    const ulaw = ulawBuf(m);
    for (let i = 0; i < m; i++) ulaw[i] = ULAW_ENCODE[pcm8[i]! & 0xffff]!;
    return { payload: ulaw.toString("base64", 0, m), bytes: m };
  };
}

/** μ-law bytes in a base64 payload, without decoding it: one byte per 1/8 ms of audio. */
export function base64Bytes(b64: string): number {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return ((b64.length * 3) >> 2) - pad;
}
