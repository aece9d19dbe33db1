// Call reports end to end: the real server, the fake carrier, and the simulated voice model, which also
// answers the report's Chat Completions request.
import { afterEach, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp, type TestAppOptions } from "./support/app.ts";
import { until } from "./support/until.ts";

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

// Short VAD silence keeps turns quick; the simulated model reads it from session.update.
const FAST = { openai: { vad: { silence_ms: 200 } } };

async function start(model: TestAppOptions["model"] = {}): Promise<TestApp> {
  app = await startTestApp({ config: FAST, model: { callerTranscripts: ["Yes, see you then, goodbye!"], ...model } });
  return app;
}

const detail = async (id: string) => (await app!.api(`/api/calls/${id}`)).body;
const finalReport = (id: string) =>
  until(async () => {
    const call = await detail(id);
    return call.report ? call : null;
  }, "the report");

/** A call that is answered, greets, hears the caller say goodbye and hangs up through end_call. */
async function talkedCall(body: Record<string, unknown> = {}): Promise<string> {
  const { id, sid } = await app!.call({ prompt: "Confirm the appointment at ten.", ...body });
  const media = await app!.answer(sid);
  await until(() => media.playedMs >= 200, "greeting played");
  await media.sendSpeech(400);
  await media.sendSilence(300);
  await until(() => app!.twilio.requests.some((r) => r.form.get("Status") === "completed"), "hang-up request");
  await app!.twilio.flush();
  return id;
}

const SCHEMA = {
  type: "object",
  properties: {
    confirmed: { type: "boolean", description: "Whether the patient confirmed" },
    caller_words: { type: "string" },
    new_time: { type: "string" },
    visits: { type: "integer", minimum: 1 },
  },
  required: ["confirmed", "caller_words", "visits"],
  additionalProperties: false,
};

describe("the report of an answered call", () => {
  test("made by the model: facts in the call's report_schema, shown by the API and after the transcript", async () => {
    await start({ replyMs: 200 });
    const id = await talkedCall({ report_schema: SCHEMA });
    const call = await finalReport(id);
    expect(call).toMatchObject({ status: "completed", end_reason: "agent_hangup" });
    expect(call.report).toEqual({
      outcome: "completed_goal",
      summary: expect.stringContaining('"Yes, see you then, goodbye!"'),
      // new_time was optional: the model's null for it is dropped.
      facts: { confirmed: true, caller_words: "Yes, see you then, goodbye!", visits: 1 },
      next_steps: [],
      source: "model",
      generated_at: expect.any(String),
    });
    expect(app!.model.reportRequests).toHaveLength(1);
    const sent = app!.model.reportRequests[0].response_format.json_schema.schema.properties.facts;
    expect(sent.properties.new_time.type).toEqual(["string", "null"]);
    const text = await (await fetch(`${app!.url}/api/calls/${id}/transcript`)).text();
    expect(text).toContain("Caller: Yes, see you then, goodbye!\n");
    expect(text).toContain("Report (model): completed_goal\n");
  });

  test("the model failing twice: a fallback report that says why", async () => {
    await start({ replyMs: 200, reportReply: () => ({ status: 500 }) });
    const id = await talkedCall();
    const { report } = await finalReport(id);
    expect(report).toMatchObject({ outcome: "partial", source: "fallback", facts: {}, next_steps: [] });
    expect(report.summary).toStartWith("The call was answered and lasted ");
    expect(report.summary).toContain(
      "No report was made: the report model failed (report model failed twice: 500 The simulated report model failed (500).",
    );
    expect(app!.model.reportRequests).toHaveLength(2);
  });

  test("report_outcome through the tool registry: the agent's report, checked against report_schema, no model run", async () => {
    const facts = { confirmed: true, caller_words: "see you then", new_time: null, visits: 2 };
    await start({
      replyMs: 200,
      reportOutcome: { outcome: "completed_goal", summary: "The patient confirmed ten o'clock.", facts },
    });
    const id = await talkedCall({ report_schema: SCHEMA });
    const { report } = await finalReport(id);
    expect(report).toMatchObject({
      outcome: "completed_goal",
      source: "agent_tool",
      summary: "The patient confirmed ten o'clock.",
      facts: { confirmed: true, caller_words: "see you then", visits: 2 },
      next_steps: [],
    });
    expect(report.facts).not.toHaveProperty("new_time");
    const outputs = toolOutputs();
    expect(outputs.map((o) => o.ok)).toEqual([true, true]);
    expect(app!.model.reportRequests).toHaveLength(0);
  });

  test("report_outcome with facts off the schema: the agent is told why, and the model makes the report", async () => {
    await start({
      replyMs: 200,
      reportOutcome: { outcome: "completed_goal", summary: "Confirmed.", facts: { confirmed: "yes" } },
    });
    const id = await talkedCall({ report_schema: SCHEMA });
    const { report } = await finalReport(id);
    expect(report.source).toBe("model");
    const refused = toolOutputs().find((o) => o.ok === false);
    expect(refused?.error).toStartWith("'facts");
    expect(app!.model.reportRequests).toHaveLength(1);
  });
});

/** The function call outputs the server sent the model, parsed, in order. */
function toolOutputs(): { ok: boolean; error?: string }[] {
  const session = app!.model.sessions[0]!;
  return session.received
    .filter((e) => e.type === "conversation.item.create" && e.item.type === "function_call_output")
    .map((e) => JSON.parse(e.item.output));
}

describe("calls nobody answered", () => {
  test("busy and no-answer: a fallback report from the status, without asking the model", async () => {
    await start();
    for (const [status, outcome, summary] of [
      ["busy", "busy", "The line was busy."],
      ["no-answer", "no_answer", "Nobody answered the call."],
    ] as const) {
      const { id, sid } = await app!.call({ report_schema: SCHEMA });
      await app!.twilio.sendStatus(sid, "ringing");
      await app!.twilio.sendStatus(sid, status, { CallDuration: "0" });
      const { report } = await finalReport(id);
      expect(report).toMatchObject({ outcome, summary, source: "fallback", facts: {}, next_steps: [] });
    }
    expect(app!.model.reportRequests).toHaveLength(0);
  });
});

describe("report_schema in the request", () => {
  test("a schema strict mode cannot express ($ref) is refused with 400, and no call is placed", async () => {
    await start();
    const res = await app!.api("/api/call", {
      body: {
        to: "+15551230001",
        webhook_url: app!.url,
        report_schema: { type: "object", properties: { when: { $ref: "#/$defs/when" } } },
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toStartWith("'report_schema");
    expect(res.body.error).toContain("$ref is not supported");
    expect(app!.twilio.requests).toHaveLength(0);
  });
});
