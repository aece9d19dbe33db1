// What a call cost, end to end against the simulators: the realtime model's usage from its response.done events,
// the report model's from its answers, and the simulated carrier's price, which stays null for a while after the
// call ends, as Twilio's does, so the cost is an estimate first and Twilio's own price once it is in.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { SIM_RESPONSE_USAGE } from "../../src/sim/voice-model.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { until } from "../support/until.ts";

setDefaultTimeout(30_000);

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** The list prices the issue gives (per 1M tokens, read 2026-12-06), written out rather than imported. */
const REALTIME = { text: 4, cachedText: 0.4, textOut: 16, audio: 32, cachedAudio: 0.4, audioOut: 64 };
const MINI = { input: 0.25, output: 2 };

/** One response.done's usage, priced by hand. */
function responseCost(): number {
  const u = SIM_RESPONSE_USAGE;
  const cachedAudio = u.input_token_details.cached_tokens_details.audio_tokens;
  const cachedText = u.input_token_details.cached_tokens_details.text_tokens;
  const perM =
    (u.input_token_details.text_tokens - cachedText) * REALTIME.text +
    cachedText * REALTIME.cachedText +
    (u.input_token_details.audio_tokens - cachedAudio) * REALTIME.audio +
    cachedAudio * REALTIME.cachedAudio +
    u.output_token_details.text_tokens * REALTIME.textOut +
    u.output_token_details.audio_tokens * REALTIME.audioOut;
  return perM / 1_000_000;
}

async function start(fake: { priceDelayMs?: number; pricePerMinute?: number } = {}): Promise<TestApp> {
  app = await startTestApp({
    config: { openai: { vad: { silence_ms: 200 } }, limits: { api_requests_per_minute: 1_000_000 } },
    model: { callerTranscripts: ["Yes, see you then, goodbye!"], replyMs: 200 },
    fake,
  });
  return app;
}

/** Answered, greeted, the caller says goodbye, and the agent hangs up. */
async function talkedCall(a: TestApp): Promise<{ id: string; sid: string }> {
  const { id, sid } = await a.call({ prompt: "Confirm the appointment at ten." });
  const media = await a.answer(sid);
  await until(() => media.playedMs >= 200, "greeting played");
  await media.sendSpeech(400);
  await media.sendSilence(300);
  await until(() => a.twilio.requests.some((r) => r.form.get("Status") === "completed"), "hang-up request");
  return { id, sid };
}

const detail = async (a: TestApp, id: string) => (await a.api(`/api/calls/${id}`)).body;

describe("the cost of a call", () => {
  test("estimated until the carrier prices the call, then Twilio's price plus the models' tokens", async () => {
    const a = await start({ priceDelayMs: 1_500, pricePerMinute: 0.013 });
    const { id, sid } = await talkedCall(a);
    const first = await until(async () => (await detail(a, id)).cost, "the cost with the report");
    const responses = a.model.sessions.reduce((n, s) => n + s.responsesDone, 0);
    expect(responses).toBeGreaterThan(0);
    const reports = a.model.reportRequests.length;
    expect(reports).toBe(1);
    // The simulated report model answers 200 prompt and 60 completion tokens.
    const model = responses * responseCost() + reports * ((200 * MINI.input + 60 * MINI.output) / 1_000_000);
    expect(first.estimated).toBe(true);
    expect(first.currency).toBe("USD");
    expect(first.model).toBeCloseTo(model, 6);
    // Not rated yet: one started minute at pricing.telephony_per_min.
    expect(first.telephony).toBeCloseTo(0.014, 6);
    expect(first.total).toBeCloseTo(first.telephony + first.model, 6);

    const settled = await until(
      async () => {
        const cost = (await detail(a, id)).cost;
        return cost.estimated ? null : cost;
      },
      "Twilio's price",
      15_000,
    );
    expect(a.twilio.price(sid)).toBe("-0.01300");
    expect(settled).toEqual({
      currency: "USD",
      telephony: 0.013,
      model: first.model,
      total: Math.round((0.013 + first.model) * 1e6) / 1e6,
      estimated: false,
    });

    const text = await (await fetch(`${a.url}/api/calls/${id}/transcript`)).text();
    expect(text).toContain(
      `  cost: $${settled.total.toFixed(4)} (telephony $0.0130, model $${settled.model.toFixed(4)})`,
    );
    const families = parsePrometheusTextFormat(await (await fetch(`${a.url}/metrics`)).text());
    const counter = families.find((f) => f.name === "agenticai_call_cost_usd_total")!;
    const part = (name: string) => Number(counter.metrics.find((m) => m.labels?.part === name)?.value);
    expect(part("telephony")).toBeCloseTo(0.013, 6);
    expect(part("model")).toBeCloseTo(settled.model, 6);
  });

  test("the call.ended event carries the cost as it was when the report was made", async () => {
    app = await startTestApp({
      config: { events: { url: "http://127.0.0.1:9/events" }, limits: { api_requests_per_minute: 1_000_000 } },
    });
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "in-progress");
    await app.twilio.sendStatus(sid, "completed", { CallDuration: "61" });
    const cost = await until(async () => (await detail(app!, id)).cost, "the cost");
    const events = (await app.api("/api/events")).body.events as { type: string; payload: any }[];
    const ended = events.find((e) => e.type === "call.ended")!;
    expect(ended.payload.data.cost).toEqual(cost);
  });

  test("a call never answered costs nothing, settled at once", async () => {
    const a = await start();
    const { id, sid } = await a.call();
    await a.twilio.sendStatus(sid, "busy");
    const cost = await until(async () => (await detail(a, id)).cost, "the cost");
    expect(cost).toEqual({ currency: "USD", telephony: 0, model: 0, total: 0, estimated: false });
  });
});
