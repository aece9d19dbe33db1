// The token buckets behind the API's request rate and the call budget: what a key may take, and what is forgotten
// when more addresses than the limiter keeps are mid-minute at once.
import { describe, expect, test } from "bun:test";
import { createRateLimiter, MAX_KEYS } from "../../src/runtime/ratelimit.ts";

/** A limiter on a clock the test moves. */
function limiter(perMinute: number) {
  let t = 1_000_000;
  const limit = createRateLimiter(perMinute, () => t);
  return { limit, advance: (ms: number) => (t += ms) };
}

/** How many takes `key` gets before its first refusal (at most `max`). */
function allowed(take: (key: string) => number, key: string, max: number): number {
  let n = 0;
  while (n < max && take(key) === 0) n++;
  return n;
}

describe("rate limiter", () => {
  test("a key takes its minute's worth, then is told the seconds until a token is back; refill is steady", () => {
    const { limit, advance } = limiter(6);
    expect(allowed(limit.take, "a", 10)).toBe(6);
    expect(limit.take("a")).toBe(10);
    advance(10_000);
    expect(limit.take("a")).toBe(0);
    expect(limit.take("a")).toBe(10);
    expect(limit.take("b")).toBe(0);
  });

  test("a refund gives back a token, never more than the bucket holds", () => {
    const { limit } = limiter(2);
    expect(allowed(limit.take, "a", 5)).toBe(2);
    limit.refund("a");
    expect(limit.take("a")).toBe(0);
    expect(limit.take("a")).toBeGreaterThan(0);
    limit.refund("b");
    expect(allowed(limit.take, "b", 5)).toBe(2);
  });

  test("past MAX_KEYS addresses, the one unused the longest is forgotten; a key in use keeps its debt", () => {
    const { limit, advance } = limiter(1);
    expect(limit.take("old")).toBe(0);
    advance(1);
    expect(limit.take("busy")).toBe(0);
    for (let i = 0; i < MAX_KEYS - 2; i++) limit.take(`flood-${i}`);
    // "busy" is used again, so it is not the oldest when the next new address comes.
    expect(limit.take("busy")).toBeGreaterThan(0);
    expect(limit.take("newcomer")).toBe(0);
    expect(limit.take("busy")).toBeGreaterThan(0);
    // "old" went to make room: it starts again with a full bucket.
    expect(limit.take("old")).toBe(0);
  });
});
