// Recordings on this instance's disk, <data_dir>/recordings/<call id>.wav: written in place as the call goes,
// so they can be played while it does, and served by this instance alone.
import {
  callRecordingsBefore,
  ensureRecordingsDir,
  recordingPath,
  removeRecording,
  removeRecordingsBefore,
} from "./files.ts";
import type { RecordingStorage } from "./storage.ts";
import { openWavFile } from "./wav-file.ts";

export function localRecordings(dataDir: string): RecordingStorage {
  return {
    open(callId) {
      ensureRecordingsDir(dataDir);
      return openWavFile(recordingPath(dataDir, callId));
    },
    async file(callId) {
      const file = Bun.file(recordingPath(dataDir, callId));
      return (await file.exists()) ? file : null;
    },
    remove: async (callId) => removeRecording(dataDir, callId),
    writtenBefore: async (cutoffMs) => callRecordingsBefore(dataDir, cutoffMs),
    removeBefore: async (cutoffMs) => removeRecordingsBefore(dataDir, cutoffMs),
    flush: async () => ({ stored: 0, waiting: 0 }),
    settle: async () => {},
  };
}
