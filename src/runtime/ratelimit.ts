// Token buckets per key (a client address): the API's request rate, and the call budget that every dial
// draws from, the request's and each retry's alike.

/** Token bucket per key: `take` answers 0 when allowed, else the seconds until a token is back. */
export interface RateLimiter {
  take(key: string): number;
  /** Gives back a token taken for work that then did not happen, so it does not count against the key. */
  refund(key: string): void;
}

const MAX_KEYS = 10_000;

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
      if (buckets.size >= MAX_KEYS) {
        // Full buckets carry no information, so forgetting them is free; this bounds memory under a flood.
        for (const [k, b] of buckets) {
          refill(b, t);
          if (b.tokens >= perMinute) buckets.delete(k);
        }
      }
      let bucket = buckets.get(key);
      if (!bucket) {
        bucket = { tokens: perMinute, at: t };
        buckets.set(key, bucket);
      }
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
