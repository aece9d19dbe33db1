// Where recordings live (<data_dir>/recordings/<call id>.wav, the folder and files its owner's only), and
// removing those past their retention or whose call is gone.
import { mkdirSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";

const PRIVATE_DIR = 0o700;

export const recordingsDir = (dataDir: string) => join(dataDir, "recordings");

/** The call id comes from our own database (a UUID), never from a request path as given. */
export const recordingPath = (dataDir: string, callId: string) => join(recordingsDir(dataDir), `${callId}.wav`);

export function ensureRecordingsDir(dataDir: string): void {
  mkdirSync(recordingsDir(dataDir), { recursive: true, mode: PRIVATE_DIR });
}

/** Deletes recordings last written before `cutoffMs`; returns how many. */
export function removeRecordingsBefore(dataDir: string, cutoffMs: number): number {
  const dir = recordingsDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.endsWith(".wav")) continue;
    const path = join(dir, name);
    const written = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
    if (written === undefined || written >= cutoffMs) continue;
    unlinkSync(path);
    removed++;
  }
  return removed;
}

/** A recording the server made: named by its call's id (a UUID); anything else in the folder is not ours. */
const CALL_RECORDING = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.wav$/;

/** The call ids of recordings last written before `cutoffMs`. */
export function callRecordingsBefore(dataDir: string, cutoffMs: number): string[] {
  const dir = recordingsDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const id = CALL_RECORDING.exec(name)?.[1];
    const written = id === undefined ? undefined : statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs;
    return written !== undefined && written < cutoffMs ? [id!] : [];
  });
}

/** Deletes a call's recording; false if there was none. */
export function removeRecording(dataDir: string, callId: string): boolean {
  try {
    unlinkSync(recordingPath(dataDir, callId));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}
