// A graceful stop: new calls are refused while the calls up go on; those still up at the end hear the
// agent's goodbye and are hung up through Twilio, recorded as shutdown. A second signal hurries it.
import { afterEach, describe, expect, test } from "bun:test";
import { SHUTDOWN_GOODBYE } from "../src/agent/lines.ts";
import { drain } from "../src/calls/drain.ts";
import { DRAINING } from "../src/calls/errors.ts";
import { startTestApp, type TestApp, type TestAppOptions } from "./support/app.ts";
import { until } from "./support/until.ts";

let app: TestApp;
afterEach(() => app?.stop());

const start = (drainS: number, model: TestAppOptions["model"] = {}) =>
  startTestApp({ config: { shutdown: { drain_s: drainS }, openai: { vad: { silence_ms: 200 } } }, model });
const detail = async (id: string) => (await app.api(`/api/calls/${id}`)).body;
const ended = (id: string) =>
  until(async () => {
    const call = await detail(id);
    return !call.active && call;
  }, "the call to end");

describe("draining for a stop", () => {
  test("new calls get 503; a call still up hears a goodbye, then is hung up as shutdown", async () => {
    app = await start(0, { agentReplies: ["Hello!", "Sorry, I have to go now. Goodbye!"], replyMs: 200 });
    const { id, sid } = await app.call();
    const media = await app.answer(sid, { instantPlayback: true });
    await until(() => media.totalAudioBytes >= 1600, "the greeting");

    const done = drain(app.ctx, new AbortController().signal);
    const health = await app.api("/health");
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: "draining", active_calls: 1 });
    const refused = await app.api("/api/call", { body: { to: "+15551230002", webhook_url: app.url } });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ success: false, error: DRAINING });
    await done;

    const session = app.model.sessions[0]!;
    const goodbye = session.received.find(
      (e) => e.type === "response.create" && e.response?.instructions?.includes(SHUTDOWN_GOODBYE),
    );
    expect(goodbye).toBeDefined();
    // The greeting and then the goodbye, 200 ms each, reached the caller before the hang-up.
    expect(media.totalAudioBytes).toBeGreaterThanOrEqual(3200);
    await app.twilio.flush();
    expect(await ended(id)).toMatchObject({ status: "completed", end_reason: "shutdown" });
  });

  test("calls that end by themselves within drain_s are left to end", async () => {
    app = await start(5);
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "ringing");
    const done = drain(app.ctx, new AbortController().signal);
    await Bun.sleep(200);
    await app.twilio.sendStatus(sid, "busy");
    const t0 = Date.now();
    await done;
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await detail(id)).toMatchObject({ status: "busy", end_reason: "busy" });
  });

  test("a second signal skips the waiting: a ringing call is canceled as shutdown at once", async () => {
    app = await start(30);
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "ringing");
    const hurry = new AbortController();
    const t0 = Date.now();
    const done = drain(app.ctx, hurry.signal);
    await Bun.sleep(100);
    hurry.abort();
    await done;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(app.twilio.requests.some((r) => r.form.get("Status") === "canceled")).toBe(true);
    await app.twilio.flush();
    expect(await ended(id)).toMatchObject({ status: "canceled", end_reason: "shutdown" });
  });
});
