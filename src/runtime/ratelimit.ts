// Token buckets per client address: the API's request rate, and the call budget that every dial draws from, the
// request's and each retry's alike.

/** Token bucket per client (clientKey): `take` answers 0 when allowed, else the seconds until a token is back. */
export interface RateLimiter {
  take(address: string): number;
  /** Gives back a token taken for work that then did not happen, so it does not count against the client. */
  refund(address: string): void;
}

export const MAX_KEYS = 10_000;

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

/**
 * Whose bucket an address draws from: an IPv4 address's own (written as an IPv4-mapped IPv6 one too), and for IPv6 its
 * /64, the block one host or one home line is given, so that a client does not get a fresh bucket from each of its 2^64
 * addresses. Anything that is not an address is its own key.
 */
export function clientKey(address: string): string {
  if (!address.includes(":")) return address;
  const mapped = MAPPED_IPV4.exec(address);
  if (mapped) return mapped[1]!;
  const groups = ipv6Groups(address.split("%")[0]!);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : address;
}

/** The eight groups of an IPv6 address, `::` filled in and each in its shortest hex; null for what is not one. */
function ipv6Groups(address: string): string[] | null {
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const parts = halves.map((half) => (half === "" ? [] : half.split(":")));
  // A dotted IPv4 tail holds the last two groups.
  const width = (groups: string[]) => groups.length + (groups.at(-1)?.includes(".") ? 1 : 0);
  const missing = 8 - parts.reduce((n, groups) => n + width(groups), 0);
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...parts[0]!, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...(parts[1] ?? [])];
  return groups.map((g) => (HEX_GROUP.test(g) ? Number.parseInt(g, 16).toString(16) : g));
}

export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  const refill = (b: { tokens: number; at: number }, t: number) => {
    b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * refillPerMs);
    b.at = t;
  };
  return {
    take(address) {
      const t = now();
      const key = clientKey(address);
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
    refund(address) {
      const bucket = buckets.get(clientKey(address));
      if (bucket) bucket.tokens = Math.min(perMinute, bucket.tokens + 1);
    },
  };
}
