// Whole calls on provider "google": the real server, the fake Twilio and the simulated Gemini Live server, all on
// 127.0.0.1. Each ability the OpenAI path has is walked here on Gemini's protocol.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type GatewaySim, startGatewaySim } from "../../src/sim/gateway.ts";
import { type GeminiSim, type GeminiSimOptions, startGeminiSim } from "../../src/sim/gemini-live.ts";
import { startTestApp, type TestApp, type TestAppOptions } from "../support/app.ts";
import { until } from "../support/until.ts";

setDefaultTimeout(30_000);

let app: TestApp | null = null;
let gemini: GeminiSim | null = null;
let gateway: GatewaySim | null = null;
afterEach(async () => {
  await app?.stop();
  gemini?.stop();
  gateway?.stop();
  app = gemini = gateway = null;
});

async function start(sim: GeminiSimOptions = {}, opts: TestAppOptions = {}) {
  gemini = startGeminiSim({ silenceMs: 300, replyMs: 300, ...sim });
  app = await startTestApp({
    ...opts,
    config: {
      gemini: { api_key: gemini.apiKey, base_url: gemini.baseUrl },
      limits: { api_requests_per_minute: 1_000_000 },
      ...opts.config,
    },
  });
  return { a: app, g: gemini };
}

const detail = async (a: TestApp, id: string) => (await a.api(`/api/calls/${id}`)).body;
const ended = (a: TestApp, id: string) =>
  until(async () => ((await detail(a, id)).active ? null : detail(a, id)), "the call to end", 15_000);

