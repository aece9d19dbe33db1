// A DTMF receiver for tests, written apart from src/media so that a shared mistake cannot pass both sides:
// its own G.711 μ-law decoder and a Goertzel filter bank over overlapping 20 ms windows.

const LOW_HZ = [697, 770, 852, 941];
const HIGH_HZ = [1209, 1336, 1477, 1633];
const KEYPAD = ["123A", "456B", "789C", "*0#D"];

// 20 ms resolves the 73 Hz spacing of the low group (neighbours leak ≈ −13 dB); a 10 ms hop keeps the
// timing to ±5 ms and gives a 40 ms tone four or five windows that hear it.
const WINDOW_MS = 20;
const HOP_MS = 10;
// The winner of each group beats its runner-up by this much; a window half filled by tone still leaks
// only ≈ −10 dB into the neighbour, while a vowel's harmonics rarely single out one tone per group.
const MIN_DOMINANCE_DB = 8;
// Q.24 allows about 4 dB one way and 8 dB the other; both are taken as 8 here.
const MAX_TWIST_DB = 8;
// Share of the window's energy the pair holds: a window only partly filled by tone scores about the part
// filled, so 0.4 still accepts one half filled (the edges then land on whole hops). A vowel whose formants
// sit on one tone of each group can reach ≈ 0.5 for a single window, never for two in a row in the
// fixtures, so it is the run length below that turns speech away.
const MIN_PAIR_SHARE = 0.4;
// About −47 dBm0, far under any keypad: quieter "tones" are line noise, whatever their shape.
const MIN_TONE_AMPLITUDE = 100;
// Q.24's shortest valid tone; runs are measured between window centres, so one hop of slack.
const MIN_DIGIT_MS = 40;

export interface DtmfDigit {
  digit: string;
  /** Centre of the first and last window that heard the digit: the tone's edges to within half a hop. */
  startMs: number;
  endMs: number;
}

/**
 * G.711 μ-law: a byte is the complement of a sign bit, a 3-bit exponent e and a 4-bit mantissa m, and codes
 * ±((2m + 33)·2^e − 33) in 14-bit units; ×4 gives the PCM16 value.
 */
export function ulawToLinear(byte: number): number {
  const code = ~byte & 0xff;
  const exponent = (code >> 4) & 0x07;
  const mantissa = code & 0x0f;
  const magnitude = ((2 * mantissa + 33) * 2 ** exponent - 33) * 4;
  return code & 0x80 ? -magnitude : magnitude;
}

/** Linear samples with half a window of zeros at each end, so the edges get windows centred on them. */
function paddedLinear(ulaw: Uint8Array, pad: number): Float64Array {
  const out = new Float64Array(ulaw.length + 2 * pad);
  for (const [i, byte] of ulaw.entries()) out[pad + i] = ulawToLinear(byte);
  return out;
}

/** |X(f)|² over x[start, start + n). */
function goertzelPower(x: Float64Array, start: number, n: number, hz: number, sampleRate: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = start; i < start + n; i++) {
    const s0 = x[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** Index of the strongest power and whether it beats every other by MIN_DOMINANCE_DB. */
function dominant(powers: number[]): { index: number; clear: boolean } {
  const order = powers.map((_, i) => i).sort((a, b) => powers[b]! - powers[a]!);
  const [best, second] = [powers[order[0]!]!, powers[order[1]!]!];
  return { index: order[0]!, clear: best > 0 && best >= second * 10 ** (MIN_DOMINANCE_DB / 10) };
}

/** The key heard in x[start, start + n), if one clearly is. */
function windowDigit(x: Float64Array, start: number, n: number, sampleRate: number): string | undefined {
  const low = LOW_HZ.map((hz) => goertzelPower(x, start, n, hz, sampleRate));
  const high = HIGH_HZ.map((hz) => goertzelPower(x, start, n, hz, sampleRate));
  const row = dominant(low);
  const column = dominant(high);
  if (!row.clear || !column.clear) return undefined;
  const [lowPower, highPower] = [low[row.index]!, high[column.index]!];
  if (Math.abs(10 * Math.log10(highPower / lowPower)) > MAX_TWIST_DB) return undefined;
  // A sine of amplitude A over n samples has |X|² ≈ (A·n/2)² and energy A²·n/2.
  if ((2 * Math.sqrt(Math.min(lowPower, highPower))) / n < MIN_TONE_AMPLITUDE) return undefined;
  let energy = 0;
  for (let i = start; i < start + n; i++) energy += x[i]! * x[i]!;
  if ((2 * (lowPower + highPower)) / n < MIN_PAIR_SHARE * energy) return undefined;
  return KEYPAD[row.index]![column.index];
}

/**
 * DTMF keys in 8 kHz (or `sampleRate`) μ-law audio, in order. A key counts once it holds for about 40 ms;
 * the same key again needs a window without it in between, as a keypad's repeated presses have.
 */
export function decodeDtmf(ulaw: Uint8Array, sampleRate = 8000): DtmfDigit[] {
  const n = Math.round((sampleRate * WINDOW_MS) / 1000);
  const hop = Math.round((sampleRate * HOP_MS) / 1000);
  const x = paddedLinear(ulaw, n >> 1);
  const found: DtmfDigit[] = [];
  let run: DtmfDigit | undefined;
  for (let k = 0; k * hop + n <= x.length; k++) {
    const digit = windowDigit(x, k * hop, n, sampleRate);
    if (run && digit === run.digit) {
      run.endMs = k * HOP_MS;
      continue;
    }
    if (run && run.endMs - run.startMs >= MIN_DIGIT_MS - HOP_MS) found.push(run);
    run = digit === undefined ? undefined : { digit, startMs: k * HOP_MS, endMs: k * HOP_MS };
  }
  if (run && run.endMs - run.startMs >= MIN_DIGIT_MS - HOP_MS) found.push(run);
  return found;
}
