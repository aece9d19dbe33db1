// Recordings on their way to the bucket. A call's audio is written to this instance's disk as the call goes,
// exactly as with local storage, and uploaded whole when its stream ends: after what the bucket already holds
// of the call (its agent back after a transfer nobody took, maybe on another instance), so a recording is
// added to, never replaced. Each step leaves the disk in a state the next attempt picks up from, so an upload
// that fails, or a crash, loses nothing; a file goes only once the bucket has what it held:
//   <id>.wav        the recorder's file, or one closed and not yet taken up
//   <id>.part.wav   closed, to go after what the bucket holds
//   <id>.whole.wav  what the bucket held and the part: uploaded as the call's object. A part beside it is
//                   already in it: a whole is made only from a part, and a part only when neither is there.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { BunFile } from "bun";
import type { Logger } from "../log.ts";
import type { Flushed } from "./storage.ts";
import { HEADER_BYTES, openWavFile, type WavFile, wavHeader } from "./wav-file.ts";

export interface SpoolBucket {
  /** The size of the call's stored recording; null when the bucket has none. */
  size(callId: string): Promise<number | null>;
  /** The stored recording's bytes from `start` on. */
  read(callId: string, start: number): ReadableStream<Uint8Array>;
  /** Stores `file` as the call's recording, in place of what was there. */
  put(callId: string, file: BunFile): Promise<void>;
}

export interface Spool {
  open(callId: string): WavFile;
  flush(): Promise<Flushed>;
  settle(): Promise<void>;
}

const PART = ".part.wav";
const WHOLE = ".whole.wav";
const TEMP = ".tmp";
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
/** What the spool may hold of a call, named by its id (a UUID): anything else in the folder is not ours. */
const SPOOLED = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.part|\.whole)?\.wav$/;

export function createSpool(dir: string, bucket: SpoolBucket, log: Logger): Spool {
  /** Calls whose recording this instance is writing now: their <id>.wav is not to be taken up. */
  const writing = new Set<string>();
  /** One call's uploads run one after another, each settled (never rejected) before the next starts. */
  const queues = new Map<string, Promise<void>>();
  const path = (callId: string, suffix = ".wav") => join(dir, `${callId}${suffix}`);

  const upload = (callId: string): Promise<boolean> => {
    const run = (queues.get(callId) ?? Promise.resolve()).then(() =>
      drain(path, callId, bucket, () => writing.has(callId)),
    );
    const settled = run.then(
      () => {},
      () => {},
    );
    queues.set(callId, settled);
    void settled.then(() => queues.get(callId) === settled && queues.delete(callId));
    return run;
  };

  return {
    open(callId) {
      mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
      const file = openWavFile(path(callId));
      writing.add(callId);
      return {
        sample: file.sample,
        close() {
          try {
            file.close();
          } finally {
            writing.delete(callId);
            upload(callId).catch((error) =>
              log.warn("storing the call's recording failed; it stays on disk and is tried again", {
                call_id: callId,
                error,
                code: (error as { code?: unknown }).code,
              }),
            );
          }
        },
      };
    },
    async flush() {
      const flushed: Flushed = { stored: 0, waiting: 0 };
      // One call at a time: after an outage, hundreds of uploads at once would only fail together again.
      for (const callId of spooledCalls(dir)) {
        if (writing.has(callId) && !existsSync(path(callId, PART)) && !existsSync(path(callId, WHOLE))) continue;
        try {
          if (await upload(callId)) flushed.stored++;
        } catch (error) {
          flushed.waiting++;
          flushed.error ??= error;
        }
      }
      return flushed;
    },
    async settle() {
      await Promise.all(queues.values());
    },
  };
}

/** The calls with something in the spool. */
function spooledCalls(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return [...new Set(names.flatMap((name) => SPOOLED.exec(name)?.[1] ?? []))];
}

/**
 * Takes the call's spooled files up, one state to the next, until nothing is left that may go now; true if
 * anything was stored.
 */
async function drain(
  path: (callId: string, suffix?: string) => string,
  callId: string,
  bucket: SpoolBucket,
  isWriting: () => boolean,
): Promise<boolean> {
  const [wav, part, whole] = [path(callId), path(callId, PART), path(callId, WHOLE)];
  let stored = false;
  for (;;) {
    if (existsSync(whole)) {
      await bucket.put(callId, Bun.file(whole));
      rmSync(part, { force: true });
      rmSync(whole);
      stored = true;
    } else if (existsSync(part)) {
      await combine(callId, part, whole, path(callId, TEMP), bucket);
    } else if (existsSync(wav) && !isWriting()) {
      // A recorder opening the call again from now on starts a new file, which goes after this one.
      renameSync(wav, part);
    } else {
      return stored;
    }
  }
}

/** Makes the whole: the bucket's recording with the part's audio after it, or the part alone. */
async function combine(callId: string, part: string, whole: string, temp: string, bucket: SpoolBucket) {
  const partBytes = Math.max(0, statSync(part).size - HEADER_BYTES);
  const stored = await bucket.size(callId);
  if (stored === null) {
    // A crash may have left the header saying "as long as the file is": it says how long now.
    setHeader(part, partBytes);
    renameSync(part, whole);
    return;
  }
  const storedBytes = Math.max(0, stored - HEADER_BYTES);
  // node:fs/promises is loaded here, when a recording is first added to: at start-up it costs ~1.3 ms.
  const { open } = await import("node:fs/promises");
  const out = await open(temp, "w", PRIVATE_FILE);
  try {
    await out.write(wavHeader(storedBytes + partBytes));
    const copied = await copy(bucket.read(callId, HEADER_BYTES), out);
    if (copied !== storedBytes) throw new Error("the stored recording changed while it was read");
    await copy(Bun.file(part).slice(HEADER_BYTES).stream(), out);
    await out.sync();
  } finally {
    await out.close();
  }
  renameSync(temp, whole);
  rmSync(part);
}

function setHeader(file: string, dataBytes: number): void {
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, wavHeader(dataBytes), 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
}

async function copy(from: ReadableStream<Uint8Array>, to: FileHandle): Promise<number> {
  let bytes = 0;
  for await (const chunk of from) {
    await to.write(chunk);
    bytes += chunk.byteLength;
  }
  return bytes;
}
