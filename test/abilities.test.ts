// Whole calls through the real server against the simulated carrier (playing each persona by itself) and
// the simulated voice model: silence, voicemail, keypad tones, transfer, consulting the owner, retries and
// the toll-fraud guard, each as a caller of the API sees it.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type GatewaySim, startGatewaySim } from "../src/sim/gateway.ts";
import { loadScript } from "../src/sim/script.ts";
import { startTestApp, type TestApp, type TestAppOptions } from "./support/app.ts";
import { decodeDtmf } from "./support/goertzel.ts";
import { startReceiver } from "./support/receiver.ts";
import { until } from "./support/until.ts";

const SILENT = "+15550100006";
const VOICEMAIL = "+15550100007";
const IVR = "+15550100008";
const WANTS_HUMAN = "+15550100009";
const ASKS_OWNER = "+15550100010";
const BUSY_TWICE = "+15550100011";
const BUSY = "+15550100002";
const PERSON = "+15550100001";

// Whole calls at the pace of a phone line.
setDefaultTimeout(30_000);

let app: TestApp | null = null;
let gateway: GatewaySim | null = null;
afterEach(async () => {
  await app?.stop();
  await gateway?.stop();
  app = null;
  gateway = null;
});

async function start(opts: TestAppOptions & { record?: boolean } = {}): Promise<TestApp> {
  const script = await loadScript();
  app = await startTestApp({
    ...opts,
    // The tests poll the call many times a second.
    config: { limits: { api_requests_per_minute: 1_000_000 }, ...opts.config },
    publicUrlSelf: true,
    fake: { autoCalls: { script, record: opts.record, speed: 2 }, ...opts.fake },
  });
  return app;
}

