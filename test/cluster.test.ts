// Two real agenticai processes on one real PostgreSQL, behind a round-robin TCP proxy that plays the load
// balancer: the simulated carrier sends each webhook on a new connection, so a call's webhooks and its
// media stream land on either instance. What a single instance cannot show: a call placed on one and run
// by the other, the concurrency limit held across both, and a kill -9 that the survivor settles.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import type { Carrier } from "../src/sim/carrier.ts";
import { simulatorEnv, startSimulators } from "../src/sim/simulators.ts";
import { tempDir } from "./support/app.ts";
import { type Postgres, startPostgres } from "./support/postgres.ts";
import { childApi as api, cleanedAfterEach, type ServerProcess, spawnServer } from "./support/process.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";
import { type RoundRobinProxy, startRoundRobinProxy } from "./support/tcp-proxy.ts";
import { until } from "./support/until.ts";

setDefaultTimeout(120_000);

const TALKS = "+15550100001";
const BUSY = "+15550100002";
const NO_ANSWER = "+15550100003";
const HANGS_UP = "+15550100004";
const SILENT = "+15550100006";
const SPEED = 4;
const RING_TIMEOUT_S = 10;

const { children, cleanups } = cleanedAfterEach();
let pg: Postgres;

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

interface Cluster {
  a: ServerProcess;
  b: ServerProcess;
  proxy: RoundRobinProxy;
  carrier: Carrier;
  receiver: Receiver;
  db: SQL;
}

const backend = (s: ServerProcess) => ({ host: "127.0.0.1", port: s.port });

