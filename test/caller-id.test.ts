// As whom and how a call is made: `from` among the server's numbers (the call's From and its transfers' caller
// ID), the model's voice, the language the agent speaks and reports in, and the per-number defaults that an
// inbound call to a number, or an outbound call from it, takes.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { loadScript } from "../src/sim/script.ts";
import { startTestApp, type TestApp, type TestAppOptions } from "./support/app.ts";
import { until } from "./support/until.ts";

setDefaultTimeout(30_000);

const SPANISH_LINE = "+15005550007";
const WANTS_HUMAN = "+15550100009";
const PERSON = "+15550100001";

let app: TestApp | null = null;
afterEach(async () => {
  await app?.stop();
  app = null;
});

async function start(opts: TestAppOptions = {}): Promise<TestApp> {
  app = await startTestApp({
    ...opts,
    config: {
      limits: { api_requests_per_minute: 1_000_000 },
      openai: { vad: { silence_ms: 200 } },
      ...opts.config,
      twilio: { phone_numbers: [SPANISH_LINE], ...opts.config?.twilio },
    },
    fake: { phoneNumbers: [SPANISH_LINE], ...opts.fake },
  });
  return app;
}

const createForm = (a: TestApp) => a.twilio.requests.filter((r) => r.path.endsWith("/Calls.json")).at(-1)!.form;
const sessionUpdate = (a: TestApp, i = 0) =>
  until(() => a.model.sessions[i]?.received.find((e) => e.type === "session.update")?.session, "session.update");

describe("from", () => {
  test("one of the server's numbers becomes the call's From; without it, twilio.phone_number", async () => {
    const a = await start();
    const { id } = await a.call({ from: SPANISH_LINE });
    expect(createForm(a).get("From")).toBe(SPANISH_LINE);
    expect((await a.api(`/api/calls/${id}`)).body.from_number).toBe(SPANISH_LINE);
    await a.call();
    expect(createForm(a).get("From")).toBe(a.twilio.phoneNumber);
  });

  test("any other number is a 400 naming from, and nothing is dialled", async () => {
    const a = await start();
    const res = await a.api("/api/call", { body: { to: "+15551230001", webhook_url: a.url, from: "+15005550099" } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "'from' +15005550099 is not one of this server's numbers (twilio.phone_numbers)",
    });
    const bad = await a.api("/api/call", { body: { to: "+15551230001", webhook_url: a.url, from: "12" } });
    expect(bad.body.error).toBe("Invalid 'from' phone number: use E.164 format, such as +15551234567");
    expect(a.twilio.requests).toHaveLength(0);
  });

  test("a transfer from that call shows its number as caller ID", async () => {
    const script = await loadScript();
    const a = await start({
      publicUrlSelf: true,
      fake: { autoCalls: { script, speed: 2 } },
      model: { callerTranscripts: ["Can I talk to a person, please?"] },
    });
    await a.call({ to: WANTS_HUMAN, transfer_to: PERSON, from: SPANISH_LINE });
    const dial = await until(() => a.twilio.dials[0], "the transfer's <Dial>", 15_000);
    expect(dial.callerId).toBe(SPANISH_LINE);
  });
});

