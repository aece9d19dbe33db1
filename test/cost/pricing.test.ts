// Pricing as units: tokens by the list prices the issue states (read 2026-12-06), Twilio's price strings, the
// estimate per started minute, and a config's prices over the shipped ones.
import { describe, expect, test } from "bun:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import {
  callCost,
  chatCost,
  modelPrice,
  realtimeCost,
  telephonyEstimate,
  twilioCharge,
} from "../../src/cost/pricing.ts";

const config = ConfigSchema.parse({});
const M = 1_000_000;

describe("model prices", () => {
  test("gpt-realtime: text and audio, cached and not, in and out, each at its list price", () => {
    const price = modelPrice(config, "gpt-realtime")!;
    // 1M of each kind: $4 text in, $0.40 cached text, $32 audio in, $0.40 cached audio, $16 text out, $64 audio out.
    const usage = {
      input_tokens: 4 * M,
      input_audio_tokens: 2 * M,
      cached_tokens: 2 * M,
      cached_audio_tokens: M,
      output_tokens: 2 * M,
      output_audio_tokens: M,
    };
    expect(realtimeCost(price, usage)).toBeCloseTo(4 + 0.4 + 32 + 0.4 + 16 + 64, 9);
    // Metrics stored before cached audio was kept: all cached tokens count as text.
    const { cached_audio_tokens: _, ...older } = usage;
    expect(realtimeCost(price, older)).toBeCloseTo(0 + 2 * 0.4 + 2 * 32 + 16 + 64, 9);
  });

  test("gpt-5-mini: $0.25 in, $0.025 cached, $2 out per 1M", () => {
    const price = modelPrice(config, "gpt-5-mini")!;
    expect(chatCost(price, { prompt_tokens: 3 * M, cached_tokens: M, completion_tokens: M })).toBeCloseTo(
      0.5 + 0.025 + 2,
      9,
    );
  });

  test("pricing.models adds models and overrides one it names, keeping the shipped others", () => {
    const priced = ConfigSchema.parse({
      pricing: { models: { "my-realtime": { input: 1, cached_input: 0.1, output: 2, audio_input: 10 } } },
    });
    const mine = modelPrice(priced, "my-realtime")!;
    // Audio out has no price of its own: the text one.
    expect(
      realtimeCost(mine, {
        input_tokens: M,
        input_audio_tokens: M,
        cached_tokens: 0,
        output_tokens: M,
        output_audio_tokens: M,
      }),
    ).toBeCloseTo(12, 9);
    expect(modelPrice(priced, "gpt-realtime")).toEqual(modelPrice(config, "gpt-realtime"));
    expect(modelPrice(priced, "unknown-model")).toBeNull();
    expect(modelPrice(priced, "constructor")).toBeNull();
  });
});

describe("telephony", () => {
  test("Twilio's price is a negative decimal string in USD; null, unparsable or another currency is none", () => {
    expect(twilioCharge("-0.01400", "USD")).toBe(0.014);
    expect(twilioCharge("-0.02800", "usd")).toBe(0.028);
    expect(twilioCharge("0.00000", "USD")).toBe(0);
    expect(twilioCharge(null, "USD")).toBeNull();
    expect(twilioCharge("", "USD")).toBeNull();
    expect(twilioCharge("-0.0130", "EUR")).toBeNull();
    expect(twilioCharge("n/a", "USD")).toBeNull();
  });

  test("the estimate: each started minute of an answered call, one at least; nothing for one never answered", () => {
    expect(telephonyEstimate(config, false, null)).toBe(0);
    expect(telephonyEstimate(config, true, 0)).toBeCloseTo(0.014, 9);
    expect(telephonyEstimate(config, true, 60)).toBeCloseTo(0.014, 9);
    expect(telephonyEstimate(config, true, 61)).toBeCloseTo(0.028, 9);
  });

  test("a call's cost in micro-dollars, USD", () => {
    expect(callCost(0.1 + 0.2, 0.0000004, true)).toEqual({
      currency: "USD",
      telephony: 0.3,
      model: 0,
      total: 0.3,
      estimated: true,
    });
  });
});