/** A fresh database, carrier, model and event receiver, and two instances behind the proxy. */
async function cluster(maxConcurrent = 2, receiverDelayMs = 0, calls = ""): Promise<Cluster> {
  const url = await pg.createDatabase();
  const db = new SQL(url);
  cleanups.push(() => db.close());
  const sims = await startSimulators({ speed: SPEED, freshConnections: true });
  cleanups.push(() => sims.stop());
  const receiver = startReceiver(() => ({ status: 204, delayMs: receiverDelayMs }));
  cleanups.push(() => receiver.stop());
  const proxy = await startRoundRobinProxy([]);
  cleanups.push(() => proxy.stop());
  const dir = tempDir("agenticai-cluster-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, "config.yaml");
  // The tests poll the API: the per-client rate limit is not what they look at.
  const limits = "limits:\n  api_requests_per_minute: 100000\n";
  writeFileSync(
    configPath,
    `calls:\n  max_concurrent: ${maxConcurrent}\n  ring_timeout_s: ${RING_TIMEOUT_S}\n${calls}${limits}`,
  );
  const env = (name: string) => ({
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_URL: url,
    AGENTICAI_WEBHOOK_URL: proxy.url,
    AGENTICAI_DATA_DIR: join(dir, name),
    AGENTICAI_CONFIG: configPath,
    AGENTICAI_EVENTS_URL: `${receiver.url}/events`,
    ...simulatorEnv(sims),
  });
  const [a, b] = await Promise.all([
    spawnServer(["server"], env("a"), children),
    spawnServer(["server"], env("b"), children),
  ]);
  proxy.setBackends([backend(a!), backend(b!)]);
  return { a: a!, b: b!, proxy, carrier: sims.carrier, receiver, db };
}

async function place(on: ServerProcess, to: string): Promise<string> {
  const res = await api(on, "/api/call", { to, prompt: "Cluster test call." });
  if (res.status !== 200) throw new Error(`call refused: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.call_id;
}

const ended = async (on: ServerProcess, id: string) => {
  const { body } = await api(on, `/api/calls/${id}`);
  return body.active === false && body;
};

async function owner(c: Cluster, id: string): Promise<string | null> {
  const [row] = await c.db`SELECT owner FROM calls WHERE id = ${id}`;
  return row?.owner ?? null;
}

const instanceId = async (s: ServerProcess) => (await api(s, "/health")).body.instance_id as string;

/** How many Twilio requests (webhooks and media upgrades) an instance answered, from its /metrics. */
async function twilioRequests(s: ServerProcess): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const lines = text.split("\n").filter((l) => l.startsWith('agenticai_http_requests_total{route="/twilio/'));
  return lines.reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

async function kill(s: ServerProcess): Promise<void> {
  s.proc.kill("SIGKILL");
  await s.proc.exited;
  children.delete(s);
}

describe("several instances on one PostgreSQL", () => {
  test("a call placed on A whose webhooks and media stream all reach B completes, the same seen from both", async () => {
    const c = await cluster();
    c.proxy.setBackends([backend(c.b)]);
    const id = await place(c.a, TALKS);
    const done = await until(() => ended(c.a, id), "the call to end", 60_000);
    expect(done).toMatchObject({ status: "completed", end_reason: "agent_hangup" });
    expect(await owner(c, id)).toBe(await instanceId(c.b));
    expect(await twilioRequests(c.a)).toBe(0);
    expect(await twilioRequests(c.b)).toBeGreaterThan(3);

    // Once the report is made nothing changes the call any more: both instances show the same one.
    await until(async () => (await api(c.a, `/api/calls/${id}`)).body.report?.outcome, "the report", 30_000);
    const fromA = (await api(c.a, `/api/calls/${id}`)).body;
    const fromB = (await api(c.b, `/api/calls/${id}`)).body;
    expect(fromA.transcript.length).toBeGreaterThan(3);
    expect(fromB).toEqual(fromA);
  });

  test("spread over both instances, webhook by webhook, calls complete with their transcripts", async () => {
    const c = await cluster();
    const ids = [await place(c.a, TALKS), await place(c.b, HANGS_UP)];
    for (const id of ids) await until(() => ended(c.b, id), "the calls to end", 60_000);
    const [talked, hungUp] = await Promise.all(ids.map(async (id) => (await api(c.a, `/api/calls/${id}`)).body));
    expect(talked).toMatchObject({ status: "completed", end_reason: "agent_hangup" });
    expect(talked.transcript.length).toBeGreaterThan(3);
    // The voice webhook prepared a bridge where it landed; if the stream went to the other instance, that
    // bridge's greeting was never heard, and is not in the transcript.
    const greeting = talked.transcript[0].text;
    expect(talked.transcript.filter((t: { text: string }) => t.text === greeting)).toHaveLength(1);
    expect(hungUp).toMatchObject({ status: "completed" });
    expect(await twilioRequests(c.a)).toBeGreaterThan(0);
    expect(await twilioRequests(c.b)).toBeGreaterThan(0);
  });

  test("calls.max_concurrent counts the calls of both: the third is refused on the other instance", async () => {
    const c = await cluster();
    const first = await place(c.a, SILENT);
    const second = await place(c.a, SILENT);
    const third = await api(c.b, "/api/call", { to: SILENT });
    expect(third.status).toBe(429);
    expect(third.body).toEqual({
      success: false,
      error: "Too many active calls: the limit is 2 (calls.max_concurrent)",
    });
    // Ending from either instance goes through Twilio, which closes the stream wherever it runs.
    for (const id of [first, second]) expect((await api(c.b, `/api/calls/${id}/end`, {})).status).toBe(200);
    for (const id of [first, second]) {
      expect(await until(() => ended(c.a, id), "the call to end", 30_000)).toMatchObject({
        end_reason: "ended_by_api",
      });
    }
    expect((await api(c.b, "/api/call", { to: BUSY })).status).toBe(200);
  });

  test("kill -9 of the instance running a live call: Twilio's end reaches the survivor, which settles it", async () => {
    // With resuming off (cluster-resume.test.ts has it on), the stream's end is the call's, as before it existed.
    const c = await cluster(2, 0, "  max_resumes: 0\n");
    const id = await place(c.a, SILENT);
    // The agent has spoken: the bridge is up, and the instance it runs on holds the call.
    await until(async () => (await api(c.a, `/api/calls/${id}`)).body.transcript.length > 0, "the greeting", 10_000);
    const holder = (await owner(c, id)) === (await instanceId(c.a)) ? c.a : c.b;
    const survivor = holder === c.a ? c.b : c.a;
    await kill(holder);
    c.proxy.setBackends([backend(survivor)]);
    const bound = (RING_TIMEOUT_S + 60) * 1000;
    const done = await until(() => ended(survivor, id), "the survivor to settle the call", bound);
    // Mostly the stream closes with the instance, Twilio has no TwiML left and reports the call completed to the
    // survivor. Should that not reach it, the survivor takes the call over once the lease lapses and hangs it up.
    expect(done.status).toBe("completed");
    expect(["completed", "server_restart"]).toContain(done.end_reason);
  });

  test("kill -9 with a ringing call whose callbacks are lost and events in flight: the survivor takes both over", async () => {
    // A slow receiver keeps deliveries in flight when the kill comes.
    const c = await cluster(10, 400);
    const others = [await place(c.a, BUSY), await place(c.b, HANGS_UP)];
    for (const id of others) await until(() => ended(c.b, id), "the first calls to end", 30_000);
    c.proxy.setBackends([backend(c.a)]);
    const ringing = await place(c.a, NO_ANSWER);
    await until(async () => (await api(c.a, `/api/calls/${ringing}`)).body.status === "ringing");
    expect(c.receiver.requests.length).toBeGreaterThan(0);
    await kill(c.a);
    // The ringing call's end goes nowhere: A is the only backend, and dead.
    await until(() => c.carrier.calls.get(sidOf(c.carrier, NO_ANSWER))?.status === "no-answer", "no answer", 60_000);
    c.proxy.setBackends([backend(c.b)]);
    const started = Date.now();
    const done = await until(
      () => ended(c.b, ringing),
      "the survivor to settle the call",
      (RING_TIMEOUT_S + 60) * 1000,
    );
    expect(done).toMatchObject({ status: "no-answer", end_reason: "no_answer" });
    expect(Date.now() - started).toBeLessThan((RING_TIMEOUT_S + 60) * 1000);

    // Every event in the outbox reaches the receiver, those A had claimed when it died included.
    await until(
      async () => (await c.db`SELECT count(*)::int AS n FROM outbox WHERE status <> 'delivered'`)[0].n === 0,
      "every event delivered",
      90_000,
    );
    const stored = await c.db`SELECT event_id FROM outbox WHERE receiver = 'events'`;
    const received = new Set(c.receiver.requests.map((r) => r.headers["webhook-id"]));
    expect(stored.length).toBeGreaterThan(6);
    for (const { event_id } of stored) expect(received.has(event_id)).toBe(true);
  }, 240_000);
});

function sidOf(carrier: Carrier, to: string): string {
  return [...carrier.calls.values()].find((call) => call.to === to)!.sid;
}

test("/health answers 503 while the database cannot be reached, so the load balancer sends work elsewhere", async () => {
  const url = new URL(await pg.createDatabase());
  // The database reached through a relay that can be cut, connections already open included.
  const relay = await startRoundRobinProxy([{ host: url.hostname, port: Number(url.port) }]);
  url.port = String(relay.port);
  const dir = tempDir("agenticai-cluster-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "config.yaml"), "");
  const env = { HOST: "127.0.0.1", PORT: "0", DATABASE_URL: url.href, AGENTICAI_DATA_DIR: join(dir, "data") };
  const server = await spawnServer(["server"], { ...env, AGENTICAI_CONFIG: join(dir, "config.yaml") }, children);
  const up = await api(server, "/health");
  expect(up).toMatchObject({
    status: 200,
    body: { status: "healthy", database: "ok", instance_id: expect.any(String) },
  });

  await relay.stop();
  const started = Date.now();
  const down = await api(server, "/health");
  expect(down.status).toBe(503);
  expect(down.body).toMatchObject({ status: "database_unreachable", database: "unreachable", active_calls: null });
  expect(Date.now() - started).toBeLessThan(5_000);
});
