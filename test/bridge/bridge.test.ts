// Whole calls through the real server: the fake Twilio places them, the simulated carrier streams
// media, the simulated realtime model answers. Everything runs on 127.0.0.1.
import { afterEach, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp, type TestAppOptions } from "../support/app.ts";
import { until } from "../support/until.ts";

let app: TestApp;
afterEach(() => app?.stop());

// Short VAD silence keeps turns quick; the simulated model reads it from session.update.
const FAST: TestAppOptions["config"] = { openai: { vad: { silence_ms: 200 } } };

async function start(opts: TestAppOptions = {}) {
  app = await startTestApp({ ...opts, config: { ...FAST, ...opts.config } });
  return app;
}

const detail = async (id: string) => (await app.api(`/api/calls/${id}`)).body;

/** The caller says something: loud audio, then enough silence for the model's VAD to end the turn. */
async function say(media: Awaited<ReturnType<TestApp["answer"]>>, ms = 400) {
  await media.sendSpeech(ms);
  await media.sendSilence(300);
}

describe("a whole outbound call", () => {
  test("greeting, two turns, transcripts and measurements", async () => {
    await start({
      model: {
        callerTranscripts: ["I'd like a table for two.", "At seven, please."],
        agentReplies: ["Hello, this is Acme.", "For how many?", "Booked!"],
        replyMs: 300,
      },
    });
    const { id, sid } = await app.call({ prompt: "You book tables for Acme." });
    const media = await app.answer(sid, { instantPlayback: true });
    const session = await until(() => app.model.sessions[0], "model session");

    // session.update in the GA shape, μ-law passthrough, our prompt and the end_call tool.
    const update = (await until(() => session.received.find((e) => e.type === "session.update"), "session.update"))
      .session;
    expect(update.type).toBe("realtime");
    expect(update.instructions).toContain("You book tables for Acme.");
    expect(update.audio.input.format).toEqual({ type: "audio/pcmu" });
    expect(update.audio.output.format).toEqual({ type: "audio/pcmu" });
    expect(update.audio.input.turn_detection).toMatchObject({ type: "server_vad", silence_duration_ms: 200 });
    expect(update.tools.map((t: { name: string }) => t.name)).toEqual(["end_call", "report_outcome", "send_dtmf"]);
    // The greeting's own instructions replace the session's for that response, so they repeat the prompt.
    const greeting = await until(() => session.received.find((e) => e.type === "response.create"), "greeting request");
    expect(greeting.response.instructions).toStartWith("You book tables for Acme.");
    expect(greeting.response.instructions).toContain("Greet the person");

    // The agent speaks first: 300 ms of greeting reaches the caller.
    await until(() => media.received.media > 0 && media.totalAudioBytes >= 2400, "greeting audio");
    await say(media);
    await until(() => media.totalAudioBytes >= 4800, "first reply");
    await say(media);
    await until(() => media.totalAudioBytes >= 7200, "second reply");

    const call = await until(async () => {
      const c = await detail(id);
      return c.transcript.length === 5 && c.transcript.at(-1).text === "Booked!" ? c : null;
    }, "five transcript turns");
    expect(call.transcript.map((t: { role: string; text: string }) => `${t.role}: ${t.text}`)).toEqual([
      "agent: Hello, this is Acme.",
      "caller: I'd like a table for two.",
      "agent: For how many?",
      "caller: At seven, please.",
      "agent: Booked!",
    ]);
    const text = await (await fetch(`${app.url}/api/calls/${id}/transcript`)).text();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\] Agent: Hello, this is Acme\.\n/);

    // Audio went through untouched: every byte the model sent arrived at the caller.
    expect(media.totalAudioBytes).toBe(session.audioBytesSent);
    expect(session.audioBytes).toBeGreaterThan(0);
    expect(media.protocolErrors).toBe(0);

    media.stop();
    await until(() => app.ctx.bridges.size === 0, "bridge closed");
    const m = (await detail(id)).metrics;
    expect(m.time_to_first_audio_ms).toBeGreaterThanOrEqual(0);
    expect(m.turn_latency_ms).toHaveLength(2);
    expect(m.frames_in).toBeGreaterThan(0);
    expect(m.frames_out).toBe(session.deltaCount);
    expect(m.usage.total_tokens).toBeGreaterThan(0);
    expect(m.frames_dropped_in + m.frames_dropped_out).toBe(0);
  });

  test("the linear PCM path: the model gets 24 kHz PCM, the caller still gets μ-law at the same duration", async () => {
    await start({ config: { audio: { format: "pcm" } }, model: { replyMs: 500 } });
    const { sid } = await app.call();
    const media = await app.answer(sid, { instantPlayback: true });
    const session = await until(() => app.model.sessions[0], "model session");
    const update = (await until(() => session.received.find((e) => e.type === "session.update"), "session.update"))
      .session;
    expect(update.audio.input.format).toEqual({ type: "audio/pcm", rate: 24000 });
    await until(() => media.totalAudioBytes >= 3990, "500 ms of greeting as μ-law");
    await media.sendSilence(200);
    // 200 ms at 8 kHz μ-law in → 200 ms at 24 kHz PCM16 out: 6 bytes per μ-law byte.
    await until(() => session.audioBytes >= 1600 * 6, "caller audio upsampled");
    expect(session.audioBytes % 6).toBe(0);
  });
});