async function ended(a: TestApp, id: string, timeoutMs = 15_000): Promise<any> {
  return until(
    async () => {
      const res = await a.api(`/api/calls/${id}`);
      if (res.status !== 200) throw new Error(`GET /api/calls/${id}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.active ? null : res.body;
    },
    "the call to end",
    timeoutMs,
  );
}

const directives = (a: TestApp) =>
  a.model.sessions.flatMap((s) =>
    s.received.filter((e) => e.type === "response.create").map((e) => String(e.response?.instructions ?? "")),
  );

describe("silence", () => {
  test("a silent callee hears one check-in, then a goodbye, and the call ends by silence", async () => {
    const a = await start();
    const { id } = await a.call({ to: SILENT, silence: { reprompt_s: 0.8, hangup_s: 2 } });
    const call = await ended(a, id);
    expect(call.end_reason).toBe("silence");
    const said = directives(a);
    expect(said.filter((d) => d.includes("still there"))).toHaveLength(1);
    expect(said.some((d) => d.includes("hang up now"))).toBe(true);
    expect(call.options.silence).toEqual({ reprompt_s: 0.8, hangup_s: 2 });
  });
});

describe("voicemail", () => {
  test("by default the call ends at once when a machine answers, and the report says voicemail", async () => {
    const a = await start();
    const { id } = await a.call({ to: VOICEMAIL });
    const create = a.twilio.requests.find((r) => r.path.endsWith("/Calls.json"))!.form;
    expect(create.get("MachineDetection")).toBe("DetectMessageEnd");
    expect(create.get("AsyncAmd")).toBe("true");
    expect(create.get("AsyncAmdStatusCallback")).toBe(`${a.url}/twilio/amd?call_id=${id}`);
    const call = await ended(a, id);
    expect(call).toMatchObject({ end_reason: "voicemail", answered_by: "machine_end_beep" });
    const report = await until(async () => (await a.api(`/api/calls/${id}`)).body.report, "the report");
    expect(report).toMatchObject({ outcome: "voicemail", answered_by: "machine_end_beep" });
  });

  test("leave_message: after the beep the agent speaks the message, then hangs up", async () => {
    const a = await start();
    const message = "Hi, this is Ava from Acme Dental; please call us back at 555 0100.";
    const { id } = await a.call({ to: VOICEMAIL, voicemail: "leave_message", voicemail_message: message });
    const call = await ended(a, id);
    expect(call.end_reason).toBe("voicemail");
    expect(directives(a).some((d) => d.includes(JSON.stringify(message)))).toBe(true);
    // Once the beep has sounded the model takes no turn of its own: the message is the last thing said.
    const updates = a.model.sessions[0]!.received.filter((e) => e.type === "session.update");
    expect(updates.at(-1)!.session.audio.input.turn_detection).toMatchObject({ create_response: false });
    expect(call.transcript.at(-1)).toMatchObject({ role: "agent", text: message, interrupted: false });
  });

  test("continue: no detection is asked for, and a person who answers is talked to as usual", async () => {
    const a = await start();
    await a.call({ to: SILENT, voicemail: "continue", silence: { hangup_s: 1 } });
    const create = a.twilio.requests.find((r) => r.path.endsWith("/Calls.json"))!.form;
    expect(create.get("MachineDetection")).toBeNull();
    expect(create.get("AsyncAmdStatusCallback")).toBeNull();
  });
});

describe("keypad tones", () => {
  test.each(["pcmu", "pcm"])(
    "the agent answers a phone menu with send_dtmf and the carrier hears the tones (%s)",
    async (format) => {
      const a = await start({
        record: true,
        config: { audio: { format } },
        model: { callerTranscripts: ["Press one for appointments."] },
      });
      const { id } = await a.call({ to: IVR, silence: { hangup_s: 6 } });
      const session = await until(() => a.model.sessions.find((s) => s.toolOutputs.length > 0), "the tool output");
      const output = JSON.parse(session.toolOutputs[0]!.output);
      expect(output).toMatchObject({ ok: true, digits: "1", duration_ms: expect.any(Number) });
      const line = [...a.twilio.media.values()][0]!;
      await until(() => decodeDtmf(line.recording().agent).length > 0, "the tones on the line");
      expect(decodeDtmf(line.recording().agent).map((d) => d.digit)).toEqual(["1"]);
      await a.api(`/api/calls/${id}/end`, { method: "POST" });
    },
  );
});

describe("transfer", () => {
  test("asked for a person, the agent hands the call to transfer_to with <Dial>", async () => {
    const a = await start({ model: { callerTranscripts: ["Can I talk to a person, please?"] } });
    const { id } = await a.call({ to: WANTS_HUMAN, transfer_to: PERSON });
    await until(() => a.twilio.dials.length > 0, "the <Dial>", 10_000);
    expect(a.twilio.dials[0]).toMatchObject({
      to: PERSON,
      callerId: a.twilio.phoneNumber,
      timeout: 20,
      action: `${a.url}/twilio/dial-status?call_id=${id}`,
    });
    const update = a.twilio.requests.find((r) => r.path.endsWith(`/${a.twilio.dials[0]!.callSid}.json`))!.form;
    // The person gets their own time on top of the agent's part: transfer_ring_s + transfer_max_duration_s.
    expect(Number(update.get("TimeLimit"))).toBeGreaterThan(20 + 3600);
    expect(update.get("Twiml")).toContain('timeLimit="3600"');
    const call = await ended(a, id);
    expect(call).toMatchObject({ end_reason: "transferred", transferred_to: PERSON, transfer_status: "completed" });
    expect(directives(a).length).toBeGreaterThan(0);
  });

  test("a transfer nobody takes brings the agent back on the line to say so", async () => {
    const a = await start({ model: { callerTranscripts: ["Can I talk to a person, please?"] } });
    const { id } = await a.call({ to: WANTS_HUMAN, transfer_to: BUSY });
    await until(() => a.twilio.dials[0]?.status === "busy", "the transfer to be busy", 10_000);
    await until(() => directives(a).some((d) => d.includes("their line was busy")), "the agent back on the line");
    expect(a.model.sessions.length).toBe(2);
    const during = (await a.api(`/api/calls/${id}`)).body;
    expect(during).toMatchObject({ active: true, end_reason: null, transferred_to: BUSY, transfer_status: "busy" });
    await a.api(`/api/calls/${id}/end`, { method: "POST" });
    expect((await ended(a, id)).end_reason).toBe("ended_by_api");
  });

  test("without a target the tool is not offered", async () => {
    const a = await start({ model: { callerTranscripts: ["Can I talk to a person, please?"] } });
    const { id } = await a.call({ to: WANTS_HUMAN, silence: { hangup_s: 1.5 } });
    await ended(a, id);
    const tools = a.model.sessions[0]!.session.tools.map((t: any) => t.name);
    expect(tools).not.toContain("transfer_call");
    expect(a.twilio.dials).toEqual([]);
  });
});

/** What the server answered the agent's consult_assistant call. */
async function consultOutput(a: TestApp): Promise<any> {
  const output = await until(
    () => a.model.sessions.flatMap((s) => s.toolOutputs).find((o) => o.name === "consult_assistant"),
    "the consult output",
    10_000,
  );
  return JSON.parse(output.output);
}

describe("consulting the owner", () => {
  const config = (g: GatewaySim, timeout = 5) => ({
    integrations: { openclaw: { gateway_url: g.url, gateway_token: g.token, consult_timeout_s: timeout } },
  });

  test("the agent asks the owner's assistant through the gateway and gets the answer as data", async () => {
    gateway = await startGatewaySim({ answer: "Tuesday at three is fine." });
    const a = await start({
      config: config(gateway),
      model: { callerTranscripts: ["Does Tuesday at three work for them?"] },
    });
    const { id } = await a.call({ to: ASKS_OWNER, consult: true });
    const output = await consultOutput(a);
    expect(output).toMatchObject({ ok: true, answer: "Tuesday at three is fine." });
    expect(gateway.requests[0]).toMatchObject({ model: "openclaw:main", user: `agenticai-call-${id}` });
    expect(directives(a).some((d) => d.includes("hold on a moment"))).toBe(true);
    await a.api(`/api/calls/${id}/end`, { method: "POST" });
  });

  test("a gateway that does not answer in time gives the agent a graceful 'could not reach'", async () => {
    gateway = await startGatewaySim({ delayMs: 5_000 });
    const a = await start({
      config: config(gateway, 1),
      model: { callerTranscripts: ["Does Tuesday at three work for them?"] },
    });
    const { id } = await a.call({ to: ASKS_OWNER, consult: true });
    const output = await consultOutput(a);
    expect(output).toMatchObject({ ok: false, error: expect.stringContaining("could not be reached") });
    await a.api(`/api/calls/${id}/end`, { method: "POST" });
  });

  test("each consult is kept in the transcript, the report and the events, and a call asks at most max_per_call", async () => {
    gateway = await startGatewaySim({ answer: "Tuesday at three is fine." });
    const receiver = startReceiver();
    try {
      const a = await start({
        config: { ...config(gateway), consult: { max_per_call: 1 }, events: { url: receiver.url } },
        model: { callerTranscripts: ["Does Tuesday at three work for them?", "And does Wednesday work for them?"] },
      });
      const { id } = await a.call({ to: ASKS_OWNER, consult: true });
      const outputs = await until(
        () => {
          const all = a.model.sessions.flatMap((s) => s.toolOutputs).filter((o) => o.name === "consult_assistant");
          return all.length >= 2 && all.map((o) => JSON.parse(o.output));
        },
        "both consult outputs",
        20_000,
      );
      expect(outputs[0]).toMatchObject({ ok: true, answer: "Tuesday at three is fine." });
      expect(outputs[1]).toMatchObject({ ok: false, error: expect.stringContaining("as many questions as this call") });
      expect(gateway.requests).toHaveLength(1);
      await a.api(`/api/calls/${id}/end`, { method: "POST" });
      const call = await until(
        async () => (await a.api(`/api/calls/${id}`)).body.report && (await a.api(`/api/calls/${id}`)).body,
        "the report",
      );
      const consultRows = call.transcript.filter((t: any) => t.role.startsWith("consult_"));
      expect(consultRows.map((t: any) => [t.role, t.text])).toEqual([
        ["consult_question", "Does Tuesday at three work for them?"],
        ["consult_answer", "Tuesday at three is fine."],
      ]);
      expect(call.report.consults).toEqual([
        {
          question: "Does Tuesday at three work for them?",
          answer: "Tuesday at three is fine.",
          asked_at: expect.any(String),
        },
      ]);
      const text = await (await fetch(`${a.url}/api/calls/${id}/transcript`)).text();
      expect(text).toContain("Owner's assistant: Tuesday at three is fine.");
      const consulted = await receiver.until((rs) => rs.find((r) => r.json?.type === "call.consulted"));
      expect(consulted.json.data).toMatchObject({
        call_id: id,
        question: "Does Tuesday at three work for them?",
        answer: "Tuesday at three is fine.",
        error: null,
      });
      const endedEvent = await receiver.until((rs) => rs.find((r) => r.json?.type === "call.ended"));
      expect(endedEvent.json.data.report.consults).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  });

  test("without consult: true the tool is not offered", async () => {
    gateway = await startGatewaySim({});
    const a = await start({ config: config(gateway) });
    const { id } = await a.call({ to: SILENT, silence: { hangup_s: 1 } });
    await ended(a, id);
    expect(a.model.sessions[0]!.session.tools.map((t: any) => t.name)).not.toContain("consult_assistant");
  });
});

describe("retries", () => {
  test("busy, busy, then answered: three attempts under one call id", async () => {
    // A fifth of a second between attempts, not the half minute a real line is given.
    const a = await start({
      config: { events: { url: "http://127.0.0.1:9/unused" }, calls: { retry_min_delay_s: 0 } },
    });
    const { id } = await a.call({
      to: BUSY_TWICE,
      retry: { max_attempts: 3, delay_s: 0.2, on: ["busy"] },
    });
    await until(
      async () => (await a.api(`/api/calls/${id}`)).body.status === "in-progress",
      "the third attempt to be answered",
      20_000,
    );
    await a.api(`/api/calls/${id}/end`, { method: "POST" });
    const call = await ended(a, id);
    expect(call.attempts.map((t: any) => t.status)).toEqual(["busy", "busy", "completed"]);
    expect(new Set(call.attempts.map((t: any) => t.call_sid)).size).toBe(3);
    const types = (await a.ctx.store.listOutbox(null, 100)).map((r: any) => r.type);
    expect(types.filter((t: string) => t === "call.retry_scheduled")).toHaveLength(2);
    expect(types.filter((t: string) => t === "call.initiated")).toHaveLength(3);
  });

  test("ending a call that waits for its next attempt cancels it", async () => {
    const a = await start();
    const { id } = await a.call({ to: BUSY, retry: { max_attempts: 3, delay_s: 60 } });
    await until(async () => (await a.api(`/api/calls/${id}`)).body.next_attempt_at, "the retry to be scheduled");
    const res = await a.api(`/api/calls/${id}/end`, { method: "POST" });
    expect(res.status).toBe(200);
    const call = (await a.api(`/api/calls/${id}`)).body;
    expect(call).toMatchObject({
      active: false,
      status: "canceled",
      end_reason: "ended_by_api",
      next_attempt_at: null,
    });
    expect(call.attempts.map((t: any) => t.status)).toEqual(["busy", "canceled"]);
  });
});

describe("toll-fraud guard and request checks", () => {
  test("destinations outside the allowed prefixes are refused, for the callee and the transfer target", async () => {
    // The default allow-list (the country of the carrier's +1 number), without the simulated callees' range.
    const a = await start({ config: { calls: { allowed_destinations: undefined } } });
    const uk = await a.api("/api/call", { body: { to: "+442071234567", webhook_url: a.url } });
    expect(uk.status).toBe(400);
    expect(uk.body.error).toContain("calls.allowed_destinations permits +1 only");
    const premium = await a.api("/api/call", {
      body: { to: "+14155550100", transfer_to: "+19005550100", webhook_url: a.url },
    });
    expect(premium.status).toBe(400);
    expect(premium.body.error).toContain("premium-rate");
    expect(a.twilio.requests.filter((r) => r.path.endsWith("/Calls.json"))).toHaveLength(0);
  });

  test("invalid policies get clear 400s", async () => {
    const a = await start();
    for (const [body, message] of [
      [{ retry: { max_attempts: 9 } }, "'retry.max_attempts' must be at most 5"],
      [{ silence: { reprompt: 3 } }, "'silence' must be an object"],
      [{ voicemail: "record" }, "'voicemail' must be one of"],
      [{ transfer_to: "555" }, "Invalid 'transfer_to'"],
      [{ consult: "yes" }, "'consult' must be true or false"],
    ] as const) {
      const res = await a.api("/api/call", { body: { to: PERSON, webhook_url: a.url, ...body } });
      expect(res.status).toBe(400);
      expect(res.body.error).toContain(message);
    }
  });
});
