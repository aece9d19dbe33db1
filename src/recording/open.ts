// The recording storage the config names: the data dir unless recording.storage is s3.
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { localRecordings } from "./local-storage.ts";
import { s3Recordings } from "./s3-storage.ts";
import type { RecordingStorage } from "./storage.ts";

export function openRecordingStorage(config: Config, log: Logger): RecordingStorage {
  const { storage, s3 } = config.recording;
  const dataDir = config.server.data_dir;
  if (storage === "local") return localRecordings(dataDir);
  return s3Recordings(
    {
      // The schema refuses s3 without a bucket.
      bucket: s3.bucket!,
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyId: s3.access_key_id,
      secretAccessKey: s3.secret_access_key,
      prefix: s3.prefix,
    },
    dataDir,
    log,
  );
}