describe("barge-in", () => {
  test("clear and truncate at what the caller really heard; the rest of the reply is dropped", async () => {
    await start({ model: { replyMs: 3000, agentReplies: ["A very long greeting that goes on and on."] } });
    const { id, sid } = await app.call();
    const media = await app.answer(sid);
    const session = await until(() => app.model.sessions[0], "model session");
    await until(() => media.playedMs >= 600, "600 ms of greeting played");
    const spokeAt = Date.now();
    await media.sendSpeech(300);
    await until(() => media.received.clears === 1, "clear");
    const truncate = await until(() => session.truncates[0], "truncate");
    // Twilio stopped playing at the clear; the truncate point is what it had played, to within a mark's step.
    expect(Math.abs(truncate.audio_end_ms - media.playedMs)).toBeLessThanOrEqual(60);
    expect(truncate.audio_end_ms).toBeGreaterThan(500);
    expect(truncate.audio_end_ms).toBeLessThan(3000);
    await media.sendSilence(300);
    const call = await until(async () => {
      const c = await detail(id);
      return c.transcript.some((t: { interrupted: boolean }) => t.interrupted) ? c : null;
    }, "interrupted turn");
    expect(call.transcript[0]).toMatchObject({
      role: "agent",
      text: "A very long greeting that goes on and on.",
      interrupted: true,
    });
    // The turn began when its audio did, not at the barge-in (which may come after its transcript).
    expect(Date.parse(call.transcript[0].at)).toBeLessThanOrEqual(spokeAt - 500);
    const metrics = app.ctx.bridges.get(id)!.metrics();
    expect(metrics.barge_ins).toBe(1);
    expect(metrics.barge_in_reaction_ms[0]).toBeLessThan(20);
  });
});

