import { describe, expect, test } from "bun:test";
import { createSilence, heard, lineUp, silenceStep } from "../../src/bridge/silence.ts";

const policy = { repromptMs: 10_000, hangupMs: 30_000 };

describe("silence", () => {
  test("nothing is timed before the line is up", () => {
    const s = createSilence();
    expect(silenceStep(s, policy, 1_000_000)).toBeNull();
  });

  test("one check-in after reprompt, then the hang-up, each once, counted from the last speech", () => {
    const s = createSilence();
    lineUp(s, 0);
    heard(s, 4_000, false);
    expect(silenceStep(s, policy, 13_999)).toBeNull();
    expect(silenceStep(s, policy, 14_000)).toBe("check_in");
    expect(silenceStep(s, policy, 20_000)).toBeNull();
    expect(silenceStep(s, policy, 34_000)).toBe("hang_up");
    expect(silenceStep(s, policy, 60_000)).toBeNull();
  });

  test("the agent's own check-in does not restart the clock; the callee's answer does", () => {
    const s = createSilence();
    lineUp(s, 0);
    expect(silenceStep(s, policy, 10_000)).toBe("check_in");
    heard(s, 12_000, false);
    expect(silenceStep(s, policy, 30_000)).toBe("hang_up");

    const t = createSilence();
    lineUp(t, 0);
    expect(silenceStep(t, policy, 10_000)).toBe("check_in");
    heard(t, 12_000, true);
    expect(silenceStep(t, policy, 21_999)).toBeNull();
    expect(silenceStep(t, policy, 22_000)).toBe("check_in");
    expect(silenceStep(t, policy, 41_999)).toBeNull();
    expect(silenceStep(t, policy, 42_000)).toBe("hang_up");
  });

  test("0 turns a step off", () => {
    const s = createSilence();
    lineUp(s, 0);
    expect(silenceStep(s, { repromptMs: 0, hangupMs: 5_000 }, 5_000)).toBe("hang_up");
    const t = createSilence();
    lineUp(t, 0);
    expect(silenceStep(t, { repromptMs: 1_000, hangupMs: 0 }, 1_000_000)).toBe("check_in");
    expect(silenceStep(t, { repromptMs: 1_000, hangupMs: 0 }, 2_000_000)).toBeNull();
  });
});
