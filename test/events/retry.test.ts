// The retry schedule, without a clock: what one attempt's answer means for the next.
import { describe, expect, test } from "bun:test";
import {
  type Attempt,
  afterAttempt,
  backoffMs,
  GIVE_UP_AFTER_MS,
  parseRetryAfter,
  retryable,
} from "../../src/events/retry.ts";
import type { OutboxRow } from "../../src/store/store.ts";

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 60 * 60 * 1000;

function row(over: Partial<OutboxRow> = {}): OutboxRow {
  return {
    id: 1,
    event_id: "msg_0123456789abcdef0123456789abcdef",
    call_id: "call-1",
    receiver: "events",
    url: "https://example.com/hooks",
    type: "call.ended",
    body: "{}",
    status: "pending",
    attempts: 0,
    created_at: NOW,
    next_attempt_at: NOW,
    last_status: null,
    last_error: null,
    delivered_at: null,
    ...over,
  };
}

const answer = (status: number | null, retryAfterMs: number | null = null): Attempt => ({
  status,
  error: status === null ? "connect ECONNREFUSED 127.0.0.1:9" : status >= 300 ? `HTTP ${status}` : null,
  retryAfterMs,
});

describe("backoffMs", () => {
  test("starts at 2.5–5 s and doubles with each attempt", () => {
    expect(backoffMs(0, 0)).toBe(2_500);
    expect(backoffMs(0, 1)).toBe(5_000);
    expect(backoffMs(0, 0.5)).toBe(3_750);
    expect(backoffMs(1, 0)).toBe(5_000);
    expect(backoffMs(1, 1)).toBe(10_000);
    for (const r of [0, 0.3, 0.99]) {
      for (let n = 0; n < 9; n++) expect(backoffMs(n + 1, r)).toBe(2 * backoffMs(n, r));
    }
  });

  test("is capped at one hour, however many attempts (half of it at the least)", () => {
    // 5 s × 2^10 is beyond an hour.
    expect(backoffMs(10, 1)).toBe(HOUR);
    expect(backoffMs(10, 0)).toBe(HOUR / 2);
    for (const n of [10, 11, 20, 64, 1_100]) {
      expect(backoffMs(n, 1)).toBe(HOUR);
      expect(backoffMs(n, 0)).toBe(HOUR / 2);
    }
    let previous = 0;
    for (let n = 0; n < 40; n++) {
      const b = backoffMs(n, 0.5);
      expect(b).toBeGreaterThanOrEqual(previous);
      expect(b).toBeLessThanOrEqual(HOUR);
      previous = b;
    }
  });

  test("jitter stays within half the ceiling and the ceiling", () => {
    for (let n = 0; n < 15; n++) {
      const ceiling = Math.min(HOUR, 5_000 * 2 ** n);
      for (let i = 0; i < 200; i++) {
        const b = backoffMs(n, Math.random());
        expect(b).toBeGreaterThanOrEqual(ceiling / 2);
        expect(b).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});

describe("parseRetryAfter", () => {
  test("seconds", () => {
    expect(parseRetryAfter("1", NOW)).toBe(1_000);
    expect(parseRetryAfter("0", NOW)).toBe(0);
    expect(parseRetryAfter(" 120 ", NOW)).toBe(120_000);
    expect(parseRetryAfter("3600", NOW)).toBe(HOUR);
  });

  test("an HTTP date, counted from now; a date gone by is now", () => {
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000);
    expect(parseRetryAfter("Thu, 15 Jan 2026 12:02:00 GMT", NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
  });

  test("absent or unreadable is null", () => {
    expect(parseRetryAfter(null, NOW)).toBeNull();
    expect(parseRetryAfter("", NOW)).toBeNull();
    expect(parseRetryAfter("soon", NOW)).toBeNull();
    expect(parseRetryAfter("5s", NOW)).toBeNull();
  });
});

describe("retryable", () => {
  test("no answer, 408, 429 and 5xx are worth another try", () => {
    for (const s of [null, 408, 429, 500, 502, 503, 504, 599]) expect(retryable(s)).toBe(true);
  });
  test("any other 4xx is not, nor a redirect (they are not followed)", () => {
    for (const s of [400, 401, 403, 404, 405, 409, 410, 413, 422, 301, 302, 307]) expect(retryable(s)).toBe(false);
  });
});

describe("afterAttempt", () => {
  test("2xx is delivered", () => {
    for (const s of [200, 201, 202, 204, 299]) {
      expect(afterAttempt(row(), answer(s), NOW + 10)).toEqual({
        status: "delivered",
        at: NOW + 10,
        next_attempt_at: NOW + 10,
        last_status: s,
        last_error: null,
      });
    }
  });

  test("a 4xx other than 408/429 is failed at once, whatever Retry-After says", () => {
    for (const s of [400, 401, 403, 404, 410, 422]) {
      expect(afterAttempt(row(), answer(s, 1_000), NOW)).toEqual({
        status: "failed",
        at: NOW,
        next_attempt_at: NOW,
        last_status: s,
        last_error: `HTTP ${s}`,
      });
    }
  });

  test("408, 429, 5xx and no answer are tried again after the backoff for the attempts so far", () => {
    for (const s of [408, 429, 500, 503, null]) {
      const r = afterAttempt(row(), answer(s), NOW, 0);
      expect(r).toEqual({
        status: "pending",
        at: NOW,
        next_attempt_at: NOW + 2_500,
        last_status: s,
        last_error: answer(s).error,
      });
    }
    expect(afterAttempt(row({ attempts: 3 }), answer(503), NOW, 1).next_attempt_at).toBe(NOW + 40_000);
    expect(afterAttempt(row({ attempts: 30 }), answer(null), NOW, 1).next_attempt_at).toBe(NOW + HOUR);
  });

  test("a longer Retry-After is honoured; a shorter one does not bring the retry forward", () => {
    expect(afterAttempt(row(), answer(429, 60_000), NOW, 0).next_attempt_at).toBe(NOW + 60_000);
    expect(afterAttempt(row(), answer(503, 1_000), NOW, 0).next_attempt_at).toBe(NOW + 2_500);
    expect(afterAttempt(row(), answer(503, 0), NOW, 1).next_attempt_at).toBe(NOW + 5_000);
  });

  test("with the default jitter the first retry is 2.5–5 s away", () => {
    for (let i = 0; i < 100; i++) {
      const next = afterAttempt(row(), answer(500), NOW).next_attempt_at;
      expect(next).toBeGreaterThanOrEqual(NOW + 2_500);
      expect(next).toBeLessThanOrEqual(NOW + 5_000);
    }
  });

  test("gives up once the next try would fall more than 24 h after the event was queued", () => {
    const queued = NOW - GIVE_UP_AFTER_MS;
    expect(GIVE_UP_AFTER_MS).toBe(24 * HOUR);
    // Due exactly at the limit: still tried.
    expect(afterAttempt(row({ created_at: queued + 2_500 }), answer(503), NOW, 0).status).toBe("pending");
    expect(afterAttempt(row({ created_at: queued + 2_499 }), answer(503), NOW, 0)).toEqual({
      status: "failed",
      at: NOW,
      next_attempt_at: NOW,
      last_status: 503,
      last_error: "gave up after 24 h: HTTP 503",
    });
    expect(afterAttempt(row({ created_at: queued, attempts: 20 }), answer(null), NOW, 0)).toMatchObject({
      status: "failed",
      last_status: null,
      last_error: "gave up after 24 h: connect ECONNREFUSED 127.0.0.1:9",
    });
    // A Retry-After beyond the limit gives up now rather than waiting past it.
    expect(afterAttempt(row(), answer(429, GIVE_UP_AFTER_MS + 1), NOW, 0)).toMatchObject({
      status: "failed",
      last_error: "gave up after 24 h: HTTP 429",
    });
    // A success is a success however late it comes.
    expect(afterAttempt(row({ created_at: queued - HOUR }), answer(200), NOW).status).toBe("delivered");
  });

  test("a requeued event (created_at reset) gets a fresh 24 h", () => {
    expect(afterAttempt(row({ created_at: NOW, attempts: 25 }), answer(503), NOW, 1)).toMatchObject({
      status: "pending",
      next_attempt_at: NOW + HOUR,
    });
  });
});
