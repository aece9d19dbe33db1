// In-band DTMF (ITU-T Q.23) as 8 kHz μ-law. Inside a bridged call a REST `<Play digits>` would end the
// media stream, so the keys are played as audio on the stream itself.

import { ULAW_ENCODE } from "./ulaw.ts";

/** What send_dtmf accepts: digits, * #, A–D, and w (a 0.5 s pause). Case-insensitive for a–d and w. */
export const DTMF_DIGITS = /^[0-9*#A-Dw]+$/i;
/** Q.24 receivers need ≥ 40 ms of tone and of pause; 100 ms of each is the robust choice. */
export const DTMF_TONE_MS = 100;
export const DTMF_GAP_MS = 100;
/** What `w` means in Twilio's `<Play digits>`. */
export const DTMF_PAUSE_MS = 500;

const SAMPLE_RATE_HZ = 8000;
const SAMPLES_PER_MS = SAMPLE_RATE_HZ / 1000;
const FRAME_MS = 20;
const SILENCE_ULAW = 0xff;
// About −6 dBm0 per tone (Q.23); the pair peaks near 0.6 of full scale, clear of clipping.
const TONE_AMPLITUDE = 0.3 * 32767;

const LOW_HZ = [697, 770, 852, 941];
const HIGH_HZ = [1209, 1336, 1477, 1633];
const KEYPAD = ["123A", "456B", "789C", "*0#D"];
const PAUSE_KEY = "W";

/** The key's [low, high] frequencies; `key` is upper case. */
function tonePair(key: string): [number, number] | undefined {
  for (const [row, keys] of KEYPAD.entries()) {
    const column = keys.indexOf(key);
    if (column >= 0) return [LOW_HZ[row]!, HIGH_HZ[column]!];
  }
  return undefined;
}

function keyMs(key: string): number {
  if (key === PAUSE_KEY) return DTMF_PAUSE_MS;
  if (tonePair(key)) return DTMF_TONE_MS + DTMF_GAP_MS;
  throw new RangeError(`not a DTMF key: ${JSON.stringify(key)}`);
}

/** Length of the audio dtmfUlaw makes for these digits, ms. */
export function dtmfDurationMs(digits: string): number {
  let ms = 0;
  for (const key of digits.toUpperCase()) ms += keyMs(key);
  // Media is sent in whole frames; a partial one would be padded by the sender anyway.
  return Math.ceil(ms / FRAME_MS) * FRAME_MS;
}

function writeTonePair(out: Uint8Array, start: number, [lowHz, highHz]: [number, number]): void {
  const lowStep = (2 * Math.PI * lowHz) / SAMPLE_RATE_HZ;
  const highStep = (2 * Math.PI * highHz) / SAMPLE_RATE_HZ;
  for (let i = 0; i < DTMF_TONE_MS * SAMPLES_PER_MS; i++) {
    const sample = Math.round(TONE_AMPLITUDE * (Math.sin(lowStep * i) + Math.sin(highStep * i)));
    out[start + i] = ULAW_ENCODE[sample & 0xffff]!;
  }
}

/**
 * 8 kHz μ-law audio of the digits: each key a tone pair for DTMF_TONE_MS then DTMF_GAP_MS of silence; 'w' is
 * DTMF_PAUSE_MS of silence. The length is a whole number of 20 ms frames (160 bytes), padded with silence.
 * Throws a RangeError on a character DTMF_DIGITS rejects.
 */
export function dtmfUlaw(digits: string): Uint8Array {
  const out = new Uint8Array(dtmfDurationMs(digits) * SAMPLES_PER_MS).fill(SILENCE_ULAW);
  let at = 0;
  for (const key of digits.toUpperCase()) {
    const pair = tonePair(key);
    if (pair) writeTonePair(out, at, pair);
    at += keyMs(key) * SAMPLES_PER_MS;
  }
  return out;
}
