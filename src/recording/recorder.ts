// src/recording/ owns call recordings: the stereo WAV writer, the recorder, and where recordings are kept (the
// data dir, or a bucket: storage.ts). It imports only media/, config/, runtime/ and the logger: the call service
// hands it frames through the bridge.
//
// A call's recording: what each side heard, left the caller and right the agent. The caller's frames are the
// clock, 20 ms each as Twilio sends them (with the gaps it leaves filled); the agent's audio plays in the order
// it was sent, from when it was sent, so it waits here until the caller's clock reaches it. A `clear` makes
// Twilio drop what it has not played, so the recording drops it too: what waits here is what was cut off.
import { ULAW_DECODE } from "../media/ulaw.ts";
import type { WavFile } from "./wav-file.ts";

/** Agent audio sent ahead of the caller's clock, at most: a long reply arrives far faster than it plays. */
const MAX_AHEAD_BYTES = 8_000 * 120;
const ULAW_SILENCE = 0xff;

export interface Recorder {
  /** One frame of the caller's line, base64 μ-law as Twilio sends it. */
  callerFrame(payload: string): void;
  /** Silence on the caller's side, where Twilio's timestamps jumped. */
  callerGap(ms: number): void;
  /** Agent audio sent to Twilio (base64 μ-law), in order. */
  agentAudio(payload: string): void;
  /** Twilio was told to drop the agent audio it holds. */
  cleared(): void;
  close(): void;
}

/**
 * A recording that cannot be written (a full disk) stops, and says so once, rather than break the call it
 * records: the call matters more than its recording. What it holds so far is closed as at the end of the call
 * (for shared storage, that is what uploads it).
 */
export function createRecorder(file: WavFile, onError: (e: unknown) => void): Recorder {
  let failed = false;
  const guarded =
    <A extends unknown[]>(fn: (...args: A) => void, closing = false) =>
    (...args: A) => {
      if (failed) return;
      try {
        fn(...args);
      } catch (e) {
        failed = true;
        onError(e);
        if (!closing) closeQuietly(file);
      }
    };
  const r = recorderOn(file);
  return {
    callerFrame: guarded(r.callerFrame),
    callerGap: guarded(r.callerGap),
    agentAudio: guarded(r.agentAudio),
    cleared: r.cleared,
    close: guarded(r.close, true),
  };
}

/** The error that stopped the recording was said; one from closing it would say nothing more. */
function closeQuietly(file: WavFile): void {
  try {
    file.close();
  } catch {}
}

function recorderOn(file: WavFile): Recorder {
  // One reused buffer for each side: a frame's bytes are decoded in place, never allocated per frame.
  const caller = Buffer.alloc(4_000);
  const ahead = Buffer.alloc(MAX_AHEAD_BYTES);
  let readAt = 0;
  let writeAt = 0;

  /** Plays `samples` of the caller's side (from `caller`, or silence) against the agent audio due now. */
  const play = (samples: number, fromCaller: boolean) => {
    for (let i = 0; i < samples; i++) {
      const agentByte = readAt < writeAt ? ahead[readAt++]! : ULAW_SILENCE;
      file.sample(ULAW_DECODE[fromCaller ? caller[i]! : ULAW_SILENCE]!, ULAW_DECODE[agentByte]!);
    }
    if (readAt === writeAt) readAt = writeAt = 0;
  };

  return {
    callerFrame(payload) {
      play(caller.write(payload, "base64"), true);
    },
    callerGap(ms) {
      play(Math.round(ms * 8), false);
    },
    agentAudio(payload) {
      // Room is made by moving what is still to play to the front; beyond the bound the newest is not kept.
      if (writeAt + payload.length > ahead.length && readAt > 0) {
        ahead.copy(ahead, 0, readAt, writeAt);
        writeAt -= readAt;
        readAt = 0;
      }
      writeAt += ahead.write(payload, writeAt, "base64");
    },
    cleared() {
      readAt = writeAt = 0;
    },
    close: () => file.close(),
  };
}
