// Calls that outlive their instance. Real agenticai processes on one real PostgreSQL behind the round-robin proxy,
// the simulated carrier following each stream's <Connect action> as Twilio does: a kill -9 or a deploy (SIGTERM)
// of the instance bridging a call, and the call goes on through another one, from where it was. Also what the
// instances tell each other over LISTEN/NOTIFY: the voicemail verdict that lands on the other instance, and the
// console's live feed, which follows changes made anywhere and catches up after its listening connection drops.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { SHUTDOWN_GOODBYE } from "../src/agent/lines.ts";
import { connectMediaStream } from "../src/sim/media-stream.ts";
import { type Cluster, followHealth, holder, instanceId, startCluster } from "./support/cluster.ts";
import { type Postgres, startPostgres } from "./support/postgres.ts";
import { childApi as api, cleanedAfterEach, type ServerProcess } from "./support/process.ts";
import { until } from "./support/until.ts";

setDefaultTimeout(180_000);

const TALKS = "+15550100001";
const SILENT = "+15550100006";
const VOICEMAIL = "+15550100007";
const HANDOVER_DELAY_S = 1;

const { children, cleanups } = cleanedAfterEach();
let pg: Postgres;

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

async function place(on: ServerProcess, to: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api(on, "/api/call", { to, prompt: "Cluster test call.", ...extra });
  if (res.status !== 200) throw new Error(`call refused: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.call_id;
}

const detail = async (on: ServerProcess, id: string) => (await api(on, `/api/calls/${id}`)).body;
const ended = (on: ServerProcess, id: string, ms = 60_000) =>
  until(
    async () => {
      const call = await detail(on, id);
      return !call.active && call;
    },
    "the call to end",
    ms,
  );

async function kill(s: ServerProcess): Promise<void> {
  s.proc.kill("SIGKILL");
  await s.proc.exited;
  children.delete(s);
}

/** A talking call, its agent answering the callee's first words: the moment to pull its instance away. */
async function talkingCall(c: Cluster): Promise<{ id: string; on: ServerProcess; others: ServerProcess[] }> {
  const id = await place(c.servers[0]!, TALKS);
  await until(async () => (await detail(c.servers[0]!, id)).transcript.length >= 3, "three turns", 30_000);
  const on = (await holder(c, id))!;
  return { id, on, others: c.servers.filter((s) => s !== on) };
}

/**
 * What the move must leave: the call ends as its conversation does, every turn in its transcript once, one resume
 * in its history and one call.resumed event; the new model session was given the earlier turns, and the callee
 * heard the agent again within 3 s.
 */
async function expectCarriedOn(c: Cluster, id: string, survivor: ServerProcess) {
  const done = await ended(survivor, id);
  expect(done).toMatchObject({ status: "completed", end_reason: "agent_hangup" });
  const texts = done.transcript.map((t: { text: string }) => t.text).filter(Boolean);
  expect(new Set(texts).size).toBe(texts.length);
  for (const step of c.sims.script.caller) expect(texts).toContain(step.line.text);
  expect(done.status_history.filter((h: { source: string }) => h.source === "resume")).toHaveLength(1);
  expect(await (await api(survivor, `/api/calls/${id}`)).body.status_history.at(-1).source).not.toBe("reconcile");

  const greeting = c.sims.script.agent[0]!.text;
  const restored = c.sims.model.sessions.filter((s) =>
    s.received.some((e) => e.type === "conversation.item.create" && e.item?.content?.[0]?.text === greeting),
  );
  expect(restored).toHaveLength(1);

  const line = c.sims.carrier.lines.get(done.call_sid)!;
  expect(line.drops).toHaveLength(1);
  expect(line.drops[0]!.heardAt! - line.drops[0]!.at).toBeLessThan(3_000);
  const event = await c.receiver.until(
    (requests) => requests.find((r) => r.json?.type === "call.resumed" && r.json.data.call_id === id),
    30_000,
    "call.resumed",
  );
  expect(event.json.data).toMatchObject({ resume: 1 });
  return done;
}

describe("a live call whose instance goes away", () => {
  test("kill -9: the call goes on through the other instance, from where it was", async () => {
    const c = await startCluster(pg, children, cleanups, { speed: 1 });
    const { id, on, others } = await talkingCall(c);
    await kill(on);
    await expectCarriedOn(c, id, others[0]!);
    expect((await c.db`SELECT owner FROM calls WHERE id = ${id}`)[0].owner).toBe(await instanceId(others[0]!));
  });

  test("SIGTERM hands it over: /health 503, then the streams close; exit within handover_delay_s + 5 s", async () => {
    const c = await startCluster(pg, children, cleanups, {
      speed: 1,
      yaml: `shutdown:\n  handover_delay_s: ${HANDOVER_DELAY_S}\n  drain_s: 30\n`,
    });
    const { id, on, others } = await talkingCall(c);
    const stopChecking = followHealth(c, c.servers);
    cleanups.push(stopChecking);
    const t0 = Date.now();
    on.proc.kill("SIGTERM");
    const health = await until(async () => {
      const res = await api(on, "/health");
      return res.status !== 200 && res;
    }, "/health to answer 503");
    expect(health).toMatchObject({ status: 503, body: { status: "draining" } });
    await on.proc.exited;
    expect(Date.now() - t0).toBeLessThan((HANDOVER_DELAY_S + 5) * 1000);
    children.delete(on);
    expect(on.logs.some((l) => l.msg === "calls handed over: their streams are closed")).toBe(true);

    const done = await expectCarriedOn(c, id, others[0]!);
    expect(done.end_reason).not.toBe("shutdown");
    const goodbyes = c.sims.model.sessions.flatMap((s) =>
      s.received.filter((e) => e.response?.instructions?.includes(SHUTDOWN_GOODBYE)),
    );
    expect(goodbyes).toEqual([]);
  });

  test("20 live calls on one instance, kill -9: all 20 carry on on the other", async () => {
    const c = await startCluster(pg, children, cleanups, {
      speed: 2,
      yaml: "calls:\n  max_concurrent: 30\n  silence_reprompt_s: 0\n  silence_hangup_s: 0\n",
    });
    const [a, b] = c.servers as [ServerProcess, ServerProcess];
    c.route(a);
    const ids = await Promise.all(Array.from({ length: 20 }, () => place(a, SILENT)));
    const aId = await instanceId(a);
    const bridgedOn = async (instance: string) =>
      (
        await c.db`SELECT count(*)::int AS n FROM calls WHERE owner = ${instance} AND ended_at IS NULL
                  AND EXISTS (SELECT 1 FROM transcript t WHERE t.call_id = calls.id)`
      )[0].n;
    await until(async () => (await bridgedOn(aId)) === 20, "20 calls greeted on A", 60_000);
    c.route(a, b);
    await kill(a);

    const bId = await instanceId(b);
    await until(
      async () =>
        (
          await c.db`SELECT count(*)::int AS n FROM calls WHERE owner = ${bId} AND ended_at IS NULL
                    AND resumes = 1 AND stream_lost_at IS NULL`
        )[0].n === 20,
      "all 20 taken over by B",
      60_000,
    );
    // Each is live on B: its new stream up at the carrier, one resume in its history, and it ends when asked.
    for (const id of ids) {
      const call = await detail(b, id);
      expect(call.active).toBe(true);
      expect(c.sims.carrier.lines.get(call.call_sid)!.streams).toHaveLength(2);
      expect(c.sims.carrier.media.get(call.call_sid)!.isOpen()).toBe(true);
      expect(call.status_history.filter((h: { source: string }) => h.source === "resume")).toHaveLength(1);
    }
    for (const id of ids) expect((await api(b, `/api/calls/${id}/end`, {})).status).toBe(200);
    for (const id of ids) expect(await ended(b, id)).toMatchObject({ status: "completed", end_reason: "ended_by_api" });
  });

  test("alone on the database, SIGTERM keeps the drain: the goodbye, then the hang-up as shutdown", async () => {
    const c = await startCluster(pg, children, cleanups, {
      instances: 1,
      speed: 2,
      yaml: "shutdown:\n  drain_s: 1\n",
    });
    const a = c.servers[0]!;
    const id = await place(a, SILENT);
    await until(async () => (await detail(a, id)).transcript.length >= 1, "the greeting", 30_000);
    a.proc.kill("SIGTERM");
    await a.proc.exited;
    children.delete(a);
    expect(a.logs.find((l) => l.msg === "shutting down")).toMatchObject({ calls: "drained" });
    const [row] = await c.db`SELECT status, end_reason, resumes FROM calls WHERE id = ${id}`;
    expect(row).toMatchObject({ status: "completed", end_reason: "shutdown", resumes: 0 });
    const goodbyes = c.sims.model.sessions.flatMap((s) =>
      s.received.filter((e) => e.response?.instructions?.includes(SHUTDOWN_GOODBYE)),
    );
    expect(goodbyes).toHaveLength(1);
  });
});

describe("signals between the instances (LISTEN/NOTIFY)", () => {
  test("voicemail: leave_message works when the detection result lands on the other instance", async () => {
    const c = await startCluster(pg, children, cleanups, { speed: 2 });
    const [a, b] = c.servers as [ServerProcess, ServerProcess];
    c.route(a);
    const message = "Hi, this is Ava from Acme Dental. Please call us back about tomorrow.";
    const id = await place(a, VOICEMAIL, { voicemail: "leave_message", voicemail_message: message });
    await until(async () => (await detail(a, id)).transcript.length >= 1, "the stream on A", 30_000);
    expect(await holder(c, id)).toBe(a);
    // From here every webhook, the detection result included, reaches B; the stream stays on A.
    c.route(b);
    const done = await ended(b, id);
    expect(done).toMatchObject({ end_reason: "voicemail", answered_by: "machine_end_beep" });
    expect(done.transcript.map((t: { text: string }) => t.text)).toContain(message);
    const amdOnB = (await (await fetch(`${b.url}/metrics`)).text()).includes('route="/twilio/amd"');
    expect(amdOnB).toBe(true);
  });

  test("a bridge prepared on one instance is released at once when its stream lands on the other", async () => {
    const c = await startCluster(pg, children, cleanups, { yaml: "inbound:\n  enabled: true\n" });
    const [a, b] = c.servers as [ServerProcess, ServerProcess];
    const carrier = c.sims.carrier;
    // The inbound call's voice webhook, signed for the balancer's URL as Twilio signs it, reaches A, which
    // admits the call and prepares its bridge (a model session); the stream then goes to B.
    carrier.deliverTo = a.url;
    const { callSid, response } = await carrier.sendInbound(`${c.proxy.url}/twilio/voice`, { from: "+15557654321" });
    carrier.deliverTo = undefined;
    const twiml = await response.text();
    await until(() => c.sims.model.sessions.length === 1, "A's model session");
    const prepared = c.sims.model.sessions[0]!;
    const parameters = Object.fromEntries(
      [...twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1]!, m[2]!]),
    );
    const streamUrl = `${c.proxy.url.replace(/^http/, "ws")}/twilio/media-stream`;
    const started = Date.now();
    const media = await connectMediaStream({
      url: `${b.url.replace(/^http/, "ws")}/twilio/media-stream`,
      signature: carrier.sign(streamUrl, {}),
      accountSid: carrier.accountSid,
      callSid,
      customParameters: parameters,
    });
    cleanups.push(() => media.close());
    await until(() => prepared.closed, "A's prepared session closed", 5_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(a.logs.some((l) => l.msg === "the call's stream is on another instance: its bridge here ends")).toBe(true);
    // B runs the call: the greeting reaches the caller from B's session.
    await until(() => media.totalAudioBytes > 0, "the greeting from B", 10_000);
    expect(c.sims.model.sessions).toHaveLength(2);
    expect(c.sims.model.sessions[1]!.closed).toBe(false);
  });

  test("the live feed shows a change made on the other instance within 1 s, and catches up after a drop", async () => {
    const c = await startCluster(pg, children, cleanups, { speed: 2 });
    const [a, b] = c.servers as [ServerProcess, ServerProcess];
    // Every webhook to A: B learns of A's calls only from A.
    c.route(a);
    const feed = await liveFeed(b);
    cleanups.push(feed.close);
    const t0 = Date.now();
    const id = await place(a, SILENT);
    await until(() => feed.frames.some((f) => f.event === "call" && f.data.call_id === id), "the call on B", 5_000);
    expect(Date.now() - t0).toBeLessThan(1_000);

    // Bun reconnects a dropped listening connection and listens again; the feed then reads everything anew.
    const before = feed.frames.length;
    await c.db`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = current_database() AND query ILIKE 'LISTEN%'`;
    const missed = await place(a, SILENT);
    const caughtUp = await until(
      () => feed.frames.slice(before).find((f) => f.event === "calls"),
      "the feed reading everything again",
      30_000,
    );
    const listed = [...caughtUp.data.active, ...caughtUp.data.recent].map((call: { call_id: string }) => call.call_id);
    expect(listed).toContain(id);
    await until(
      () => feed.frames.some((f) => (f.event === "call" && f.data.call_id === missed) || listedIn(f, missed)),
      "the call placed meanwhile",
      10_000,
    );
    for (const call of [id, missed]) expect((await api(a, `/api/calls/${call}/end`, {})).status).toBe(200);
  });
});

const listedIn = (f: Frame, id: string) =>
  f.event === "calls" && [...f.data.active, ...f.data.recent].some((call: { call_id: string }) => call.call_id === id);

interface Frame {
  event: string;
  data: any;
}

/** GET /api/stream, its frames collected as they come. */
async function liveFeed(on: ServerProcess): Promise<{ frames: Frame[]; close(): void }> {
  const abort = new AbortController();
  const res = await fetch(`${on.url}/api/stream`, { signal: abort.signal });
  const frames: Frame[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const parts = buffer.split("\n\n");
      buffer = parts.pop() ?? "";
      for (const part of parts) {
        const event = /^event: (.*)$/m.exec(part)?.[1];
        const data = /^data: (.*)$/m.exec(part)?.[1];
        if (event && data) frames.push({ event, data: JSON.parse(data) });
      }
    }
  })();
  return { frames, close: () => abort.abort() };
}
