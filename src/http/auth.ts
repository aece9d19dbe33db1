import { secretsEqual } from "../runtime/crypto.ts";

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

export function tokenMatches(expected: string, header: string | null): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim();
  return given !== undefined && secretsEqual(expected, given);
}

const PROXY_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip"];

/**
 * Without a token only loopback clients are served. A reverse proxy on the same host makes every
 * client look local, so a request that names a forwarded client is treated as remote.
 */
export function authorize(
  token: string | undefined,
  authHeader: string | null,
  address: string | undefined,
  headers: Headers,
): string | null {
  if (token)
    return tokenMatches(token, authHeader)
      ? null
      : "Unauthorized: send the header 'Authorization: Bearer <AGENTICAI_API_TOKEN>'";
  if (isLoopback(address) && !PROXY_HEADERS.some((h) => headers.has(h))) return null;
  return "Unauthorized: the API answers only local clients until AGENTICAI_API_TOKEN is set; set it and send 'Authorization: Bearer <token>'";
}
