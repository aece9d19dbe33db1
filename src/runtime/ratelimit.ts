// Token buckets per key (a client address): the API's request rate, and the call budget that every dial
// draws from, the request's and each retry's alike.

/** Token bucket per key: `take` answers 0 when allowed, else the seconds until a token is back. */
export interface RateLimiter {
  take(key: string): number;
  /** Gives back a token taken for work that then did not happen, so it does not count against the key. */
  refund(key: string): void;
}

export const MAX_KEYS = 10_000;

export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  const refill = (b: { tokens: number; at: number }, t: number) => {
    b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * refillPerMs);
    b.at = t;
  };
  return {
    take(key) {
      const t = now();
      let bucket = buckets.get(key);
      // The map is kept in the order of last use: each take moves its key to the end.
      if (bucket) buckets.delete(key);
      else {
        bucket = { tokens: perMinute, at: t };
        // Bounded under a flood of addresses, at one deletion a request: the key unused the longest goes, its bucket
        // refilled the longest. (Walking the map for full buckets instead cost every request 10 000 steps once that
        // many addresses were mid-minute, and freed nothing.)
        if (buckets.size >= MAX_KEYS) buckets.delete(buckets.keys().next().value!);
      }
      buckets.set(key, bucket);
      refill(bucket, t);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - bucket.tokens) / refillPerMs / 1000);
    },
    refund(key) {
      const bucket = buckets.get(key);
      if (bucket) bucket.tokens = Math.min(perMinute, bucket.tokens + 1);
    },
  };
}
