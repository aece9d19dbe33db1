import { createHmac, timingSafeEqual } from "node:crypto";

export type FormParams = Record<string, string | string[]>;

/** X-Twilio-Signature: base64 HMAC-SHA1 over the URL followed by each sorted key and its sorted, de-duplicated values. */
export function computeSignature(authToken: string, url: string, params: FormParams = {}): string {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    const raw = params[key]!;
    const values = Array.isArray(raw) ? [...new Set(raw)].sort() : [raw];
    for (const value of values) data += key + value;
  }
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

/**
 * Twilio is inconsistent about whether the default port is part of the signed URL, so, like
 * twilio-node, accept the URL as given, without its port, and with the scheme's default port added.
 */
export function urlVariants(url: string): string[] {
  const variants = new Set([url]);
  const u = URL.parse(url);
  if (!u) return [...variants];
  const defaultPort = { "https:": "443", "wss:": "443", "http:": "80", "ws:": "80" }[u.protocol];
  if (u.port) {
    if (u.port === defaultPort) variants.add(url.replace(`${u.hostname}:${u.port}`, u.hostname));
  } else if (defaultPort) {
    variants.add(url.replace(u.host, `${u.host}:${defaultPort}`));
  }
  return [...variants];
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function validateSignature(authToken: string, signature: string | null, url: string, params: FormParams = {}): boolean {
  if (!signature) return false;
  return urlVariants(url).some((candidate) => safeEqual(computeSignature(authToken, candidate, params), signature));
}

/** Form bodies keep repeated keys as arrays so the signature sees every value. */
export function formParams(body: string): FormParams {
  const out: FormParams = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}
