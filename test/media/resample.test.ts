import { describe, expect, test } from "bun:test";
import { createDownsampler, createUpsampler, type Resampler } from "../../src/media/resample.ts";

// Both filters are 48-tap linear phase (23.5 samples of delay at 24 kHz each, 47 together); the
// downsampler keeps every third sample starting with the third, so up → down delays by
// (47 − 2) / 3 = 15 samples at 8 kHz, and the downsampler alone by (23.5 − 2) / 3 samples.
const ROUND_TRIP_DELAY = 15;
const FILTER_DELAY_24K = 23.5;
const DOWN_PHASE = 2;
// Generous warm-up: long enough for the filters to fill and for a tone's onset to die away.
const SKIP = 64;
const AMPLITUDE = 16000;

function tone(freq: number, rate: number, length: number, delay = 0): Int16Array {
  return Int16Array.from({ length }, (_, n) =>
    Math.round(AMPLITUDE * Math.sin((2 * Math.PI * freq * (n - delay)) / rate)),
  );
}

/** Linear chirp from f0 to f1 Hz over the whole signal. */
function chirp(f0: number, f1: number, rate: number, length: number, delay = 0): Int16Array {
  const k = ((f1 - f0) * rate) / length;
  return Int16Array.from({ length }, (_, n) => {
    const t = (n - delay) / rate;
    return Math.round(AMPLITUDE * Math.sin(2 * Math.PI * (f0 * t + (k * t * t) / 2)));
  });
}

/** Deterministic white noise (LCG), full int16 range. */
function noise(length: number, seed = 1): Int16Array {
  let s = seed;
  return Int16Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 16) - 32768;
  });
}

/** SNR in dB of `actual` against `expected` over [from, to). */
function snrDb(expected: ArrayLike<number>, actual: ArrayLike<number>, from: number, to: number): number {
  let signal = 0;
  let error = 0;
  for (let i = from; i < to; i++) {
    const e = expected[i]!;
    const d = actual[i]! - e;
    signal += e * e;
    error += d * d;
  }
  return 10 * Math.log10(signal / error);
}

function rms(samples: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / (to - from));
}

function upsample(input: Int16Array): Int16Array {
  const out = new Int16Array(input.length * 3);
  createUpsampler().process(input, out);
  return out;
}

function downsample(input: Int16Array): Int16Array {
  const out = new Int16Array(Math.ceil(input.length / 3));
  const n = createDownsampler().process(input, out);
  return out.subarray(0, n);
}

/** Feeds `input` in frames of the given sizes (cycled) and concatenates what comes out. */
function processInFrames(resampler: Resampler, input: Int16Array, sizes: number[], maxRatio: number): Int16Array {
  const out = new Int16Array(Math.ceil(input.length * maxRatio) + 3);
  let i = 0;
  let o = 0;
  for (let k = 0; i < input.length; k++) {
    const size = Math.min(sizes[k % sizes.length]!, input.length - i);
    o += resampler.process(input.subarray(i, i + size), out.subarray(o));
    i += size;
  }
  return out.subarray(0, o);
}

function randomSizes(count: number, max: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % (max + 1);
  });
}

describe("upsample → downsample round trip", () => {
  test("an impulse comes back as a peak exactly ROUND_TRIP_DELAY samples later", () => {
    const impulse = new Int16Array(64);
    impulse[0] = 10000;
    const out = downsample(upsample(impulse));
    let peak = 0;
    for (let i = 1; i < out.length; i++) if (Math.abs(out[i]!) > Math.abs(out[peak]!)) peak = i;
    expect(peak).toBe(ROUND_TRIP_DELAY);
  });

  for (const freq of [300, 1000, 2000, 3000, 3400]) {
    test(`${freq} Hz tone: SNR ≥ 40 dB`, () => {
      const input = tone(freq, 8000, 4000);
      const expected = tone(freq, 8000, 4000, ROUND_TRIP_DELAY);
      const out = downsample(upsample(input));
      expect(snrDb(expected, out, SKIP, out.length)).toBeGreaterThanOrEqual(40);
    });
  }

  test("300 → 3400 Hz sweep: SNR ≥ 40 dB", () => {
    const input = chirp(300, 3400, 8000, 8000);
    const expected = chirp(300, 3400, 8000, 8000, ROUND_TRIP_DELAY);
    const out = downsample(upsample(input));
    expect(snrDb(expected, out, SKIP, out.length)).toBeGreaterThanOrEqual(40);
  });
});

