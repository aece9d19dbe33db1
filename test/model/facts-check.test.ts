// The facts checker runs the caller's patterns on a worker thread within a time bound: the event loop is never
// held by a pattern, however it backtracks, and a check that overruns is answered and the thread replaced.
import { afterAll, describe, expect, test } from "bun:test";
import { createFactsChecker } from "../../src/model/facts-check.ts";

const checker = createFactsChecker(500);
afterAll(() => checker.close());

const schema = (pattern: string) => ({
  type: "object",
  properties: { code: { type: "string", pattern } },
  required: ["code"],
});

/** The longest the event loop went without running a 5 ms timer while `work` ran. */
async function longestStall(work: Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    await work;
  } finally {
    clearInterval(timer);
  }
  return longest;
}

describe("the facts checker", () => {
  test("answers as the schema says: null for facts that fit, the path and problem otherwise", async () => {
    expect(await checker.check(schema("^[A-Z]{3}$"), { code: "ABC" })).toBeNull();
    expect(await checker.check(schema("^[A-Z]{3}$"), { code: "abc" })).toStartWith("'facts.code': ");
  });

  test("a backtracking pattern holds only the worker: the event loop never stalls, and the check is answered", async () => {
    const facts = { code: "x".repeat(40) };
    let problem: string | null = null;
    const stall = await longestStall(
      Promise.all(
        Array.from({ length: 3 }, () => checker.check(schema("^(?:[^g]*[^g]*)+@"), facts).then((p) => (problem = p))),
      ),
    );
    expect(stall).toBeLessThan(50);
    expect(problem!).toMatch(/cannot be checked: checking took longer than 500 ms|must match pattern/);
    // The thread that overran was replaced: the next check works.
    expect(await checker.check(schema("^[A-Z]{3}$"), { code: "XYZ" })).toBeNull();
  }, 20_000);

  test("closing answers the checks still waiting", async () => {
    const own = createFactsChecker(5_000);
    const waiting = own.check(schema("^(?:[^g]*[^g]*)+@"), { code: "x".repeat(40) });
    own.close();
    expect(await waiting).toContain("the server is stopping");
  });
});
