// Recordings in a bucket of an S3-compatible store, through Bun's S3Client, so that every instance serves every
// call's recording: <prefix><call id>.wav. They are written on this instance's disk first and uploaded when the
// call's stream ends (s3-spool.ts). To serve one, an instance fetches the object whole into a copy on its disk
// and answers from that file, so the API answers exactly as with local storage (Content-Length, sendfile,
// ranges: Bun drops a Content-Length set on a streamed body), and a player's many range requests cost one fetch.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { type BunFile, S3Client } from "bun";
import type { Logger } from "../log.ts";
import { randomToken } from "../runtime/crypto.ts";
import { recordingsDir } from "./files.ts";
import { createSpool, type SpoolBucket } from "./s3-spool.ts";
import { type RecordingStorage, StorageUnavailable } from "./storage.ts";

export interface S3Settings {
  bucket: string;
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  prefix: string;
}

/** A served copy nobody asked for in this long is deleted (a player asks again as it seeks). */
const SERVED_IDLE_MS = 10 * 60_000;
/** Keys listed per request, S3's most. */
const PAGE = 1_000;
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
const CALL_ID = "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})";

export function s3Recordings(settings: S3Settings, dataDir: string, log: Logger): RecordingStorage {
  const client = new S3Client({
    bucket: settings.bucket,
    endpoint: settings.endpoint,
    region: settings.region,
    accessKeyId: settings.accessKeyId,
    secretAccessKey: settings.secretAccessKey,
  });
  const key = (callId: string) => `${settings.prefix}${callId}.wav`;
  const bucket = bucketOf(client, key);
  const spool = createSpool(recordingsDir(dataDir), bucket, log);
  const served = join(recordingsDir(dataDir), "served");
  const stored = (cutoffMs: number) => storedBefore(client, settings.prefix, cutoffMs);

  return {
    open: spool.open,
    async file(callId) {
      const size = await bucket.size(callId).catch(unavailable);
      if (size === null) return null;
      return servedCopy(served, callId, size, () => client.file(key(callId))).catch(unavailable);
    },
    async remove(callId) {
      await client.delete(key(callId));
      removeServed(served, (name) => name.startsWith(`${callId}-`) && name.endsWith(".wav"));
      return true;
    },
    writtenBefore: stored,
    async removeBefore(cutoffMs) {
      const ids = await stored(cutoffMs);
      for (const callId of ids) await client.delete(key(callId));
      return ids.length;
    },
    async flush() {
      const idle = Date.now() - SERVED_IDLE_MS;
      removeServed(served, (_, lastServed) => lastServed < idle);
      return spool.flush();
    },
    settle: spool.settle,
  };
}

function bucketOf(client: S3Client, key: (callId: string) => string): SpoolBucket {
  return {
    async size(callId) {
      try {
        return (await client.stat(key(callId))).size;
      } catch (e) {
        if ((e as { code?: unknown }).code === "NoSuchKey") return null;
        throw e;
      }
    },
    read: (callId, start) => client.file(key(callId)).slice(start).stream(),
    async put(callId, file) {
      await client.write(key(callId), file, { type: "audio/wav" });
    },
  };
}

function unavailable(error: unknown): never {
  const code = (error as { code?: unknown }).code;
  throw new StorageUnavailable(`the recording storage failed${typeof code === "string" ? ` (${code})` : ""}`, {
    cause: error,
  });
}

/**
 * The object as a file on this disk, fetched unless a copy of this size is there already (a recording only
 * grows, so its size tells the versions apart). Its time is the last request for it, by which idle ones go.
 */
async function servedCopy(dir: string, callId: string, size: number, object: () => Blob): Promise<BunFile> {
  let name = `${callId}-${size}.wav`;
  if (statSync(join(dir, name), { throwIfNoEntry: false }) === undefined) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
    const temp = join(dir, `${name}.${randomToken(6)}.tmp`);
    const written = await Bun.write(temp, object(), { mode: PRIVATE_FILE });
    // Replaced between the size and the fetch: the copy is named for what it holds.
    name = `${callId}-${written}.wav`;
    renameSync(temp, join(dir, name));
    removeServed(dir, (other) => other !== name && other.startsWith(`${callId}-`) && other.endsWith(".wav"));
  }
  const now = new Date();
  utimesSync(join(dir, name), now, now);
  return Bun.file(join(dir, name));
}

function removeServed(dir: string, doomed: (name: string, lastServedMs: number) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const lastServed = statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs;
    if (lastServed !== undefined && doomed(name, lastServed)) rmSync(join(dir, name), { force: true });
  }
}

/** The call ids of the objects under the prefix last written before `cutoffMs`. */
async function storedBefore(client: S3Client, prefix: string, cutoffMs: number): Promise<string[]> {
  const ours = new RegExp(`^${prefix.replace(/[.*()]/g, "\\$&")}${CALL_ID}\\.wav$`);
  const ids: string[] = [];
  let startAfter: string | undefined;
  for (;;) {
    // Paged by the last key (StartAfter) rather than by continuation token: every S3-compatible store reads it.
    const page = await client.list({ prefix, maxKeys: PAGE, startAfter });
    const contents = page.contents ?? [];
    for (const { key, lastModified } of contents) {
      const id = ours.exec(key)?.[1];
      if (id !== undefined && lastModified !== undefined && Date.parse(lastModified) < cutoffMs) ids.push(id);
    }
    if (!page.isTruncated || contents.length === 0) return ids;
    startAfter = contents.at(-1)!.key;
  }
}
