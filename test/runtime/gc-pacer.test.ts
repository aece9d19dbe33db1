import { describe, expect, test } from "bun:test";
import { CALL_MS_PER_COLLECTION, createGcPace, TICK_MS } from "../../src/runtime/gc-pacer.ts";

const ticksUntilCollect = (calls: number) => {
  const due = createGcPace();
  for (let tick = 1; tick <= 10_000; tick++) if (due(calls)) return tick;
  return Infinity;
};

describe("young-generation collections paced by call time", () => {
  test("collect after the same amount of call time whatever the number of calls", () => {
    expect(ticksUntilCollect(500) * TICK_MS).toBe(100);
    expect(ticksUntilCollect(1000) * TICK_MS).toBe(100);
    expect(ticksUntilCollect(10) * TICK_MS).toBe(5_000);
    expect(ticksUntilCollect(1) * TICK_MS).toBe(CALL_MS_PER_COLLECTION);
  });

  test("an idle server never collects on its own account", () => {
    expect(ticksUntilCollect(0)).toBe(Infinity);
  });

  test("the count restarts after each collection", () => {
    const due = createGcPace();
    const pattern = Array.from({ length: 6 }, () => due(250));
    expect(pattern).toEqual([false, true, false, true, false, true]);
  });
});
