// The realtime model failing under the real server: refused handshakes (401, 429), a quota error after
// session.update, a socket closed mid-reply. One reconnect is tried; if it fails too the caller hears
// an apology through Twilio (<Say>, then <Hangup/>) and the call ends as model_unavailable. The log
// says why, and the server goes on serving other calls.
import { afterEach, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp, type TestAppOptions } from "../support/app.ts";
import { until } from "../support/until.ts";

let app: TestApp;
afterEach(() => app?.stop());

const FAST: TestAppOptions["config"] = { openai: { vad: { silence_ms: 200 } } };

async function start(opts: TestAppOptions = {}) {
  app = await startTestApp({ ...opts, config: { ...FAST, ...opts.config } });
  return app;
}

const detail = async (id: string) => (await app.api(`/api/calls/${id}`)).body;
const logged = (msg: string) => app.logs.filter((l) => l.msg === msg);

/** The apology TwiML the server sent Twilio for this call, once it has. */
const apology = (sid: string) =>
  until(() => app.twilio.requests.find((r) => r.path.endsWith(`/${sid}.json`) && r.form.get("Twiml")), "apology TwiML");

/** The call ended for want of a model: apology through Twilio, end reason, reconnect counted. */
async function expectModelUnavailable(id: string, sid: string) {
  const twiml = (await apology(sid)).form.get("Twiml")!;
  expect(twiml).toContain("<Say>");
  expect(twiml).toContain("<Hangup/>");
  await until(() => app.ctx.bridges.size === 0, "bridge closed");
  const call = await detail(id);
  expect(call.end_reason).toBe("model_unavailable");
  expect(call.metrics.model_reconnects).toBe(1);
  expect(call.metrics.model_connect_ms).toBeNull();
  expect(logged("model unavailable: apologizing and hanging up")).toHaveLength(1);
}

/** A second call on the same server talks normally: greeting audio reaches the caller. */
async function expectHealthyCall() {
  expect((await app.api("/health")).status).toBe(200);
  const { id, sid } = await app.call();
  const media = await app.answer(sid, { instantPlayback: true });
  await until(() => media.totalAudioBytes > 0, "greeting audio on the healthy call");
  expect(app.ctx.bridges.get(id)).toBeDefined();
}

describe("the model refuses the connection", () => {
  test("401 (wrong API key): both attempts fail, the log names the key, the call ends model_unavailable", async () => {
    await start({ config: { openai: { api_key: "sk-wrong" } } });
    const { id, sid } = await app.call();
    await app.twilio.sendVoice(sid);
    await expectModelUnavailable(id, sid);
    const refused = logged("could not connect to the model");
    expect(refused).toHaveLength(2);
    expect(String(refused[0]!.error)).toContain("401");
    expect(refused[0]!.hint).toContain("OPENAI_API_KEY");
    expect((await app.api("/health")).status).toBe(200);
  });

  test("429 twice: model_unavailable with a rate-limit hint; the next call works", async () => {
    await start();
    app.model.rejectConnections(2, 429);
    const { id, sid } = await app.call();
    await app.twilio.sendVoice(sid);
    await expectModelUnavailable(id, sid);
    expect(logged("could not connect to the model")[0]!.hint).toContain("rate limited");
    await expectHealthyCall();
  });

  test("429 once: the reconnect succeeds, the agent still greets and the call goes on", async () => {
    await start();
    app.model.rejectConnections(1, 429);
    const { id, sid } = await app.call();
    const media = await app.answer(sid, { instantPlayback: true });
    await until(() => media.totalAudioBytes > 0, "greeting after the reconnect");
    const call = await detail(id);
    expect(call).toMatchObject({ active: true, end_reason: null });
    expect(app.ctx.bridges.get(id)!.metrics().model_reconnects).toBe(1);
  });
});

describe("the model reports an error after session.update", () => {
  test("insufficient_quota, then the socket closes: reconnect, same error, model_unavailable", async () => {
    await start();
    app.model.failSessions(2);
    const { id, sid } = await app.call();
    await app.twilio.sendVoice(sid);
    await expectModelUnavailable(id, sid);
    const errors = logged("model reported an error");
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toMatchObject({ code: "insufficient_quota" });
    await expectHealthyCall();
  });

  test("insufficient_quota on a socket left open: the server drops it itself instead of staying silent", async () => {
    await start();
    app.model.failSessions(2, { keepOpen: true });
    const { id, sid } = await app.call();
    await app.twilio.sendVoice(sid);
    await expectModelUnavailable(id, sid);
    expect(logged("dropping the model socket")).toHaveLength(2);
  });
});

describe("the model socket closes mid-reply", () => {
  test("the reconnect carries the call on: the caller is answered by the new session, DTMF too", async () => {
    await start({ model: { replyMs: 3000, pacedReplies: true } });
    const { id, sid } = await app.call();
    const media = await app.answer(sid, { instantPlayback: true });
    const first = await until(() => app.model.sessions[0], "model session");
    await until(() => media.totalAudioBytes >= 2400, "part of the greeting");
    first.close(1011);
    const second = await until(() => app.model.sessions[1], "reconnected session");
    await until(() => second.received.some((e) => e.type === "session.update"), "session.update");
    expect(logged("model socket closed")[0]).toMatchObject({ code: 1011 });
    // The interrupted reply is not waited for: a keypad press gets a new response at once.
    media.sendDtmf("7");
    await until(() => second.received.some((e) => e.type === "response.create"), "response to the keypad");
    expect(await detail(id)).toMatchObject({ active: true, end_reason: null });
  });

  test("the reconnect fails too: apology through Twilio, model_unavailable", async () => {
    await start({ model: { replyMs: 3000, pacedReplies: true } });
    const { id, sid } = await app.call();
    const media = await app.answer(sid, { instantPlayback: true });
    const first = await until(() => app.model.sessions[0], "model session");
    await until(() => media.totalAudioBytes >= 2400, "part of the greeting");
    app.model.rejectConnections(1, 503);
    first.close(1011);
    const twiml = (await apology(sid)).form.get("Twiml")!;
    expect(twiml).toContain("<Say>");
    await until(() => app.ctx.bridges.size === 0, "bridge closed");
    expect((await detail(id)).end_reason).toBe("model_unavailable");
    expect(logged("could not connect to the model")[0]!.hint).toContain("failing or overloaded");
    await expectHealthyCall();
  });
});
