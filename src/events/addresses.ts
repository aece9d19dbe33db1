// Which IP addresses a per-call receiver may be at: public unicast only. Everything in IANA's special-purpose
// registries (IPv4 and IPv6) is refused, globally reachable entries included, since no webhook receiver lives
// there, and so is every IPv6 address outside global unicast (2000::/3). Pure: the tests need no network.
import { once } from "../runtime/once.ts";

type Range = readonly [base: bigint, bits: number];

const v4 = (text: string, bits: number): Range => [parseIPv4(text)!, bits];
const v6 = (text: string, bits: number): Range => [parseIPv6(text)!, bits];

/**
 * The ranges, parsed on the first check rather than at import: their BigInt arithmetic cost every start ~0.5 ms,
 * for a check that only a callback_url or events.url makes.
 */
function buildRanges() {
  /** IANA IPv4 Special-Purpose Address Registry, plus multicast and the reserved 240/4 (broadcast included). */
  const v4Refused: readonly Range[] = [
    v4("0.0.0.0", 8), // "this network", 0.0.0.0 included
    v4("10.0.0.0", 8),
    v4("100.64.0.0", 10), // CGNAT shared address space
    v4("127.0.0.0", 8),
    v4("169.254.0.0", 16), // link-local, cloud metadata (169.254.169.254)
    v4("172.16.0.0", 12),
    v4("192.0.0.0", 24), // IETF protocol assignments
    v4("192.0.2.0", 24), // TEST-NET-1
    v4("192.31.196.0", 24), // AS112
    v4("192.52.193.0", 24), // AMT
    v4("192.88.99.0", 24), // 6to4 relay anycast (deprecated)
    v4("192.168.0.0", 16),
    v4("192.175.48.0", 24), // direct delegation AS112
    v4("198.18.0.0", 15), // benchmarking
    v4("198.51.100.0", 24), // TEST-NET-2
    v4("203.0.113.0", 24), // TEST-NET-3
    v4("224.0.0.0", 4), // multicast
    v4("240.0.0.0", 4), // reserved, 255.255.255.255 included
  ];

  /** Special-purpose blocks inside 2000::/3; whatever lies outside 2000::/3 is refused anyway. */
  const v6Refused: readonly Range[] = [
    v6("2001::", 23), // IETF protocol assignments: Teredo, ORCHID, AMT, AS112…
    v6("2001:db8::", 32), // documentation
    v6("2002::", 16), // 6to4, which carries any IPv4 address inside
    v6("2620:4f:8000::", 48), // AS112
    v6("3fff::", 20), // documentation
  ];
  const globalUnicast = v6("2000::", 3);
  /** NAT64 (RFC 6052): as good as the IPv4 address in its last 32 bits. */
  const nat64 = v6("64:ff9b::", 96);
  return { v4Refused, v6Refused, globalUnicast, nat64 };
}
const ranges = once(buildRanges);

const inRange = (address: bigint, width: number, [base, bits]: Range) =>
  address >> BigInt(width - bits) === base >> BigInt(width - bits);

/** A dotted quad as the URL parser and DNS write it; null for anything else. */
export function parseIPv4(text: string): bigint | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n);
}

/** An IPv6 address in any RFC 4291 text form (`::`, a trailing dotted quad); brackets and zones are not. */
export function parseIPv6(text: string): bigint | null {
  const halves = text.toLowerCase().split("::");
  if (halves.length > 2) return null;
  const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
  const last = groups.at(-1)!;
  const dotted = last.at(-1)?.includes(".") ?? false;
  const tail = dotted ? parseIPv4(last.pop()!) : null;
  if (dotted && tail === null) return null;
  const words = tail === null ? 8 : 6;
  const given = groups.flat().length;
  if (halves.length === 1 ? given !== words : given >= words) return null;
  if (!groups.flat().every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const hex = [...groups[0]!, ...Array(words - given).fill("0"), ...(halves.length === 2 ? groups[1]! : [])];
  const head = hex.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
  return tail === null ? head : (head << 32n) | tail;
}

function publicIPv4(address: bigint): boolean {
  return !ranges().v4Refused.some((r) => inRange(address, 32, r));
}

function publicIPv6(address: bigint): boolean {
  const { nat64, globalUnicast, v6Refused } = ranges();
  if (inRange(address, 128, nat64)) return publicIPv4(address & 0xffff_ffffn);
  return inRange(address, 128, globalUnicast) && !v6Refused.some((r) => inRange(address, 128, r));
}

/**
 * True only for a public unicast address, written as DNS answers write them or as a URL's hostname does (an
 * IPv6 one in brackets). Loopback, private, link-local, unique-local, CGNAT, multicast, unspecified,
 * IPv4-mapped and every other special-purpose address is false, and so is text that is no address at all.
 */
export function isPublicAddress(text: string): boolean {
  const bracketed = text.startsWith("[") && text.endsWith("]");
  const four = bracketed ? null : parseIPv4(text);
  if (four !== null) return publicIPv4(four);
  const six = parseIPv6(bracketed ? text.slice(1, -1) : text);
  return six !== null && publicIPv6(six);
}

/** An IP literal (a URL's hostname: IPv6 in brackets), not a name to resolve. */
export function isIpLiteral(hostname: string): boolean {
  return parseIPv4(hostname) !== null || (hostname.startsWith("[") && hostname.endsWith("]"));
}
