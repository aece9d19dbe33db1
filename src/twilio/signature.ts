import { hmac, secretsEqual } from "../runtime/crypto.ts";

export type FormParams = Record<string, string | string[]>;

/** X-Twilio-Signature: base64 HMAC-SHA1 over the URL followed by each sorted key and its sorted, de-duplicated values. */
export function computeSignature(authToken: string, url: string, params: FormParams = {}): string {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    const raw = params[key]!;
    const values = Array.isArray(raw) ? [...new Set(raw)].sort() : [raw];
    for (const value of values) data += key + value;
  }
  return hmac("sha1", authToken, data, "base64");
}

const DEFAULT_PORT: Record<string, string> = { https: "443", wss: "443", http: "80", ws: "80" };

/**
 * Twilio is inconsistent about whether the default port is part of the signed URL, so, like
 * twilio-node, accept the URL as given, without its default port, and with it added.
 */
export function urlVariants(url: string): string[] {
  // Parsed by hand: WHATWG URL drops a default port, and the spelling is what was signed.
  const m = /^([a-z]+):\/\/([^/?#:]+)(?::(\d+))?(.*)$/i.exec(url);
  const port = m && DEFAULT_PORT[m[1]!.toLowerCase()];
  if (!m || !port) return [url];
  const [, scheme, host, given, rest] = m;
  if (given === undefined) return [url, `${scheme}://${host}:${port}${rest}`];
  return given === port ? [url, `${scheme}://${host}${rest}`] : [url];
}

export function validateSignature(
  authToken: string,
  signature: string | null,
  url: string,
  params: FormParams = {},
): boolean {
  if (!signature) return false;
  return urlVariants(url).some((candidate) => secretsEqual(computeSignature(authToken, candidate, params), signature));
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