describe("a whole call on Gemini Live", () => {
  test("greeting, caller audio, a reply, transcripts, a goodbye with report_outcome and end_call", async () => {
    const { a, g } = await start({
      callerTranscripts: ["I'd like a table for two.", "Thanks, goodbye!"],
      agentReplies: ["Hello, this is Acme.", "For how many?", "Booked, goodbye!"],
      reportOutcome: { outcome: "completed_goal", summary: "A table for two.", facts: { people: 2 } },
    });
    const { id, sid } = await a.call({ provider: "google", voice: "Puck", prompt: "You book tables for Acme." });
    const media = await a.answer(sid, { instantPlayback: true });
    const session = await until(() => (g.sessions[0]?.setup.model ? g.sessions[0] : null), "Gemini session set up");
    // The setup names the model and voice, our prompt, the tools, and asks for transcripts and resumption.
    expect(session.setup).toMatchObject({
      model: "models/gemini-3.1-flash-live-preview",
      generationConfig: {
        responseModalities: ["AUDIO"],
        speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Puck" } } },
      },
      inputAudioTranscription: {},
      outputAudioTranscription: {},
      sessionResumption: {},
      contextWindowCompression: { slidingWindow: {} },
    });
    expect(session.setup.systemInstruction.parts[0].text).toContain("You book tables for Acme.");
    const names = session.setup.tools[0].functionDeclarations.map((f: { name: string }) => f.name);
    expect(names).toEqual(["end_call", "report_outcome", "send_dtmf"]);

    await until(() => media.received.media > 0, "the greeting's audio");
    await media.sendSpeech(600);
    await media.sendSilence(500);
    await until(() => session.replies >= 2, "the reply");
    await until(() => media.playedMs >= 550, "the reply's audio");
    await media.sendSpeech(400);
    await media.sendSilence(500);
    const call = await ended(a, id);

    expect(call).toMatchObject({ end_reason: "agent_hangup", options: { provider: "google", voice: "Puck" } });
    // Caller audio: 8 kHz PCM16 told as such, and at least 90 % of what Twilio sent.
    expect([...session.audioMimeTypes]).toEqual(["audio/pcm;rate=8000"]);
    expect(session.audioBytes).toBeGreaterThanOrEqual(0.9 * media.framesSent * 320);
    // Each tool call was answered with its id before the call ended.
    expect(session.toolResponses.map((r) => r.name).sort()).toEqual(["end_call", "report_outcome"]);
    expect(session.toolResponses.map((r) => r.id).sort()).toEqual(session.toolCalls.map((c) => c.id).sort());
    for (const r of session.toolResponses) expect(r.response).toMatchObject({ ok: true });
    expect(call.transcript.map((t: { role: string; text: string }) => [t.role, t.text])).toEqual([
      ["agent", "Hello, this is Acme."],
      ["caller", "I'd like a table for two."],
      ["agent", "For how many?"],
      ["caller", "Thanks, goodbye!"],
      ["agent", "Booked, goodbye!"],
    ]);
    // usageMetadata in OpenAI's terms, as the cost is priced: each finished turn's 80 in (30 audio), 40 out (30 audio).
    const { usage } = call.metrics;
    expect(usage.input_tokens).toBeGreaterThanOrEqual(160);
    expect(usage).toMatchObject({
      input_audio_tokens: (usage.input_tokens / 80) * 30,
      output_tokens: usage.input_tokens / 2,
      output_audio_tokens: (usage.input_tokens / 80) * 30,
    });
    await until(() => session.closed, "the Gemini socket closed");
    const report = await until(async () => (await detail(a, id)).report, "the report");
    expect(report).toMatchObject({ outcome: "completed_goal" });
  });

  test("barge-in: the model's interrupted clears Twilio's buffer at once", async () => {
    const { a, g } = await start({ replyMs: 4000, pacedReplies: true, agentReplies: ["A very long greeting."] });
    const { id, sid } = await a.call({ provider: "google" });
    const media = await a.answer(sid);
    const session = await until(() => g.sessions[0], "Gemini session");
    await until(() => media.playedMs >= 600, "600 ms of greeting played");
    await media.sendSpeech(300);
    await until(() => media.received.clears === 1, "the clear");
    const clearedAt = performance.now();
    expect(clearedAt - session.interruptedAt[0]!).toBeLessThanOrEqual(200);
    await media.sendSilence(400);
    const call = await until(async () => {
      const c = await detail(a, id);
      return c.transcript.some((t: { interrupted: boolean }) => t.interrupted) ? c : null;
    }, "the interrupted turn");
    expect(call.transcript[0]).toMatchObject({ role: "agent", interrupted: true });
    expect(a.ctx.bridges.get(id)!.metrics().barge_ins).toBe(1);
  });

  test("send_dtmf at a phone menu: the gatekeeper asks for a choice, the key is played, its response goes back", async () => {
    const { a, g } = await start({ callerTranscripts: ["For sales, press one. For support, press two."] });
    const { id, sid } = await a.call({ provider: "google", prompt: "Ask sales about a quote." });
    const media = await a.answer(sid, { instantPlayback: true, record: true });
    media.startLine();
    await until(() => media.received.media > 0, "the greeting");
    await media.sendSpeech(400);
    await media.sendSilence(3_000);
    const pressed = () => g.sessions[0]!.toolResponses.filter((r) => r.name === "send_dtmf");
    const response = await until(() => pressed().find((r) => r.response.ok), "dtmf", 8_000);
    expect(response.response).toMatchObject({ ok: true, digits: "1" });
    // The model's own reply to the menu, which nobody asked for while the gatekeeper listened, pressed nothing.
    expect(pressed()[0]!.response).toMatchObject({ ok: false });
    expect(g.sessions[0]!.received.some((m) => /automated phone menu/.test(m.realtimeInput?.text ?? ""))).toBe(true);
    await a.api(`/api/calls/${id}/end`, { method: "POST" });
  });

  test("transfer_call hands the call on; consult_assistant asks the owner, with a holding line", async () => {
    gateway = await startGatewaySim({ answer: "Tuesday at three is fine.", delayMs: 600 });
    const { a, g } = await start(
      { callerTranscripts: ["Does Tuesday at three work for them?", "Can I talk to a person, please?"] },
      {
        config: {
          integrations: { openclaw: { gateway_url: gateway.url, gateway_token: gateway.token } },
          calls: { transfer_to: "+15550100001" },
        },
      },
    );
    const { id, sid } = await a.call({ provider: "google", consult: true });
    const media = await a.answer(sid, { instantPlayback: true });
    await until(() => media.received.media > 0, "the greeting");
    await media.sendSpeech(400);
    await media.sendSilence(500);
    const session = g.sessions[0]!;
    const consult = await until(() => session.toolResponses.find((r) => r.name === "consult_assistant"), "consult");
    expect(consult.response).toMatchObject({ ok: true, answer: "Tuesday at three is fine." });
    expect(session.received.some((m) => /hold on|moment/i.test(m.realtimeInput?.text ?? ""))).toBe(true);
    await until(() => session.replies >= 3, "the answer said");
    await media.sendSpeech(400);
    await media.sendSilence(500);
    const handed = await until(
      async () => ((await detail(a, id)).transferred_to ? detail(a, id) : null),
      "the transfer",
    );
    expect(handed).toMatchObject({ transferred_to: "+15550100001" });
    const update = await until(() => a.twilio.requests.find((r) => r.form.get("Twiml")?.includes("<Dial")), "<Dial>");
    expect(update.form.get("Twiml")).toContain("+15550100001");
    expect(session.toolResponses.map((r) => r.name)).toContain("transfer_call");
    await a.api(`/api/calls/${id}/end`, { method: "POST" });
  });

  test("goAway: a new socket resumes the session with its handle; no second greeting, no lost connection", async () => {
    const { a, g } = await start({
      goAwayAfterMs: 1200,
      goAwayLeftMs: 800,
      callerTranscripts: ["Hello there.", "Still here."],
      agentReplies: ["Hi!", "Yes?", "Still listening."],
    });
    const { id, sid } = await a.call({ provider: "google" });
    const media = await a.answer(sid, { instantPlayback: true });
    await until(() => media.received.media > 0, "the greeting");
    await media.sendSpeech(400);
    await media.sendSilence(500);
    const first = g.sessions[0]!;
    await until(() => first.replies >= 2, "the first reply");
    const second = await until(() => g.sessions[1], "the resuming session", 5_000);
    await until(() => second.resumedFrom !== null, "the resumption");
    expect(second.setup.sessionResumption.handle).toBe(second.resumedFrom);
    await until(() => first.closed, "the old socket closed by the server");
    const before = second.audioBytes;
    await media.sendSpeech(400);
    await media.sendSilence(500);
    await until(() => second.replies >= 1, "a reply on the new socket");
    expect(second.audioBytes).toBeGreaterThan(before);
    // The conversation went on where it was: the script's third line, and the greeting was not asked again.
    const call = await until(async () => {
      const c = await detail(a, id);
      return c.transcript.some((t: { text: string }) => t.text === "Still listening.") ? c : null;
    }, "the reply after the switch");
    expect(second.received.filter((m) => m.realtimeInput?.text)).toEqual([]);
    expect(a.ctx.bridges.get(id)!.metrics().model_reconnects).toBe(0);
    expect(call.transcript.filter((t: { text: string }) => t.text === "Hi!")).toHaveLength(1);
    await a.api(`/api/calls/${id}/end`, { method: "POST" });
  });
});

describe("choosing the provider", () => {
  test("a voice the provider does not have, or a provider without a key, is a 400 naming it", async () => {
    const { a } = await start();
    const wrong = await a.api("/api/call", {
      body: { to: "+15551230001", webhook_url: a.url, provider: "google", voice: "marin" },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toStartWith("'voice' must be one of the model's voices: Achernar, Achird");
    const other = await a.api("/api/call", { body: { to: "+15551230001", webhook_url: a.url, voice: "Kore" } });
    expect(other.body.error).toStartWith("'voice' must be one of the model's voices: alloy");
    const bad = await a.api("/api/call", { body: { to: "+15551230001", webhook_url: a.url, provider: "azure" } });
    expect(bad.body.error).toBe("'provider' must be one of: openai, google");
    a.ctx.config.gemini.api_key = undefined;
    const keyless = await a.api("/api/call", { body: { to: "+15551230001", webhook_url: a.url, provider: "google" } });
    expect(keyless.status).toBe(400);
    expect(keyless.body.error).toContain("'provider' google is not configured");
    expect(a.twilio.requests).toHaveLength(0);
  });
});
