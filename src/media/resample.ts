// Streaming polyphase FIR resamplers between 8 kHz (Twilio μ-law) and 24 kHz (OpenAI audio/pcm).
//
// Both directions share one 48-tap Kaiser-windowed-sinc low-pass running at 24 kHz (16 taps per
// phase). Its −6 dB point sits at 4.15 kHz, a little above the 4 kHz Nyquist of the low rate, on
// purpose: a filter this short cannot be flat to 3.4 kHz and also stop everything above 4 kHz, so the
// transition is centred on 4 kHz and kept narrow instead. Each direction is then flat within 0.07 dB
// up to 3.4 kHz, −3.7 dB at 4 kHz, −20 dB at 4.6 kHz and ≥ 54 dB down from 5 kHz on. Content between
// 4 and 5 kHz therefore leaks (as images going up, as aliases landing at 3–4 kHz going down); in an
// up→down round trip that leak folds back onto the band edge and keeps the round trip flat.
//
// Delays: each filter is linear phase with (TAPS − 1) / 2 = 23.5 samples at 24 kHz; an up→down
// round trip delays by exactly 15 samples at 8 kHz.

export interface Resampler {
  /**
   * Resamples `input` into `output` and returns the number of samples written. Filter history and
   * (for the downsampler) the decimation phase carry over, so any split of a stream into frames
   * gives the same samples. `output` must hold 3 × length (up) or ⌈length / 3⌉ (down). `length`
   * (default: all of `input`) lets a caller reuse one large buffer without slicing a view per frame.
   */
  process(input: Int16Array, output: Int16Array, length?: number): number;
  /** Forgets all history, as if newly created. */
  reset(): void;
}

const FACTOR = 3;
const TAPS_PER_PHASE = 16;
const TAPS = FACTOR * TAPS_PER_PHASE;
const HIGH_RATE_HZ = 24000;
const CUTOFF_HZ = 4150;
const KAISER_BETA = 5;

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; term > sum * 1e-16; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

/** Linear-phase low-pass with unity DC gain; `cutoff` is in cycles per sample. */
function kaiserLowPass(taps: number, cutoff: number, beta: number): Float64Array {
  const h = new Float64Array(taps);
  const centre = (taps - 1) / 2;
  const norm = besselI0(beta);
  let sum = 0;
  for (let n = 0; n < taps; n++) {
    const t = n - centre;
    const x = 2 * Math.PI * cutoff * t;
    const sinc = t === 0 ? 1 : Math.sin(x) / x;
    const r = t / centre;
    const v = 2 * cutoff * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / norm);
    h[n] = v;
    sum += v;
  }
  for (let n = 0; n < taps; n++) h[n] = h[n]! / sum;
  return h;
}

/**
 * Upsampler taps in prototype order (phase p of output 3m + p uses taps p, p + 3, …), scaled so each
 * phase sums to exactly 1: a constant input then comes out constant, with no 8 kHz ripple.
 */
function upsamplerTaps(prototype: Float64Array): Float64Array {
  const taps = new Float64Array(prototype.length);
  for (let p = 0; p < FACTOR; p++) {
    let sum = 0;
    for (let t = p; t < prototype.length; t += FACTOR) sum += prototype[t]!;
    for (let t = p; t < prototype.length; t += FACTOR) taps[t] = prototype[t]! / sum;
  }
  return taps;
}

const PROTOTYPE = kaiserLowPass(TAPS, CUTOFF_HZ / HIGH_RATE_HZ, KAISER_BETA);
const UP_TAPS = upsamplerTaps(PROTOTYPE);
const DOWN_TAPS = PROTOTYPE;

function toInt16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : Math.max(r, -32768);
}

/** 8 kHz → 24 kHz; writes exactly 3 samples per input sample. */
export function createUpsampler(): Resampler {
  // Mirrored ring: each sample is stored at pos and pos + TAPS_PER_PHASE, so the newest
  // TAPS_PER_PHASE samples are always contiguous (newest first) at history[pos…] without wrapping.
  const history = new Float64Array(2 * TAPS_PER_PHASE);
  let pos = 0;

  return {
    process(input, output, length = input.length) {
      if (output.length < FACTOR * length) {
        throw new RangeError(`upsampler output holds ${output.length}, needs ${FACTOR * length}`);
      }
      let o = 0;
      for (let i = 0; i < length; i++) {
        pos = pos === 0 ? TAPS_PER_PHASE - 1 : pos - 1;
        const x = input[i]!;
        history[pos] = x;
        history[pos + TAPS_PER_PHASE] = x;
        // All three phases in one pass, so each history sample is loaded once.
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        for (let j = pos, t = 0; t < TAPS; j++, t += FACTOR) {
          const v = history[j]!;
          a0 += UP_TAPS[t]! * v;
          a1 += UP_TAPS[t + 1]! * v;
          a2 += UP_TAPS[t + 2]! * v;
        }
        output[o] = toInt16(a0);
        output[o + 1] = toInt16(a1);
        output[o + 2] = toInt16(a2);
        o += FACTOR;
      }
      return o;
    },
    reset() {
      history.fill(0);
      pos = 0;
    },
  };
}

/** 24 kHz → 8 kHz with an anti-aliasing low-pass; one output per 3 inputs, counted across calls. */
export function createDownsampler(): Resampler {
  // Same mirrored ring as the upsampler, over the full prototype length.
  const history = new Float64Array(2 * TAPS);
  const half = TAPS / 2;
  let pos = 0;
  // Inputs consumed since the last output (0…2).
  let pending = 0;

  return {
    process(input, output, length = input.length) {
      const count = Math.floor((pending + length) / FACTOR);
      if (output.length < count) {
        throw new RangeError(`downsampler output holds ${output.length}, needs ${count}`);
      }
      let o = 0;
      for (let i = 0; i < length; i++) {
        pos = pos === 0 ? TAPS - 1 : pos - 1;
        const x = input[i]!;
        history[pos] = x;
        history[pos + TAPS] = x;
        if (++pending < FACTOR) continue;
        pending = 0;
        // The filter is symmetric: add the mirrored samples first and halve the multiplies. Two
        // accumulators (half is even) break the dependency chain of a single running sum.
        let a0 = 0;
        let a1 = 0;
        const last = pos + TAPS - 1;
        for (let j = 0; j < half; j += 2) {
          a0 += DOWN_TAPS[j]! * (history[pos + j]! + history[last - j]!);
          a1 += DOWN_TAPS[j + 1]! * (history[pos + j + 1]! + history[last - j - 1]!);
        }
        output[o++] = toInt16(a0 + a1);
      }
      return o;
    },
    reset() {
      history.fill(0);
      pos = 0;
      pending = 0;
    },
  };
}
