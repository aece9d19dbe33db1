// Keypad tones on the agent's audio track: they queue behind the agent's audio like its own chunks, carry no
// model response (so no transcript turn and no truncation), and count as pending until Twilio has played
// them, so that nothing clears them before the machine listening for them has heard them.
import type { Playback } from "./playback.ts";

/** The response id tone chunks carry. */
export const TONES = "tones";
/** Tones go out in chunks of the size the model's deltas usually have. */
const TONE_CHUNK_BYTES = 800;

export interface ToneChunk {
  responseId: string;
  itemId: string;
  payload: string;
  bytes: number;
  /** Told when the last chunk of a run of tones has gone to Twilio. */
  sent?: () => void;
}

export interface ToneTrack {
  /** Splits μ-law tones into chunks for the agent's queue; resolves once the last has been sent. */
  push(ulaw: Uint8Array, enqueue: (chunk: ToneChunk) => void): Promise<void>;
  /** A tone chunk left the queue: sent to Twilio (its mark is the last one sent), or dropped. */
  sent(): void;
  dropped(): void;
  /** Tones wait in the queue or have not played yet. */
  pending(): boolean;
}

export function createToneTrack(playback: Playback): ToneTrack {
  let runs = 0;
  let queued = 0;
  let lastMark = 0;
  return {
    push(ulaw, enqueue) {
      const itemId = `${TONES}_${++runs}`;
      return new Promise((resolve) => {
        for (let at = 0; at < ulaw.length; at += TONE_CHUNK_BYTES) {
          queued++;
          const bytes = ulaw.subarray(at, at + TONE_CHUNK_BYTES);
          const last = at + TONE_CHUNK_BYTES >= ulaw.length;
          const payload = Buffer.from(bytes).toString("base64");
          enqueue({ responseId: TONES, itemId, payload, bytes: bytes.length, sent: last ? resolve : undefined });
        }
      });
    },
    sent() {
      queued--;
      lastMark = playback.sent;
    },
    dropped() {
      queued--;
    },
    // A clear (or an interruption) forgets every pending mark, so a tone mark still counts only if it is newer.
    pending: () => queued > 0 || lastMark > playback.echoed,
  };
}
