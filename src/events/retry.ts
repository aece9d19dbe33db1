// What one delivery attempt means for the next: delivered, tried again later, or given up. Pure, so
// the schedule is tested without a clock.
import type { AttemptResult, OutboxRow } from "../store/store.ts";

/** Retries stop this long after an event was queued. */
export const GIVE_UP_AFTER_MS = 24 * 60 * 60 * 1000;
const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 60 * 60 * 1000;

/** An HTTP status, or null when no response came (network error, timeout). */
export interface Attempt {
  status: number | null;
  error: string | null;
  /** The receiver's Retry-After, in ms from now, if it sent one. */
  retryAfterMs: number | null;
}

/** Worth trying again: no answer, a server error, 408 or 429. Any other 4xx will not change by waiting. */
export const retryable = (status: number | null) =>
  status === null || status === 408 || status === 429 || status >= 500;

/** Exponential, with jitter so that receivers coming back are not hit by every sender at once. */
export function backoffMs(attempts: number, random: number): number {
  const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempts);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/** Retry-After as seconds or as an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  // An HTTP date names its day and month; anything else ("1.5", "-5") would parse as some odd date.
  if (!/[A-Za-z]{3}/.test(value)) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function afterAttempt(row: OutboxRow, attempt: Attempt, now: number, random = Math.random()): AttemptResult {
  const base = { at: now, last_status: attempt.status, last_error: attempt.error };
  if (attempt.status !== null && attempt.status >= 200 && attempt.status < 300) {
    return { ...base, status: "delivered", next_attempt_at: now };
  }
  if (!retryable(attempt.status)) return { ...base, status: "failed", next_attempt_at: now };
  const next = now + Math.max(backoffMs(row.attempts, random), attempt.retryAfterMs ?? 0);
  if (next > row.created_at + GIVE_UP_AFTER_MS) {
    return {
      ...base,
      status: "failed",
      next_attempt_at: now,
      last_error: `gave up after 24 h: ${attempt.error ?? `HTTP ${attempt.status}`}`,
    };
  }
  return { ...base, status: "pending", next_attempt_at: next };
}
