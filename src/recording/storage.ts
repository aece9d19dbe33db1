// Where call recordings are kept, behind one seam: the recorder writes to what `open` gives it and the API
// serves what `file` finds, neither knowing which backend is in use (open.ts picks it). local: this instance's
// data dir, served by it alone (local-storage.ts). s3: a bucket every instance reads (s3-storage.ts, s3-spool.ts).
import type { BunFile } from "bun";
import type { WavFile } from "./wav-file.ts";

export interface RecordingStorage {
  /** The call's recording, to write as the call goes; one already there is continued (throws if it cannot be). */
  open(callId: string): WavFile;
  /** The recording to serve, as a file on this instance (its size and slices are Bun's); null when there is none. */
  file(callId: string): Promise<BunFile | null>;
  /** Deletes a call's recording; false when it is known there was none. */
  remove(callId: string): Promise<boolean>;
  /** The call ids of recordings last written before `cutoffMs`. */
  writtenBefore(cutoffMs: number): Promise<string[]>;
  /** Deletes the recordings last written before `cutoffMs`; returns how many. */
  removeBefore(cutoffMs: number): Promise<number>;
  /** Tries again what earlier uploads left on disk; what was stored, what is still waiting and why. */
  flush(): Promise<Flushed>;
  /** Resolves once the uploads under way have ended, stored or left for a later flush. */
  settle(): Promise<void>;
}

export interface Flushed {
  stored: number;
  waiting: number;
  error?: unknown;
}

/** The storage could not be reached, or refused: a state of the deployment, which a client may retry. */
export class StorageUnavailable extends Error {}
