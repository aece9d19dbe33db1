// recording.storage: s3 against a real S3-compatible server (s3rver, every request's SigV4 signature checked):
// whole simulated calls stored in the bucket and served as local disk serves them, an outage that loses
// nothing, a recording added to rather than replaced, and retention deleting in the bucket.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { S3Client } from "bun";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log.ts";
import { recordingsDir } from "../../src/recording/files.ts";
import { openRecordingStorage } from "../../src/recording/open.ts";
import { HEADER_BYTES, wavHeader } from "../../src/recording/wav-file.ts";
import { conversation, loadScript } from "../../src/sim/script.ts";
import { startTestApp, type TestApp, tempDir } from "../support/app.ts";
import { S3_ACCESS_KEY_ID, S3_BUCKET, S3_SECRET_ACCESS_KEY, type S3Server, startS3 } from "../support/s3.ts";
import { until } from "../support/until.ts";

setDefaultTimeout(60_000);
const TALKS = "+15550100001";
const PREFIX = "calls/";
const DAY_MS = 86_400_000;

let s3: S3Server;
let bucket: S3Client;
const apps: TestApp[] = [];
const dirs: string[] = [];
/** Requests signed with a wrong secret by a test that means to. */
let refusedOnPurpose = 0;

beforeAll(async () => {
  s3 = await startS3();
  bucket = new S3Client({
    endpoint: s3.endpoint,
    bucket: S3_BUCKET,
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
  });
});
afterAll(() => s3.remove());
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await s3.start();
  // Every request the server made was signed with the configured secret, and signed right.
  expect(s3.refused).toBe(refusedOnPurpose);
});

const s3Config = (retention_days = 30) => ({
  storage: "s3",
  retention_days,
  s3: {
    bucket: S3_BUCKET,
    endpoint: s3.endpoint,
    region: "eu-central-1",
    access_key_id: S3_ACCESS_KEY_ID,
    secret_access_key: S3_SECRET_ACCESS_KEY,
    prefix: PREFIX,
  },
});

function dataDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

/** A server on `dir`, its calls answered by the simulated callee that talks, recorded. */
async function start(dir: string, recording: Record<string, unknown> = s3Config()): Promise<TestApp> {
  const script = await loadScript();
  const app = await startTestApp({
    dataDir: dir,
    config: { limits: { api_requests_per_minute: 1_000_000 }, recording },
    publicUrlSelf: true,
    model: { ...conversation(script, "talks") },
    fake: { autoCalls: { script, record: true, speed: 2 } },
  });
  apps.push(app);
  return app;
}

async function stop(app: TestApp): Promise<void> {
  apps.splice(apps.indexOf(app), 1);
  await app.stop();
}

async function recordedCall(app: TestApp): Promise<string> {
  const { id } = await app.call({ to: TALKS, record: true });
  await until(async () => ((await app.api(`/api/calls/${id}`)).body.active ? null : true), "the call to end", 25_000);
  return id;
}

const stored = async (id: string) => Buffer.from(await bucket.file(`${PREFIX}${id}.wav`).arrayBuffer());
/** What the data dir holds of the call's recording outside the copies made to serve it. */
const onDisk = (dir: string, id: string) =>
  existsSync(recordingsDir(dir)) ? readdirSync(recordingsDir(dir)).filter((n) => n.startsWith(id)) : [];

/** The requests a player makes: whole, seeking, the tail, past the end, and ranges that are served whole. */
const RANGES = (size: number) => [
  null,
  "bytes=0-43",
  "bytes=100-",
  "bytes=-4",
  `bytes=${size}-`,
  "bytes=9-3",
  "lines=1-2",
];

