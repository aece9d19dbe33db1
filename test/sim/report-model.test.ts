// The simulated report model: what it answers must pass the real report code, schema or no schema.
import { afterEach, describe, expect, test } from "bun:test";
import { draftReport, type ReportInput, type ReportModel } from "../../src/model/report.ts";
import { reportModelHandler } from "../../src/sim/report-model.ts";
import { type RealtimeSim, type RealtimeSimOptions, startRealtimeSim } from "../../src/sim/voice-model.ts";

let sim: RealtimeSim | null = null;
afterEach(() => {
  sim?.stop();
  sim = null;
});

function start(opts: RealtimeSimOptions = {}): { sim: RealtimeSim; model: ReportModel } {
  sim = startRealtimeSim(opts);
  return { sim, model: { apiKey: sim.apiKey, baseUrl: sim.httpBaseUrl, model: "gpt-sim-mini", timeoutMs: 2_000 } };
}

const TALK: ReportInput["transcript"] = [
  { role: "agent", text: "Hi, this is Ava from Acme Dental about tomorrow at ten." },
  { role: "caller", text: "Can we move it to eleven?" },
  { role: "agent", text: "Done, eleven it is." },
  { role: "caller", text: "Perfect, thanks, goodbye!" },
  { role: "agent", text: "Goodbye!" },
];

const input = (over: Partial<ReportInput> = {}): ReportInput => ({
  prompt: "Confirm tomorrow's appointment.",
  transcript: TALK,
  status: "completed",
  endReason: "agent_hangup",
  durationS: 14,
  schema: null,
  ...over,
});

const SCHEMA = {
  type: "object",
  properties: {
    confirmed: { type: "boolean" },
    new_time: { type: "string" },
    party_size: { type: "integer", minimum: 2, maximum: 8 },
    channel: { type: "string", enum: ["sms", "email"] },
    booked_on: { type: "string", format: "date" },
    code: { type: "string", pattern: "^[A-Z]{3}$" },
    notes: { type: "string" },
    contact: {
      type: "object",
      properties: { name: { type: "string" }, callback: { type: "boolean" } },
      required: ["name"],
    },
    tags: { type: "array", items: { type: "string" }, minItems: 1 },
    score: { anyOf: [{ type: "number", exclusiveMinimum: 0 }, { type: "string" }] },
  },
  required: ["confirmed", "new_time", "party_size", "channel", "booked_on", "contact", "tags", "score"],
};

describe("the simulated report model", () => {
  test("without a report_schema: name/value facts from the caller's last words, completed_goal after a goodbye", async () => {
    const { sim, model } = start();
    const draft = await draftReport(input(), model);
    expect(draft.outcome).toBe("completed_goal");
    expect(draft.summary).toContain('"Perfect, thanks, goodbye!"');
    expect(draft.summary.split(". ").length).toBeLessThanOrEqual(2);
    expect(draft.facts).toEqual({ caller_said: "Perfect, thanks, goodbye!", turns: "5" });
    expect(draft.next_steps).toEqual([]);
    expect(sim.reportRequests).toHaveLength(1);
    expect(sim.reportRequests[0].model).toBe("gpt-sim-mini");
  });

  test("with a report_schema: facts walk the strict form and pass the check against the original", async () => {
    const { model } = start();
    const draft = await draftReport(input({ schema: SCHEMA }), model);
    expect(draft.facts).toEqual({
      confirmed: true,
      new_time: "Perfect, thanks, goodbye!",
      party_size: 2,
      channel: "sms",
      booked_on: expect.stringMatching(/^\d{4}-\d\d-\d\d$/),
      contact: { name: "Perfect, thanks, goodbye!" },
      tags: ["Perfect, thanks, goodbye!"],
      score: 0.5,
    });
  });

  test("no caller turn, or no goodbye: partial", async () => {
    const { model } = start();
    const silent = await draftReport(input({ transcript: [{ role: "agent", text: "Hello? Goodbye." }] }), model);
    expect(silent.outcome).toBe("partial");
    expect(silent.summary).toBe("The agent spoke 1 time(s), but the caller said nothing.");
    expect(silent.facts).toEqual({ turns: "1" });
    const cut = await draftReport(input({ transcript: TALK.slice(0, 2), schema: SCHEMA }), model);
    expect(cut.outcome).toBe("partial");
    expect(cut.facts.new_time).toBe("Can we move it to eleven?");
    const none = await draftReport(input({ transcript: [] }), model);
    expect(none).toMatchObject({ outcome: "partial", summary: "Nothing was said on the call.", facts: { turns: "0" } });
  });

  test("reportReply scripts failures and answers; draftReport sees them as it would OpenAI's", async () => {
    const replies = [{ status: 500 }, { content: '{"outcome":"failed"}' }];
    let i = 0;
    const { sim, model } = start({ reportReply: () => replies[i++] });
    await expect(draftReport(input(), model)).rejects.toThrow(
      /^report model failed twice: 500 The simulated report model failed \(500\)\.; then 'answer.summary'/,
    );
    expect(sim.reportRequests).toHaveLength(2);
    // Once the script runs out, the made-up report again.
    expect((await draftReport(input(), model)).outcome).toBe("completed_goal");
  });

  test("the bearer key is checked as the realtime endpoint checks it; other paths stay 404", async () => {
    const { sim } = start();
    const post = (key: string, path = "/chat/completions") =>
      fetch(`${sim.httpBaseUrl}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: "{}",
      });
    const wrong = await post("sk-wrong");
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as any).error.code).toBe("invalid_api_key");
    expect((await post(sim.apiKey)).status).toBe(400);
    expect((await post(sim.apiKey, "/responses")).status).toBe(404);
    expect(sim.reportRequests).toEqual([{}]);
  });

  test("the handler stands alone, and takes content given as parts", async () => {
    const handler = reportModelHandler({ apiKey: "k" });
    const body = {
      model: "m",
      messages: [{ role: "user", content: [{ type: "text", text: "Transcript:\nCaller: Yes.\nAgent: Bye now." }] }],
      response_format: { type: "json_schema", json_schema: { name: "r", strict: true, schema: { type: "object" } } },
    };
    const res = await handler(
      new Request("http://sim/v1/chat/completions", {
        method: "POST",
        headers: { authorization: "Bearer k" },
        body: JSON.stringify(body),
      }),
    );
    const answer = JSON.parse(((await res.json()) as any).choices[0].message.content);
    expect(answer).toEqual({
      outcome: "completed_goal",
      summary:
        'The agent and the caller spoke in 2 turns and the agent said goodbye. The caller\'s last words were "Yes."',
      facts: [
        { name: "caller_said", value: "Yes." },
        { name: "turns", value: "2" },
      ],
      next_steps: [],
    });
  });
});
