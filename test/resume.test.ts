// A call whose media stream drops while it is up goes on on a new stream: the simulated carrier follows the
// `<Connect action>` as Twilio does, and the server answers it with a new `<Connect><Stream>`. One real server in
// this process, on SQLite, its stream cut by the carrier as a network would; the cluster's moves are in
// cluster-resume.test.ts.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { LINE_DROPPED_APOLOGY, LINE_DROPPED_NOTE } from "../src/agent/lines.ts";
import type { CallMetrics } from "../src/bridge/metrics.ts";
import { HEADER_BYTES } from "../src/recording/wav-file.ts";
import { conversation, loadScript } from "../src/sim/script.ts";
import { startTestApp, type TestApp, type TestAppOptions } from "./support/app.ts";
import { startReceiver } from "./support/receiver.ts";
import { until } from "./support/until.ts";

setDefaultTimeout(60_000);
const TALKS = "+15550100001";
const SILENT = "+15550100006";
const SPEED = 2;

let app: TestApp | null = null;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await app?.stop();
  app = null;
  for (const fn of cleanups.splice(0)) await fn();
});

async function start(config: TestAppOptions["config"] = {}): Promise<TestApp> {
  const script = await loadScript();
  const receiver = startReceiver();
  cleanups.push(() => receiver.stop());
  app = await startTestApp({
    config: { events: { url: `${receiver.url}/events` }, limits: { api_requests_per_minute: 1_000_000 }, ...config },
    publicUrlSelf: true,
    model: { ...conversation(script, "talks"), speed: SPEED },
    fake: { autoCalls: { script, record: true, speed: SPEED } },
  });
  return app;
}

const detail = async (a: TestApp, id: string) => (await a.api(`/api/calls/${id}`)).body;
const ended = (a: TestApp, id: string) =>
  until(
    async () => {
      const call = await detail(a, id);
      return !call.active && call;
    },
    "the call to end",
    40_000,
  );

/** The types of the call's events in the outbox, oldest first, with their data. */
async function events(a: TestApp, id: string) {
  const rows = await a.ctx.store.listOutbox(null, 200);
  return rows
    .filter((r) => r.call_id === id)
    .reverse()
    .map((r) => ({ type: r.type, data: JSON.parse(r.body).data }));
}