describe("call control", () => {
  test("end_call: the goodbye plays out, then the call is hung up through Twilio", async () => {
    await start({ model: { callerTranscripts: ["Thanks, goodbye!"], replyMs: 200 } });
    const { id, sid } = await app.call();
    const media = await app.answer(sid);
    await until(() => media.playedMs >= 200, "greeting played");
    await say(media);
    await until(() => app.twilio.requests.some((r) => r.form.get("Status") === "completed"), "hang-up request", 8_000);
    // The goodbye (200 ms) had fully played before Twilio was asked to hang up.
    expect(media.playedMs).toBeGreaterThanOrEqual(400);
    await app.twilio.flush();
    expect(await detail(id)).toMatchObject({ status: "completed", end_reason: "agent_hangup", active: false });
    const session = app.model.sessions[0]!;
    expect(
      session.received.some((e) => e.type === "conversation.item.create" && e.item.type === "function_call_output"),
    ).toBe(true);
    await until(() => session.closed, "model socket closed");
  });

  test("POST /api/calls/{id}/end closes both sockets", async () => {
    await start();
    const { id, sid } = await app.call();
    const media = await app.answer(sid);
    const session = await until(() => app.model.sessions[0], "model session");
    await app.api(`/api/calls/${id}/end`, { method: "POST" });
    await media.closed;
    await until(() => session.closed, "model socket closed");
    expect(app.ctx.bridges.size).toBe(0);
  });

  test("Twilio hangs up: the model session is closed within a second", async () => {
    await start();
    const { sid } = await app.call();
    const media = await app.answer(sid);
    const session = await until(() => app.model.sessions[0], "model session");
    media.stop();
    await until(() => session.closed, "model socket closed", 1_000);
    expect(app.ctx.bridges.size).toBe(0);
  });

  test("DTMF reaches the model as a user message", async () => {
    await start();
    const { sid } = await app.call();
    const media = await app.answer(sid);
    const session = await until(() => app.model.sessions[0], "model session");
    await until(() => session.received.some((e) => e.type === "response.create"), "greeting requested");
    media.sendDtmf("5");
    const item = await until(() => session.received.find((e) => e.type === "conversation.item.create"), "dtmf item");
    expect(item.item.content[0].text).toBe("The caller pressed 5 on the keypad.");
  });

  test("the maximum duration is enforced by a server timer as well as TimeLimit", async () => {
    await start({ config: { calls: { max_duration_s: 1 } } });
    const { id, sid } = await app.call();
    await app.answer(sid);
    await until(
      () => app.twilio.requests.some((r) => r.form.get("Status") === "completed"),
      "hang-up at the limit",
      3_000,
    );
    expect((await detail(id)).end_reason).toBe("max_duration");
  });
});

describe("gaps in Twilio's audio", () => {
  test("a timestamp jump (Twilio dropped audio) is filled with silence of the same length", async () => {
    await start();
    const { id, sid } = await app.call();
    const media = await app.answer(sid, { instantPlayback: true });
    const session = await until(() => app.model.sessions[0], "model session");
    await media.sendSilence(100); // five frames stamped 20…100: the next is due at 120
    await until(() => session.audioBytes >= 800, "first frames");
    const frame = (timestamp: number) =>
      JSON.stringify({
        event: "media",
        sequenceNumber: "99",
        streamSid: media.streamSid,
        media: {
          track: "inbound",
          chunk: "99",
          timestamp: String(timestamp),
          payload: Buffer.alloc(160, 0xff).toString("base64"),
        },
      });
    // It comes stamped 620: 500 ms were lost on the way.
    media.sendRaw(frame(620));
    await until(() => session.audioBytes >= 800 + 4000 + 160 - 3, "gap filled");
    expect(session.audioBytes).toBeLessThanOrEqual(800 + 4000 + 160);
    expect(app.ctx.bridges.get(id)!.metrics().gap_filled_ms).toBe(500);
  });
});