describe("voice and language", () => {
  test("an unknown voice or a language that is no BCP 47 tag is a 400 naming the field", async () => {
    const a = await start();
    const voice = await a.api("/api/call", { body: { to: "+15551230001", webhook_url: a.url, voice: "robot" } });
    expect(voice.body).toEqual({
      success: false,
      error:
        "'voice' must be one of the model's voices: alloy, ash, ballad, cedar, coral, echo, marin, sage, shimmer, verse",
    });
    const language = await a.api("/api/call", { body: { to: "+15551230001", webhook_url: a.url, language: "e" } });
    expect(language.body.error).toBe("'language' must be a BCP 47 language tag such as es, es-MX or de-DE");
    expect(a.twilio.requests).toHaveLength(0);
  });

  test("language es reaches the session (instructions, transcription), the voice its output, every line repeats it", async () => {
    const a = await start();
    const { id, sid } = await a.call({ voice: "cedar", language: "es" });
    const media = await a.answer(sid);
    const session = await sessionUpdate(a);
    expect(session.audio.output.voice).toBe("cedar");
    expect(session.audio.input.transcription).toMatchObject({ language: "es" });
    const rule = "Speak Spanish (es) from your very first word";
    expect(session.instructions).toContain(rule);
    // The greeting is asked for with the session's instructions repeated, the language among them.
    const greeting = await until(
      () => a.model.sessions[0]!.received.find((e) => e.type === "response.create"),
      "the greeting",
    );
    expect(greeting.response.instructions).toContain(rule);
    expect((await a.api(`/api/calls/${id}`)).body.options).toMatchObject({ voice: "cedar", language: "es" });
    media.close();
  });

  test("a regional tag is kept as given, canonical, while the transcription gets its language", async () => {
    const a = await start();
    const { sid } = await a.call({ language: "es-mx" });
    await a.answer(sid);
    const session = await sessionUpdate(a);
    expect(session.instructions).toContain("Speak Mexican Spanish (es-MX)");
    expect(session.audio.input.transcription.language).toBe("es");
  });

  test("without a language, the session is as before: no rule, no transcription language, the configured voice", async () => {
    const a = await start();
    const { sid } = await a.call();
    await a.answer(sid);
    const session = await sessionUpdate(a);
    expect(session.instructions).not.toContain("from your very first word");
    expect(session.audio.input.transcription.language).toBeUndefined();
    expect(session.audio.output.voice).toBe("marin");
  });

  test("the report model is asked to write the report in the call's language", async () => {
    const a = await start({ model: { callerTranscripts: ["Yes, see you then, goodbye!"], replyMs: 200 } });
    const { id, sid } = await a.call({ language: "es", prompt: "Confirma la cita." });
    const media = await a.answer(sid);
    await until(() => media.playedMs >= 200, "greeting played");
    await media.sendSpeech(400);
    await media.sendSilence(300);
    await until(async () => (await a.api(`/api/calls/${id}`)).body.report, "the report", 15_000);
    const system = a.model.reportRequests[0].messages[0].content as string;
    expect(system).toContain("Spanish (es), the language of the call");
  });
});

describe("per-number defaults (twilio.numbers)", () => {
  const numbers = {
    [SPANISH_LINE]: { voice: "ash", language: "es-MX", prompt: "Eres la recepcionista de la línea en español." },
  };

  test("an inbound call to that number is answered with its voice, language and prompt", async () => {
    const a = await start({ publicUrlSelf: true, config: { inbound: { enabled: true }, twilio: { numbers } } });
    await a.twilio.sendInbound(`${a.url}/twilio/voice`, { from: "+15557654321", to: SPANISH_LINE });
    const session = await sessionUpdate(a);
    expect(session.audio.output.voice).toBe("ash");
    expect(session.instructions).toContain("Eres la recepcionista de la línea en español.");
    expect(session.instructions).toContain("(es-MX)");
    // The main number keeps the server-wide settings.
    await a.twilio.sendInbound(`${a.url}/twilio/voice`, { from: "+15557654321" });
    const main = await sessionUpdate(a, 1);
    expect(main.audio.output.voice).toBe("marin");
    expect(main.instructions).not.toContain("from your very first word");
  });

  test("an outbound call from that number takes its settings where the request has none", async () => {
    const a = await start({ config: { twilio: { numbers, phone_numbers: [] } } });
    const { id } = await a.call({ from: SPANISH_LINE });
    const call = (await a.api(`/api/calls/${id}`)).body;
    expect(call).toMatchObject({ from_number: SPANISH_LINE, prompt: numbers[SPANISH_LINE].prompt });
    expect(call.options).toMatchObject({ voice: "ash", language: "es-MX" });
    const own = (await a.api(`/api/calls/${(await a.call({ from: SPANISH_LINE, voice: "sage", prompt: "Hi." })).id}`))
      .body;
    expect(own).toMatchObject({ prompt: "Hi.", options: { voice: "sage", language: "es-MX" } });
  });

  test("the number's caller_identity is who the agent is, unless the request says", async () => {
    const identity = { [SPANISH_LINE]: { caller_identity: "Ava, de la Clínica Acme" } };
    const a = await start({ config: { twilio: { numbers: identity, phone_numbers: [] } } });
    const { id } = await a.call({ from: SPANISH_LINE });
    expect((await a.api(`/api/calls/${id}`)).body.options.caller_identity).toBe("Ava, de la Clínica Acme");
    const own = await a.call({ from: SPANISH_LINE, caller_identity: "Sam" });
    expect((await a.api(`/api/calls/${own.id}`)).body.options.caller_identity).toBe("Sam");
  });
});