async function answers(app: TestApp, id: string, size: number) {
  return Promise.all(
    RANGES(size).map(async (range) => {
      const res = await fetch(`${app.url}/api/calls/${id}/recording`, { headers: range ? { Range: range } : {} });
      const headers = Object.fromEntries([...res.headers].filter(([name]) => name !== "date"));
      return { range, status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
    }),
  );
}

describe("recording.storage: s3", () => {
  test("a recorded call goes to the bucket, and is served with ranges exactly as local disk serves it", async () => {
    const dir = dataDir();
    const a = await start(dir);
    const id = await recordedCall(a);
    // The file stays on disk until the bucket has acknowledged it, and goes then.
    await until(async () => onDisk(dir, id).length === 0 && (await bucket.exists(`${PREFIX}${id}.wav`)), "the upload");
    const wav = await stored(id);
    expect(wav.toString("ascii", 0, 4)).toBe("RIFF");
    expect(wav.readUInt32LE(40)).toBe(wav.length - HEADER_BYTES);
    expect((wav.length - HEADER_BYTES) / 4 / 8000).toBeGreaterThan(3);
    const fromBucket = await answers(a, id, wav.length);
    expect(fromBucket[0]).toMatchObject({ status: 200, body: wav });
    expect(fromBucket[0]!.headers).toMatchObject({ "content-length": String(wav.length), "content-type": "audio/wav" });
    expect(fromBucket[1]).toMatchObject({ status: 206, body: wav.subarray(0, 44) });
    const served = join(recordingsDir(dir), "served");
    expect(statSync(served).mode & 0o777).toBe(0o700);
    expect(readdirSync(served).map((name) => statSync(join(served, name)).mode & 0o777)).toEqual([0o600]);

    // The same bytes on local disk, served by a server with local storage: the same answers, header for header.
    await stop(a);
    writeFileSync(join(recordingsDir(dir), `${id}.wav`), wav);
    const local = await start(dir, { storage: "local" });
    expect(await answers(local, id, wav.length)).toEqual(fromBucket);
  });

  test("the store down during the upload: the recording waits on disk, then is stored and served whole", async () => {
    const dir = dataDir();
    const a = await start(dir);
    await s3.stop();
    const id = await recordedCall(a);
    await until(
      () => a.logs.find((l) => l.msg === "storing the call's recording failed; it stays on disk and is tried again"),
      "the failed upload",
    );
    const waiting = onDisk(dir, id);
    expect(waiting).toHaveLength(1);
    const size = statSync(join(recordingsDir(dir), waiting[0]!)).size;
    expect(size).toBeGreaterThan(HEADER_BYTES + 3 * 8000 * 4);
    expect(await a.api(`/api/calls/${id}/recording`)).toMatchObject({
      status: 503,
      body: { success: false, error: "Recording storage unavailable: try again later" },
    });
    expect(JSON.stringify(a.logs)).not.toContain(S3_SECRET_ACCESS_KEY);

    // Back up: the next start (and every minute) tries again, and the bucket gets it all.
    await s3.start();
    await stop(a);
    const b = await start(dir);
    await until(async () => onDisk(dir, id).length === 0 && (await bucket.exists(`${PREFIX}${id}.wav`)), "the retry");
    const wav = await stored(id);
    expect(wav.length).toBe(size);
    expect(wav.readUInt32LE(40)).toBe(size - HEADER_BYTES);
    const res = await fetch(`${b.url}/api/calls/${id}/recording`);
    expect([res.status, (await res.arrayBuffer()).byteLength]).toEqual([200, size]);
  });

  test("recordings past recording.retention_days are deleted from the bucket, the others kept", async () => {
    const [old, fresh] = [crypto.randomUUID(), crypto.randomUUID()];
    for (const id of [old, fresh]) await bucket.write(`${PREFIX}${id}.wav`, wavHeader(0));
    await bucket.write("elsewhere/not-ours.wav", "x");
    s3.age(`${PREFIX}${old}.wav`, new Date(Date.now() - 8 * DAY_MS));
    s3.age("elsewhere/not-ours.wav", new Date(Date.now() - 8 * DAY_MS));
    const a = await start(dataDir(), s3Config(7));
    await until(async () => !(await bucket.exists(`${PREFIX}${old}.wav`)), "the old recording to go");
    expect(await bucket.exists(`${PREFIX}${fresh}.wav`)).toBe(true);
    expect(await bucket.exists("elsewhere/not-ours.wav")).toBe(true);
    expect(a.logs.find((l) => l.msg === "deleted recordings past their retention")).toMatchObject({ removed: 1 });
  });
});

/** `n` stereo samples of one level on both sides, as the recorder writes them. */
function samples(n: number, level: number): Buffer {
  const b = Buffer.alloc(n * 4);
  for (let i = 0; i < n * 2; i++) b.writeInt16LE(level, i * 2);
  return b;
}

describe("the spool on the way to the bucket", () => {
  const log = createLogger(() => {});
  const storage = (dir: string, secret = S3_SECRET_ACCESS_KEY) => {
    const recording = s3Config();
    recording.s3.secret_access_key = secret;
    return openRecordingStorage(ConfigSchema.parse({ server: { data_dir: dir }, recording }), log);
  };

  /** `seconds` of one constant sample on both sides. */
  function record(store: ReturnType<typeof storage>, id: string, seconds: number, level: number): void {
    const file = store.open(id);
    for (let i = 0; i < seconds * 8000; i++) file.sample(level, level);
    file.close();
  }

  test("a call recorded again (back after a transfer, on another instance) is added to, never replaced", async () => {
    const id = crypto.randomUUID();
    const [here, there] = [storage(dataDir()), storage(dataDir())];
    record(here, id, 1, 1000);
    await here.settle();
    record(there, id, 2, -2000);
    await there.settle();
    const wav = await stored(id);
    expect(wav.readUInt32LE(40)).toBe(3 * 8000 * 4);
    expect(wav.length).toBe(HEADER_BYTES + 3 * 8000 * 4);
    expect([wav.readInt16LE(HEADER_BYTES), wav.readInt16LE(wav.length - 2)]).toEqual([1000, -2000]);
    expect(wav.readInt16LE(HEADER_BYTES + 8000 * 4)).toBe(-2000);
  });

  test("an upload the store refuses (a wrong secret) keeps the recording on disk, and the next one stores it", async () => {
    const dir = dataDir();
    const id = crypto.randomUUID();
    const wrong = storage(dir, "not-the-secret");
    record(wrong, id, 1, 500);
    await wrong.settle();
    const refused = await wrong.flush();
    refusedOnPurpose = s3.refused;
    expect(refusedOnPurpose).toBeGreaterThan(0);
    expect(refused).toMatchObject({ stored: 0, waiting: 1, error: { name: "S3Error" } });
    expect(await bucket.exists(`${PREFIX}${id}.wav`)).toBe(false);
    expect(onDisk(dir, id)).toEqual([`${id}.part.wav`]);
    expect(await storage(dir).flush()).toEqual({ stored: 1, waiting: 0 });
    expect((await stored(id)).length).toBe(HEADER_BYTES + 8000 * 4);
    expect(onDisk(dir, id)).toEqual([]);
  });

  test("what a crash left at any step is taken up from there, and nothing is stored twice", async () => {
    const dir = dataDir();
    const spool = recordingsDir(dir);
    mkdirSync(spool, { recursive: true });
    const [first, second] = [crypto.randomUUID(), crypto.randomUUID()];
    // first: killed mid-call, its file's header never set. second: killed once its whole was made (what the
    // bucket held, then the part), the part it was made of still beside it.
    writeFileSync(join(spool, `${first}.wav`), Buffer.concat([wavHeader(0xffff_ffff), samples(800, 7)]));
    await bucket.write(`${PREFIX}${second}.wav`, Buffer.concat([wavHeader(400 * 4), samples(400, 1)]));
    const whole = Buffer.concat([wavHeader(600 * 4), samples(400, 1), samples(200, 2)]);
    writeFileSync(join(spool, `${second}.whole.wav`), whole);
    writeFileSync(join(spool, `${second}.part.wav`), Buffer.concat([wavHeader(0xffff_ffff), samples(200, 2)]));
    expect(await storage(dir).flush()).toEqual({ stored: 2, waiting: 0 });
    const a = await stored(first);
    expect([a.length, a.readUInt32LE(40), a.readUInt32LE(4)]).toEqual([44 + 3200, 3200, 36 + 3200]);
    expect(await stored(second)).toEqual(whole);
    expect(readdirSync(spool)).toEqual([]);
  });
});

describe("recording storage settings", () => {
  const load = (env: Record<string, string>, yaml = "") => {
    const path = join(dataDir(), "config.yaml");
    writeFileSync(path, yaml);
    return loadConfig({ path, env }).recording;
  };

  test("the S3_* and AWS_* variables Bun and AWS's tools read set them, S3_* winning, and s3 needs a bucket", () => {
    expect(load({})).toMatchObject({ storage: "local", s3: { prefix: "recordings/" } });
    const aws = {
      AGENTICAI_RECORDING_STORAGE: "s3",
      AWS_BUCKET: "aws-bucket",
      AWS_ENDPOINT_URL_S3: "https://s3.example.com",
      AWS_DEFAULT_REGION: "eu-west-3",
      AWS_ACCESS_KEY_ID: "AKIDAWS",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
    };
    expect(load(aws).s3).toEqual({
      bucket: "aws-bucket",
      endpoint: "https://s3.example.com",
      region: "eu-west-3",
      access_key_id: "AKIDAWS",
      secret_access_key: "aws-secret",
      prefix: "recordings/",
    });
    const s3Names = {
      ...aws,
      S3_BUCKET: "s3-bucket",
      S3_ENDPOINT: "http://127.0.0.1:9000",
      AWS_REGION: "eu-west-1",
      S3_ACCESS_KEY_ID: "AKIDS3",
      S3_SECRET_ACCESS_KEY: "s3-secret",
      AGENTICAI_RECORDING_S3_PREFIX: "agenticai/calls-",
    };
    expect(load(s3Names, "recording:\n  s3:\n    bucket: from-file\n").s3).toEqual({
      bucket: "s3-bucket",
      endpoint: "http://127.0.0.1:9000",
      region: "eu-west-1",
      access_key_id: "AKIDS3",
      secret_access_key: "s3-secret",
      prefix: "agenticai/calls-",
    });
    const refused = (env: Record<string, string>, yaml = "") => {
      try {
        load(env, yaml);
      } catch (e) {
        if (e instanceof ConfigError) return e.message;
      }
      throw new Error("the config was accepted");
    };
    expect(refused({ AGENTICAI_RECORDING_STORAGE: "s3" })).toBe(
      "config: recording.s3.bucket: required when recording.storage is s3 (S3_BUCKET)",
    );
    expect(refused({ AGENTICAI_RECORDING_STORAGE: "disk" })).toContain("recording.storage");
    expect(refused({ S3_ENDPOINT: "minio:9000" })).toContain("recording.s3.endpoint");
    expect(refused({}, "recording:\n  s3:\n    prefix: /calls\n")).toContain("recording.s3.prefix");
  });
});
