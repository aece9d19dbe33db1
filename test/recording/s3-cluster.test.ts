// Two real agenticai processes on one real PostgreSQL, behind the round-robin proxy that plays the load
// balancer, storing recordings in a real S3-compatible server (s3rver, signatures checked) named only through
// the S3_*/AWS_* environment: a call bridged by one instance is recorded into the bucket and served, ranges and
// all, by the other, which never had its audio; and deleting the call, on any instance, deletes its recording.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { S3Client, SQL } from "bun";
import { simulatorEnv, startSimulators } from "../../src/sim/simulators.ts";
import { tempDir } from "../support/app.ts";
import { type Postgres, startPostgres } from "../support/postgres.ts";
import { childApi as api, cleanedAfterEach, type ServerProcess, spawnServer } from "../support/process.ts";
import { S3_ACCESS_KEY_ID, S3_BUCKET, S3_SECRET_ACCESS_KEY, type S3Server, startS3 } from "../support/s3.ts";
import { startRoundRobinProxy } from "../support/tcp-proxy.ts";
import { until } from "../support/until.ts";

setDefaultTimeout(120_000);
const TALKS = "+15550100001";
const PREFIX = "cluster/";
const DAY_MS = 86_400_000;

const { children, cleanups } = cleanedAfterEach();
let pg: Postgres;
let s3: S3Server;

beforeAll(async () => {
  [pg, s3] = await Promise.all([startPostgres(), startS3()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.remove()]);
});

const backend = (s: ServerProcess) => ({ host: "127.0.0.1", port: s.port });
const instanceId = async (s: ServerProcess) => (await api(s, "/health")).body.instance_id as string;

async function range(s: ServerProcess, id: string, header?: string) {
  const res = await fetch(`${s.url}/api/calls/${id}/recording`, { headers: header ? { Range: header } : {} });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, contentRange: res.headers.get("content-range"), body };
}

describe("recordings in a bucket shared by two instances", () => {
  test("recorded through one instance, served with ranges by the other; deleting the call deletes it", async () => {
    const url = await pg.createDatabase();
    const db = new SQL(url);
    cleanups.push(() => db.close());
    const sims = await startSimulators({ speed: 4, freshConnections: true });
    cleanups.push(() => sims.stop());
    const proxy = await startRoundRobinProxy([]);
    cleanups.push(() => proxy.stop());
    const dir = tempDir("agenticai-cluster-");
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // Recordings kept however old: what deletes this one is its call's deletion.
    const config = "limits:\n  api_requests_per_minute: 100000\nrecording:\n  retention_days: 0\n";
    writeFileSync(join(dir, "config.yaml"), config);
    const env = (name: string) => ({
      HOST: "127.0.0.1",
      PORT: "0",
      DATABASE_URL: url,
      AGENTICAI_WEBHOOK_URL: proxy.url,
      AGENTICAI_DATA_DIR: join(dir, name),
      AGENTICAI_CONFIG: join(dir, "config.yaml"),
      AGENTICAI_RECORDING_STORAGE: "s3",
      AGENTICAI_RECORDING_S3_PREFIX: PREFIX,
      S3_BUCKET,
      S3_ENDPOINT: s3.endpoint,
      AWS_REGION: "eu-west-1",
      S3_ACCESS_KEY_ID,
      // The AWS_* name is read when no S3_* one is set, and a wrong S3_* one would win: the bucket refuses it.
      AWS_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
      ...simulatorEnv(sims),
    });
    const [a, b] = await Promise.all([
      spawnServer(["server"], env("a"), children),
      spawnServer(["server"], env("b"), children),
    ]);
    // Every webhook and the media stream reach B: A only takes the request and, later, serves the recording.
    proxy.setBackends([backend(b)]);
    const placed = await api(a, "/api/call", { to: TALKS, prompt: "Recorded cluster call.", record: true });
    expect(placed.status).toBe(200);
    const id = placed.body.call_id as string;
    await until(async () => (await api(a, `/api/calls/${id}`)).body.active === false, "the call to end", 60_000);
    const [row] = await db`SELECT owner FROM calls WHERE id = ${id}`;
    expect(row.owner).toBe(await instanceId(b));

    const key = `${PREFIX}${id}.wav`;
    const bucket = new S3Client({
      endpoint: s3.endpoint,
      bucket: S3_BUCKET,
      accessKeyId: S3_ACCESS_KEY_ID,
      secretAccessKey: S3_SECRET_ACCESS_KEY,
    });
    // B keeps the file until the bucket has acknowledged it, and nothing of it once it has.
    const spooled = () => readdirSync(join(dir, "b", "recordings"));
    await until(async () => spooled().length === 0 && (await bucket.exists(key)), "the upload", 30_000);
    const wav = Buffer.from(await bucket.file(key).arrayBuffer());
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
    expect(wav.length).toBeGreaterThan(44 + 2 * 8000 * 4);

    expect(await range(a, id)).toMatchObject({ status: 200, contentRange: null, body: wav });
    expect(await range(a, id, "bytes=0-43")).toMatchObject({
      status: 206,
      contentRange: `bytes 0-43/${wav.length}`,
      body: wav.subarray(0, 44),
    });
    expect(await range(a, id, "bytes=-4")).toMatchObject({ status: 206, body: wav.subarray(-4) });
    expect(await range(a, id, `bytes=${wav.length}-`)).toMatchObject({
      status: 416,
      contentRange: `bytes */${wav.length}`,
    });
    expect(s3.refused).toBe(0);

    // The call and its recording past retention.calls_days (90): a restarted A deletes both, though B recorded it.
    await until(async () => (await api(a, `/api/calls/${id}`)).body.report?.outcome, "the report", 30_000);
    await db`UPDATE calls SET ended_at = ended_at - ${100 * DAY_MS} WHERE id = ${id}`;
    s3.age(key, new Date(Date.now() - 100 * DAY_MS));
    a.proc.kill("SIGKILL");
    await a.proc.exited;
    children.delete(a);
    await spawnServer(["server"], env("a"), children);
    await until(async () => !(await bucket.exists(key)), "the recording to be deleted", 30_000);
    expect(await api(b, `/api/calls/${id}`)).toMatchObject({ status: 404, body: { error: "Call not found" } });
  });
});
