// Hold music for the simulated callee: a slow tune of two-note chords at a steady level, as a hold queue plays
// it. Steady loudness from frame to frame is what tells music from speech (gatekeepers/music.ts), and real hold
// music is mastered loud and compressed, so the chords keep one level and change only their pitch.
import { ULAW_ENCODE } from "../media/ulaw.ts";

const RATE = 8000;
/** A few bars of a simple tune: each chord's two pitches, Hz. */
const CHORDS = [
  [262, 330],
  [294, 370],
  [330, 392],
  [294, 370],
  [262, 392],
  [220, 330],
];
const NOTE_MS = 450;
const LEVEL = 5000;

/** `ms` of hold music as 8 kHz μ-law. */
export function holdMusic(ms: number): Uint8Array {
  const n = Math.round((RATE * ms) / 1000);
  const out = new Uint8Array(n);
  const perNote = (RATE * NOTE_MS) / 1000;
  let phaseA = 0;
  let phaseB = 0;
  for (let i = 0; i < n; i++) {
    const [a, b] = CHORDS[Math.floor(i / perNote) % CHORDS.length]!;
    // Phases carried across notes, so a change of pitch is not a click.
    phaseA += (2 * Math.PI * a!) / RATE;
    phaseB += (2 * Math.PI * b!) / RATE;
    out[i] = ULAW_ENCODE[Math.round(LEVEL * (Math.sin(phaseA) + Math.sin(phaseB))) & 0xffff]!;
  }
  return out;
}
