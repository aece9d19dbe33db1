// src/runtime/ owns what the runtime lacks: crypto on Bun's hasher, the GC pacer, detached work, rate limits.
// It imports nothing of the server, so any folder may use it.
//
// HMAC and constant-time comparison on Bun's native hasher and Web Crypto: node:crypto would add a
// measurable share of every cold start (bench/RESULTS.md) for the same three operations.

export type Encoding = "base64" | "base64url" | "hex";

export function hmac(algorithm: "sha1" | "sha256", key: string | Uint8Array, data: string, encoding: Encoding): string {
  return new Bun.CryptoHasher(algorithm, key).update(data).digest().toString(encoding);
}

const sha256 = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest();

/** Compares digests, so neither the content nor the length of a secret leaks through timing. */
export const secretsEqual = (a: string, b: string): boolean => crypto.timingSafeEqual(sha256(a), sha256(b));

export const randomBytes = (bytes: number): Buffer => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes)));

export const randomToken = (bytes: number): string => randomBytes(bytes).toString("base64url");
