import { secretsEqual } from "../runtime/crypto.ts";

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

export function tokenMatches(expected: string, header: string | null): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim();
  return given !== undefined && secretsEqual(expected, given);
}

// Headers that proxies, CDNs and load balancers add on the way in (the standard one, the de facto ones,
// and those of Cloudflare, Akamai, Fastly and others). Clients do not send them on their own.
const PROXY_HEADERS = [
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-original-forwarded-for",
  "x-real-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "cf-connecting-ip",
  "true-client-ip",
  "fastly-client-ip",
  "via",
];

export const WRONG_TOKEN = "Unauthorized: send the header 'Authorization: Bearer <AGENTICAI_API_TOKEN>'";
export const REMOTE_WITHOUT_TOKEN =
  "Unauthorized: the API answers only local clients until AGENTICAI_API_TOKEN is set; set it and send 'Authorization: Bearer <token>'";

/**
 * Without a token only loopback clients are served. A reverse proxy or tunnel on the same host makes every
 * client look local, so a request that carries any proxy's header is treated as remote.
 */
export function authorize(
  token: string | undefined,
  authHeader: string | null,
  address: string | undefined,
  headers: Headers,
): string | null {
  if (token) return tokenMatches(token, authHeader) ? null : WRONG_TOKEN;
  if (isLoopback(address) && !PROXY_HEADERS.some((h) => headers.has(h))) return null;
  return REMOTE_WITHOUT_TOKEN;
}
