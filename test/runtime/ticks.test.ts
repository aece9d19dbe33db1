import { describe, expect, test } from "bun:test";
import { createTicks } from "../../src/runtime/ticks.ts";

const MS = 15;

describe("shared repeating timers", () => {
  test("everyone asking for the same period is called from one interval, in one timer callback", async () => {
    const ticks = createTicks();
    const calls: string[] = [];
    let inCallback = false;
    const first = ticks.every(MS, () => {
      calls.push("a");
      inCallback = true;
      // Cleared once this timer callback is over: a second interval's callback would find it false.
      queueMicrotask(() => {
        inCallback = false;
      });
    });
    await Bun.sleep(MS / 3);
    const together: boolean[] = [];
    const second = ticks.every(MS, () => {
      calls.push("b");
      together.push(inCallback);
    });
    await Bun.sleep(MS * 8);
    first();
    second();
    expect(together.length).toBeGreaterThanOrEqual(3);
    expect(together.every(Boolean)).toBe(true);
    expect(calls.join("")).toMatch(/^a*(ab)+$/);
  });

  test("a stopped subscriber is not called again; the interval starts again for the next one", async () => {
    const ticks = createTicks();
    let stopped = 0;
    const stop = ticks.every(MS, () => stopped++);
    await Bun.sleep(MS * 3);
    stop();
    stop();
    const seen = stopped;
    expect(seen).toBeGreaterThan(0);
    await Bun.sleep(MS * 3);
    expect(stopped).toBe(seen);
    let next = 0;
    const stopNext = ticks.every(MS, () => next++);
    await Bun.sleep(MS * 4);
    stopNext();
    expect(next).toBeGreaterThan(0);
    expect(stopped).toBe(seen);
  });

  test("the same function added twice is two subscriptions, each stopped by its own call", async () => {
    const ticks = createTicks();
    let n = 0;
    const fn = () => n++;
    const one = ticks.every(MS, fn);
    const two = ticks.every(MS, fn);
    await Bun.sleep(MS * 3);
    one();
    const before = n;
    await Bun.sleep(MS * 4);
    two();
    expect(n).toBeGreaterThan(before);
  });
});