describe("a call whose stream drops", () => {
  test("goes on on a new stream: the conversation restored, every turn once, recording and metrics whole", async () => {
    const a = await start();
    const { id, sid } = await a.call({ to: TALKS, record: true });
    // The greeting and the callee's first answer are said: the agent is answering it when the line drops.
    await until(async () => (await detail(a, id)).transcript.length >= 3, "three turns", 20_000);
    expect(a.twilio.dropStream(sid)).toBe(true);

    const done = await ended(a, id);
    expect(done).toMatchObject({ status: "completed", end_reason: "agent_hangup" });
    const texts = done.transcript.map((t: { text: string }) => t.text).filter(Boolean);
    expect(new Set(texts).size).toBe(texts.length);
    const script = await loadScript();
    for (const step of script.caller) expect(texts).toContain(step.line.text);
    expect(done.status_history.filter((h: { source: string }) => h.source === "resume")).toHaveLength(1);

    // The second session was given what was said before it, then the note; the agent went on from there.
    expect(a.model.sessions).toHaveLength(2);
    const second = a.model.sessions[1]!;
    const restored = second.received.filter((e) => e.type === "conversation.item.create").map((e) => e.item);
    expect(restored[0]).toEqual({
      type: "message",
      role: "assistant",
      content: [{ type: "output_text", text: script.agent[0]!.text }],
    });
    expect(restored).toContainEqual({
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: texts[1] }],
    });
    expect(restored.find((i) => i.role === "system")?.content[0].text).toBe(LINE_DROPPED_NOTE);
    const first = second.received.find((e) => e.type === "response.create");
    expect(first?.response?.instructions).toContain(LINE_DROPPED_APOLOGY);

    // The callee heard the agent again soon after the drop.
    const line = a.twilio.lines.get(sid)!;
    expect(line.drops).toHaveLength(1);
    const drop = line.drops[0]!;
    expect(drop.heardAt! - drop.at).toBeLessThan(3_000);

    // Metrics cover both bridges: every caller frame of both streams was counted.
    const frames = line.streams.reduce((n, s) => n + s.framesSent, 0);
    const metrics = done.metrics as CallMetrics;
    expect(metrics.frames_in).toBeGreaterThan(line.streams[0]!.framesSent);
    expect(metrics.frames_in).toBeLessThanOrEqual(frames);
    expect(metrics.frames_in).toBeGreaterThan(frames - 50);

    // The recording goes on in the same file: both streams' audio is in it.
    const wav = Buffer.from(await (await fetch(`${a.url}/api/calls/${id}/recording`)).arrayBuffer());
    const recordedMs = (wav.length - HEADER_BYTES) / 4 / 8;
    expect(recordedMs).toBeGreaterThan(frames * 20 - 1_000);

    // One call.resumed, with the gap, between the answer and the end.
    const sent = await events(a, id);
    const resumed = sent.filter((e) => e.type === "call.resumed");
    expect(resumed).toHaveLength(1);
    const { gap_ms, ...data } = resumed[0]!.data;
    expect(data).toMatchObject({ call_id: id, resume: 1, status: "in-progress" });
    expect(gap_ms).toBeGreaterThanOrEqual(0);
    expect(gap_ms).toBeLessThan(3_000);
  });

  test("is hung up once it has been resumed calls.max_resumes times (no_media), each resume in its history", async () => {
    const a = await start({ calls: { max_resumes: 2 } });
    const { id, sid } = await a.call({ to: SILENT });
    for (let n = 1; n <= 3; n++) {
      await until(() => a.twilio.media.get(sid)?.isOpen() && a.twilio.lines.get(sid)?.streams.length === n, "a stream");
      await until(async () => (await a.ctx.store.getCall(id))?.stream_lost_at === null, "the stream taken");
      expect(a.twilio.dropStream(sid)).toBe(true);
    }
    const done = await ended(a, id);
    expect(done).toMatchObject({ status: "completed", end_reason: "no_media" });
    expect(done.status_history.filter((h: { source: string }) => h.source === "resume")).toHaveLength(2);
    expect((await events(a, id)).filter((e) => e.type === "call.resumed").map((e) => e.data.resume)).toEqual([1, 2]);
    expect(a.twilio.lines.get(sid)!.streams).toHaveLength(3);
  });

  test("keeps its time: calls.max_duration_s counts from the answer, not from the new stream", async () => {
    const a = await start({ calls: { max_duration_s: 6, silence_reprompt_s: 0, silence_hangup_s: 0 } });
    const { id, sid } = await a.call({ to: SILENT });
    await until(async () => (await detail(a, id)).transcript.length >= 1, "the greeting", 20_000);
    const answeredAt = Date.parse((await detail(a, id)).answered_at);
    await until(() => Date.now() - answeredAt > 3_500, "most of the call's time", 10_000);
    a.twilio.dropStream(sid);
    const done = await ended(a, id);
    expect(done).toMatchObject({ end_reason: "max_duration" });
    expect(done.status_history.filter((h: { source: string }) => h.source === "resume")).toHaveLength(1);
    const lasted = Date.parse(done.ended_at) - answeredAt;
    expect(lasted).toBeGreaterThan(5_500);
    expect(lasted).toBeLessThan(8_500);
  });

  test("keeps the silence it had: quiet before the drop still counts towards the check-in", async () => {
    const a = await start({ calls: { silence_reprompt_s: 3, silence_hangup_s: 0 } });
    const { id, sid } = await a.call({ to: SILENT });
    await until(async () => (await detail(a, id)).transcript.length >= 1, "the greeting");
    // The greeting has played and the line has been quiet for a while when it drops.
    await until(() => (a.twilio.media.get(sid)?.agentQuietMs ?? 0) > 1_500 * SPEED, "quiet", 10_000);
    const droppedAt = Date.now();
    a.twilio.dropStream(sid);
    const checkIn = await until(
      () => a.model.sessions[1]?.received.find((e) => e.response?.instructions?.includes("still there")),
      "the check-in on the new session",
      10_000,
    );
    expect(checkIn).toBeDefined();
    // Counted from the end of the greeting (some 1.5 s before the drop), not from the new stream (3 s after it).
    expect(Date.now() - droppedAt).toBeLessThan(2_500);
    // Neither speaking nor spoken to when the line dropped, the agent did not say it lost anyone.
    const apologies = a.model.sessions[1]!.received.filter((e) =>
      e.response?.instructions?.includes(LINE_DROPPED_APOLOGY),
    );
    expect(apologies).toEqual([]);
    await a.api(`/api/calls/${id}/end`, { method: "POST" });
  });
});

describe("an instance handing its calls over", () => {
  test("answers a stream's upgrade 503, so a balancer tries another, and prepares no bridge for a new stream", async () => {
    const a = await start();
    const { id, sid } = await a.call({ to: SILENT });
    await until(async () => (await detail(a, id)).transcript.length >= 1, "the greeting", 20_000);
    a.ctx.state.handingOver = true;
    const upgrade = await fetch(`${a.url}/twilio/media-stream`, {
      headers: { "X-Twilio-Signature": a.twilio.sign(`${a.url.replace(/^http/, "ws")}/twilio/media-stream`, {}) },
    });
    expect(upgrade.status).toBe(503);
    expect(await upgrade.json()).toEqual({
      success: false,
      error: "This instance is handing its calls over to the others; connect to another",
    });
    const sessions = a.model.sessions.length;
    // The call's stream drops: each action is answered (it is stateless) with no model session opened here, and
    // each new stream refused, until the resumes run out; behind a balancer they would have landed elsewhere.
    a.twilio.dropStream(sid);
    expect(await ended(a, id)).toMatchObject({ end_reason: "no_media" });
    expect((await a.ctx.store.getCall(id))?.resumes).toBe(3);
    expect(a.model.sessions).toHaveLength(sessions);
    expect(a.ctx.bridges.has(id)).toBe(false);
  });
});