describe("model failures", () => {
  test("a dropped model socket is reopened once with the instructions and the conversation so far", async () => {
    await start({ model: { callerTranscripts: ["My order number is 42."], replyMs: 200 } });
    const { sid } = await app.call({ prompt: "Order desk." });
    const media = await app.answer(sid, { instantPlayback: true });
    const first = await until(() => app.model.sessions[0], "model session");
    await say(media);
    await until(
      async () =>
        (await app.ctx.store.transcript((await app.ctx.store.getCallBySid(sid))!.id)).some((t) => t.role === "caller"),
      "caller turn stored",
    );
    first.close(1011);
    const second = await until(() => app.model.sessions[1], "reconnected session");
    const update = await until(() => second.received.find((e) => e.type === "session.update"), "session.update");
    expect(update.session.instructions).toContain("Order desk.");
    expect(update.session.instructions).toContain("Caller: My order number is 42.");
    // The call goes on: caller audio flows to the new session.
    await media.sendSilence(100);
    await until(() => second.audioBytes > 0, "audio to the new session");
  });

  test("if the model cannot be reached again, the caller hears an apology and the call ends as model_unavailable", async () => {
    await start();
    const { id, sid } = await app.call();
    await app.answer(sid);
    const first = await until(() => app.model.sessions[0], "model session");
    app.model.rejectConnections(5);
    first.close(1011);
    const update = await until(() => app.twilio.requests.find((r) => r.form.get("Twiml")), "apology TwiML", 5_000);
    expect(update.form.get("Twiml")).toContain("<Say>");
    expect(update.form.get("Twiml")).toContain("<Hangup/>");
    expect((await detail(id)).end_reason).toBe("model_unavailable");
  });
});

describe("the media socket refuses what is not Twilio", () => {
  test("a bad signature fails the upgrade (403)", async () => {
    await start();
    const { sid } = await app.call();
    await app.twilio.sendVoice(sid);
    const url = `${app.url.replace(/^http/, "ws")}/twilio/media-stream`;
    const res = await fetch(url.replace(/^ws/, "http"), {
      headers: {
        Upgrade: "websocket",
        Connection: "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "X-Twilio-Signature": "bad",
      },
    });
    expect(res.status).toBe(403);
  });

  test("a start with an unknown call or a wrong stream token is closed and opens nothing upstream", async () => {
    await start();
    const { id, sid } = await app.call();
    const url = `${app.url.replace(/^http/, "ws")}/twilio/media-stream`;
    const { connectMediaStream } = await import("../../src/sim/media-stream.ts");
    for (const customParameters of [
      { call_id: id, stream_token: "forged" },
      { call_id: "nope", stream_token: "x" },
      {},
    ] as Record<string, string>[]) {
      const media = await connectMediaStream({
        url,
        signature: app.twilio.sign(url, {}),
        accountSid: app.twilio.accountSid,
        callSid: sid,
        customParameters,
      });
      const closed = await media.closed;
      expect(closed.code).toBe(1008);
    }
    expect(app.model.sessions).toHaveLength(0);
  });

  test("junk frames are ignored and the server stays healthy; the call still works", async () => {
    await start();
    const { sid } = await app.call();
    const media = await app.answer(sid, { instantPlayback: true });
    media.sendRaw("{not json");
    media.sendRaw(new Uint8Array([1, 2, 3]));
    media.sendRaw(JSON.stringify({ event: "media", media: { payload: 42 } }));
    media.sendRaw(JSON.stringify({ event: "bogus" }));
    await media.sendSilence(100);
    const session = await until(() => app.model.sessions[0], "model session");
    await until(() => session.audioBytes >= 800, "audio after junk");
    expect((await app.api("/health")).status).toBe(200);

    // A 1 MB message is over the frame limit: that socket is closed, nothing else is affected.
    const other = await app.call();
    const big = await app.answer(other.sid);
    big.sendRaw("x".repeat(1024 * 1024));
    expect((await big.closed).code).not.toBe(1000);
    expect((await app.api("/health")).status).toBe(200);
    expect(media.isOpen()).toBe(true);
  });

  test("a socket that never sends a valid start is closed after 5 s", async () => {
    await start();
    const { sid } = await app.call();
    await app.twilio.sendVoice(sid);
    const url = `${app.url.replace(/^http/, "ws")}/twilio/media-stream`;
    const ws = new WebSocket(url, { headers: { "X-Twilio-Signature": app.twilio.sign(url, {}) } });
    const code = await new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)));
    expect(code).toBe(1008);
  }, 10_000);
});
