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
const finalReport = (id: string, timeoutMs?: number) =>
  until(
    async () => {
      const call = await detail(id);
      return call.report ? call : null;
    },
    "the report",
    timeoutMs,
  );

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

describe("patterns in report_schema", () => {
  // Compiles with the u flag, and backtracks for about a second per value that has no "@".
  const HOSTILE = "^(?:[^g]*[^g]*)+@";
  const hostileSchema = (pattern: string) => {
    const names = Array.from({ length: 20 }, (_, i) => `fact${i}`);
    return {
      type: "object",
      properties: Object.fromEntries(names.map((n) => [n, { type: "string", pattern }])),
      required: names,
    };
  };

  /** /health's response times while `work` runs, every 25 ms. */
  async function healthDuring(work: Promise<unknown>): Promise<number[]> {
    const times: number[] = [];
    let done = false;
    const finished = work.finally(() => {
      done = true;
    });
    while (!done) {
      const t = performance.now();
      await fetch(`${app!.url}/health`);
      times.push(performance.now() - t);
      await Bun.sleep(25);
    }
    await finished;
    return times.sort((a, b) => a - b);
  }
  const p99 = (sorted: number[]) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
  /** A busy call first, so what a process loads on its first call (the twilio SDK) is not what is measured. */
  async function warm() {
    const { id, sid } = await app!.call({});
    await app!.twilio.sendStatus(sid, "busy", { CallDuration: "0" });
    await finalReport(id);
  }

  test("a pattern that does not compile with the u flag is a 400 naming its path, and no call is placed", async () => {
    await start();
    for (const [pattern, why] of [
      ["(", "is not a valid regular expression"],
      ["^(?:[^g]*[^g]*)+\\@", "is not a valid regular expression"],
      ["a".repeat(1001), "must be at most 1000 characters"],
    ]) {
      const res = await app!.api("/api/call", {
        body: { to: "+15551230001", webhook_url: app!.url, report_schema: hostileSchema(pattern!) },
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toStartWith("'report_schema.properties.fact0.pattern'");
      expect(res.body.error).toContain(why!);
    }
    expect(app!.twilio.requests).toHaveLength(0);
  });

  test("a backtracking pattern is checked off the main thread: /health stays fast, the report falls back", async () => {
    await start({ replyMs: 200 });
    await warm();
    let report: Record<string, unknown> = {};
    const times = await healthDuring(
      (async () => {
        const id = await talkedCall({ report_schema: hostileSchema(HOSTILE) });
        ({ report } = await finalReport(id, 20_000));
      })(),
    );
    expect(p99(times)).toBeLessThanOrEqual(100);
    expect(report.source).toBe("fallback");
    // Whether the check gave up in time or the engine's own backtracking limit ended it first, facts were refused.
    expect(report.summary).toMatch(/cannot be checked|must match pattern/);
  }, 40_000);

  test("report_outcome with a backtracking pattern mid-call: the call goes on, and the agent's facts are not kept", async () => {
    const facts = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`fact${i}`, "x".repeat(30)]));
    await start({ replyMs: 200, reportOutcome: { outcome: "completed_goal", summary: "Done.", facts } });
    await warm();
    let report: Record<string, unknown> = {};
    const times = await healthDuring(
      (async () => {
        // Each check may take its whole bound: the agent's, then the model's two tries.
        ({ report } = await finalReport(await talkedCall({ report_schema: hostileSchema(HOSTILE) }), 20_000));
      })(),
    );
    expect(p99(times)).toBeLessThanOrEqual(100);
    expect(report.source).not.toBe("agent_tool");
  }, 40_000);
});
