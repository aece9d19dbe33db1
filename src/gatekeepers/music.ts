// Hold music and beeps, from the loudness of the caller's frames as they pass through the bridge. Music is loud
// and steady: from one 20 ms frame to the next its loudness changes far less than speech's, which stops between
// syllables and words. A beep is steadier still, and short. The meter reads each frame's base64 μ-law payload in
// place, with no decode buffer: a few numbers per call, nothing allocated per frame.
import { ULAW_DECODE } from "../media/ulaw.ts";

export interface MusicMeter {
  /** The last frame's loudness, dB (of int16 samples). */
  db: number;
  /** Running mean of the change in loudness from frame to frame, dB. */
  flux: number;
  /** Running share of frames loud enough to be music or speech. */
  loud: number;
  /** How long the sound has been music-like without a break, ms. */
  musicMs: number;
  /** The current run of frames whose loudness barely moves (a tone), ms. */
  steadyMs: number;
  /** How many beep-like tones (a short steady run, then a change) have been heard. */
  tones: number;
  frames: number;
}

const FRAME_MS = 20;
/** About one second of frames in the running means. */
const ALPHA = 1 / 50;
/** About −40 dBFS: quieter frames are line noise. */
const LOUD_DB = 50;
/** Speech's frame-to-frame change is typically 4–8 dB; music's under 2. */
const MUSIC_FLUX_DB = 2.5;
const MUSIC_LOUD_SHARE = 0.85;
/** The running means need this long before they describe the sound. */
const WARMUP_FRAMES = 25;
const TONE_FLUX_DB = 1;
const TONE_MIN_MS = 160;
const TONE_MAX_MS = 2_000;
/** Half a frame's samples (80 of 160) measure its loudness: the meter runs on every caller frame of every call. */
const SAMPLE_EVERY = 2;

export const createMusicMeter = (): MusicMeter => ({
  db: 0,
  flux: MUSIC_FLUX_DB * 2,
  loud: 0,
  musicMs: 0,
  steadyMs: 0,
  tones: 0,
  frames: 0,
});

/** Base64's alphabet as values; padding and anything else read as -1. */
const B64 = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * Each μ-law byte's sample, squared: one lookup per sample on the per-frame path instead of a lookup and a multiply.
 * Filled in a loop: Float64Array.from with a mapping function costs a start ~0.4 ms, the first time it runs.
 */
const SQUARE = new Float64Array(256);
for (let byte = 0; byte < 256; byte++) SQUARE[byte] = ULAW_DECODE[byte]! * ULAW_DECODE[byte]!;

/**
 * Mean square of the μ-law samples in a base64 payload, decoded four characters (three samples) at a time; with
 * `every` > 1, of one group of three in that many, which estimates a frame's loudness well at a fraction of the cost.
 */
export function meanSquare(payload: string, every = 1): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i + 3 < payload.length; i += 4 * every) {
    const a = B64[payload.charCodeAt(i) & 127]!;
    const b = B64[payload.charCodeAt(i + 1) & 127]!;
    const c = B64[payload.charCodeAt(i + 2) & 127]!;
    const d = B64[payload.charCodeAt(i + 3) & 127]!;
    if (a < 0 || b < 0) break;
    sum += SQUARE[((a << 2) | (b >> 4)) & 255]!;
    n++;
    if (c < 0) break;
    sum += SQUARE[(((b & 15) << 4) | (c >> 2)) & 255]!;
    n++;
    if (d < 0) break;
    sum += SQUARE[(((c & 3) << 6) | d) & 255]!;
    n++;
  }
  return n ? sum / n : 0;
}

/** Takes one caller frame into the meter. */
export function meterFrame(m: MusicMeter, payload: string): void {
  const db = 10 * Math.log10(meanSquare(payload, SAMPLE_EVERY) + 1);
  const change = Math.abs(db - m.db);
  const loud = db >= LOUD_DB;
  m.db = db;
  m.frames++;
  m.flux += (change - m.flux) * ALPHA;
  m.loud += ((loud ? 1 : 0) - m.loud) * ALPHA;
  const music = m.frames >= WARMUP_FRAMES && m.loud >= MUSIC_LOUD_SHARE && m.flux <= MUSIC_FLUX_DB;
  m.musicMs = music ? m.musicMs + FRAME_MS : 0;
  if (loud && change <= TONE_FLUX_DB) {
    m.steadyMs += FRAME_MS;
    return;
  }
  if (m.steadyMs >= TONE_MIN_MS && m.steadyMs <= TONE_MAX_MS) m.tones++;
  m.steadyMs = 0;
}