describe("createUpsampler", () => {
  test("writes three samples per input sample", () => {
    const up = createUpsampler();
    const out = new Int16Array(480);
    expect(up.process(new Int16Array(160), out)).toBe(480);
    expect(up.process(new Int16Array(1), out)).toBe(3);
    expect(up.process(new Int16Array(0), out)).toBe(0);
  });

  test("rejects an output buffer that is too small", () => {
    expect(() => createUpsampler().process(new Int16Array(160), new Int16Array(479))).toThrow(RangeError);
  });

  for (const freq of [300, 1000, 2000, 3000]) {
    test(`${freq} Hz tone matches the ideal 24 kHz tone, images included: SNR ≥ 40 dB`, () => {
      const out = upsample(tone(freq, 8000, 2000));
      const expected = tone(freq, 24000, out.length, FILTER_DELAY_24K);
      expect(snrDb(expected, out, 3 * SKIP, out.length)).toBeGreaterThanOrEqual(40);
    });
  }

  test("a constant stays exactly constant on every phase", () => {
    const out = upsample(new Int16Array(100).fill(-1234));
    for (let i = 3 * SKIP; i < out.length; i++) expect(out[i]).toBe(-1234);
  });

  test("saturates a full-scale square wave instead of wrapping", () => {
    const half = 50;
    const square = Int16Array.from({ length: 8 * half }, (_, n) => (Math.floor(n / half) % 2 === 0 ? 32767 : -32768));
    const out = upsample(square);
    // Away from the edges the output must keep the input's sign; a wrapped overshoot would flip it.
    const half24k = 3 * half;
    for (let n = 3 * SKIP; n < out.length; n++) {
      const phase = (n - FILTER_DELAY_24K) % (2 * half24k);
      const fromEdge = Math.min(phase % half24k, half24k - (phase % half24k));
      if (fromEdge < FILTER_DELAY_24K) continue;
      expect(phase < half24k ? out[n]! > 30000 : out[n]! < -30000).toBe(true);
    }
    expect(Math.max(...out)).toBe(32767);
    expect(Math.min(...out)).toBe(-32768);
  });
});

describe("createDownsampler", () => {
  test("keeps the decimation phase across calls of any length", () => {
    const down = createDownsampler();
    const out = new Int16Array(200);
    expect(down.process(new Int16Array(1), out)).toBe(0);
    expect(down.process(new Int16Array(1), out)).toBe(0);
    expect(down.process(new Int16Array(1), out)).toBe(1);
    expect(down.process(new Int16Array(5), out)).toBe(1);
    expect(down.process(new Int16Array(1), out)).toBe(1);
    expect(down.process(new Int16Array(480), out)).toBe(160);
  });

  test("rejects an output buffer that is too small", () => {
    const down = createDownsampler();
    down.process(new Int16Array(2), new Int16Array(0));
    // Two samples are pending, so 1 more input completes an output.
    expect(() => down.process(new Int16Array(1), new Int16Array(0))).toThrow(RangeError);
  });

  for (const freq of [300, 1000, 2000, 3000, 3400]) {
    test(`${freq} Hz tone at 24 kHz matches the ideal 8 kHz tone: SNR ≥ 40 dB`, () => {
      const out = downsample(tone(freq, 24000, 6000));
      const expected = Int16Array.from({ length: out.length }, (_, m) =>
        Math.round(AMPLITUDE * Math.sin((2 * Math.PI * freq * (3 * m + DOWN_PHASE - FILTER_DELAY_24K)) / 24000)),
      );
      expect(snrDb(expected, out, SKIP, out.length)).toBeGreaterThanOrEqual(40);
    });
  }

  test("anti-aliasing: a 10 kHz tone is attenuated by ≥ 40 dB", () => {
    const input = tone(10000, 24000, 6000);
    const out = downsample(input);
    const attenuation = 20 * Math.log10(rms(input, 0, input.length) / rms(out, SKIP, out.length));
    expect(attenuation).toBeGreaterThanOrEqual(40);
  });

  test("a constant stays exactly constant", () => {
    const out = downsample(new Int16Array(300).fill(2345));
    for (let i = SKIP; i < out.length; i++) expect(out[i]).toBe(2345);
  });
});

describe("streaming", () => {
  const signal8k = noise(3001, 7);
  const signal24k = noise(9001, 11);

  const splits: [string, number[]][] = [
    ["one sample at a time", [1]],
    ["two at a time", [2]],
    ["20 ms frames", [160]],
    ["random sizes including empty frames", randomSizes(200, 37, 3)],
  ];

  for (const [name, sizes] of splits) {
    test(`upsampler: ${name} gives the same output as one piece`, () => {
      const whole = upsample(signal8k);
      expect(processInFrames(createUpsampler(), signal8k, sizes, 3)).toEqual(whole);
    });

    test(`downsampler: ${name} gives the same output as one piece`, () => {
      const whole = downsample(signal24k);
      const downSizes = sizes.map((s) => (s === 160 ? 480 : s));
      expect(processInFrames(createDownsampler(), signal24k, downSizes, 1 / 3)).toEqual(whole);
    });
  }

  test("reset forgets history and phase", () => {
    for (const [make, ratio] of [
      [createUpsampler, 3],
      [createDownsampler, 1 / 3],
    ] as const) {
      const fresh = processInFrames(make(), signal24k, [100], ratio);
      const used = make();
      processInFrames(used, noise(7, 99), [7], ratio);
      used.reset();
      expect(processInFrames(used, signal24k, [100], ratio)).toEqual(fresh);
    }
  });
});
