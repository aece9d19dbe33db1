// Where a per-call receiver (callback_url) may be, checked when a call is requested and again when each delivery
// connects, since a name can resolve elsewhere by then (DNS rebinding). A delivery connects to an address it
// checked: the URL's name is swapped for that address, with the name kept in the Host header and as the TLS
// server name, against which the certificate is verified.
import { isIpLiteral, isPublicAddress } from "./addresses.ts";

/** A host name's addresses; empty when it has none. */
export type Lookup = (hostname: string) => Promise<string[]>;

const LOOKUP_TIMEOUT_MS = 5_000;

/** The system resolver (hosts file included), every address; empty on failure or after 5 s. */
export const systemLookup: Lookup = (hostname) => {
  let timer: Timer | undefined;
  const late = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), LOOKUP_TIMEOUT_MS);
  });
  // node:dns is loaded on the first lookup: at start-up it would cost every start ~0.5 ms (bench/RESULTS.md).
  const answered = import("node:dns/promises")
    .then(({ lookup }) => lookup(hostname, { all: true, verbatim: true }))
    .then(
      (answers) => answers.map((a) => a.address),
      () => [],
    );
  return Promise.race([answered, late]).finally(() => clearTimeout(timer));
};

/**
 * Names that are private by convention or by RFC (6761, 6762, 8375, 9476, and ICANN's .internal), and single
 * labels, which a resolver completes with its search domains: refused without asking DNS.
 */
const PRIVATE_SUFFIXES = [
  "localhost",
  "local",
  "localdomain",
  "internal",
  "intranet",
  "private",
  "corp",
  "home",
  "lan",
  "arpa",
  "test",
  "example",
  "invalid",
  "onion",
  "alt",
];

export const CALLBACK_REFUSED =
  "'callback_url' must reach a public address: its host is, or resolves to, a loopback, private, link-local or otherwise reserved address, or does not resolve (see events.allow_private_networks)";

const bareName = (hostname: string) => hostname.replace(/\.+$/, "");

function privateName(name: string): boolean {
  return !name.includes(".") || PRIVATE_SUFFIXES.some((s) => name === s || name.endsWith(`.${s}`));
}

/** The addresses the URL's host stands for, or null if any of them (or the name itself) is not public. */
export async function publicAddresses(url: URL, resolve: Lookup): Promise<string[] | null> {
  const host = url.hostname;
  if (isIpLiteral(host)) return isPublicAddress(host) ? [host] : null;
  const name = bareName(host);
  if (privateName(name)) return null;
  const addresses = await resolve(name);
  return addresses.length > 0 && addresses.every(isPublicAddress) ? addresses : null;
}

/** Why a request's callback_url is refused, or null when its host is public (or private receivers are allowed). */
export async function callbackRefusal(
  callbackUrl: string,
  resolve: Lookup,
  allowPrivate: boolean,
): Promise<string | null> {
  if (allowPrivate) return null;
  const url = URL.parse(callbackUrl);
  return url && (await publicAddresses(url, resolve)) ? null : CALLBACK_REFUSED;
}

/** How one delivery reaches its receiver: the URL to fetch and what keeps the receiver's name on the wire. */
export interface Route {
  url: string;
  headers: Record<string, string>;
  tls?: { serverName: string };
}

/**
 * A route to the first address of the URL's host, checked (unless private receivers are allowed) just now;
 * null when it is refused or does not resolve. An IP literal needs no name kept.
 */
export async function pinnedRoute(target: string, resolve: Lookup, allowPrivate: boolean): Promise<Route | null> {
  const url = URL.parse(target);
  if (!url) return null;
  if (isIpLiteral(url.hostname)) {
    return allowPrivate || isPublicAddress(url.hostname) ? { url: url.href, headers: {} } : null;
  }
  const addresses = allowPrivate ? await resolve(bareName(url.hostname)) : await publicAddresses(url, resolve);
  const address = addresses?.[0];
  if (!address) return null;
  const pinned = new URL(url.href);
  pinned.hostname = address.includes(":") ? `[${address}]` : address;
  return {
    url: pinned.href,
    headers: { Host: url.host },
    ...(url.protocol === "https:" ? { tls: { serverName: bareName(url.hostname) } } : {}),
  };
}
