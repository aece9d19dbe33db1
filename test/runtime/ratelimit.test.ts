// The token buckets behind the API's request rate and the call budget: what a key may take, and what is forgotten
// when more addresses than the limiter keeps are mid-minute at once.
import { describe, expect, test } from "bun:test";
import { clientKey, createRateLimiter, MAX_KEYS } from "../../src/runtime/ratelimit.ts";

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

  test("an IPv6 client's addresses share its /64's bucket; an IPv4 client is its own, however it is written", () => {
    const { limit } = limiter(2);
    expect(allowed(limit.take, "2001:db8:1:2:aaaa::1", 5)).toBe(2);
    expect(limit.take("2001:0DB8:0001:0002:bbbb:cccc:dddd:eeee")).toBeGreaterThan(0);
    expect(limit.take("2001:db8:1:3::1")).toBe(0);
    expect(allowed(limit.take, "192.0.2.1", 5)).toBe(2);
    expect(limit.take("::ffff:192.0.2.1")).toBeGreaterThan(0);
    expect(limit.take("192.0.2.2")).toBe(0);
  });

  test("clientKey: IPv6 to its /64, :: filled in and zone dropped; IPv4 and what is no address as they are", () => {
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("2001:db8:0:0:1::")).toBe("2001:db8:0:0::/64");
    expect(clientKey("fe80::1%eth0")).toBe(clientKey("fe80::2%eth1"));
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("64:ff9b::198.51.100.7")).toBe("64:ff9b:0:0::/64");
    expect(clientKey("::FFFF:198.51.100.7")).toBe("198.51.100.7");
    expect(clientKey("198.51.100.7")).toBe("198.51.100.7");
    expect(clientKey("unknown")).toBe("unknown");
    expect(clientKey("1::2::3")).toBe("1::2::3");
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
