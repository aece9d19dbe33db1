// Toll-fraud guard: which numbers the server may dial or transfer to. A leaked API token should not be able to
// run up a bill on premium-rate or far-away numbers, so every destination must match calls.allowed_destinations
// and must not fall in a high-risk range that the allow-list does not name at least as specifically.
import type { Config } from "../config/schema.ts";

/** A valid allowed_destinations entry: '+' then 1–15 digits. */
export { DESTINATION_PREFIX } from "../config/schema.ts";

// Country calling codes assigned in ITU-T E.164 (list of assigned codes), including the shared
// non-geographic ones (800, 808, 870, 878, 881–883, 888, 979, 991) and 379, reserved for Vatican City.
// Codes are prefix-free, so reading 1, then 2, then 3 digits finds at most one.
const CALLING_CODES = new Set(
  `1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86
  90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237
  238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266
  267 268 269 290 291 297 298 299 350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 379
  380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 590 591 592 593 594 595 596
  597 598 599 670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692 800 808 850 852
  853 855 856 870 878 880 881 882 883 886 888 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977
  979 991 992 993 994 995 996 998`.split(/\s+/),
);

// Area codes of the other countries in the North American Numbering Plan: dialled like domestic US numbers but
// billed as international calls, and a classic toll-fraud target. US territories (340, 670, 671, 684, 787, 939)
// are domestic and deliberately absent.
const OTHER_NANP = new Set(
  "242 246 264 268 284 345 441 473 649 658 664 721 758 767 784 809 829 849 868 869 876".split(" ").map((a) => `+1${a}`),
);

// A documented floor, not a complete list: well-known premium-rate / revenue-share ranges, shared-cost and
// personal-number ranges, and international networks, which fraudsters use to collect a share of the charge.
const PREMIUM_RATE = [
  "+1900", // US/Canada 900 premium
  "+1976", // NANP 976 pay-per-call
  "+449", // UK 09 premium
  "+4487", // UK 087 revenue share
  "+49900", // Germany 0900 premium
  "+49137", // Germany 0137 televoting
  "+49118", // Germany 0118 directory enquiries
  "+3389", // France 089 premium
  "+3290", // Belgium 090x premium
  "+31900", // Netherlands 0900
  "+31906", // Netherlands 0906
  "+31909", // Netherlands 0909
  "+34803", // Spain 803
  "+34806", // Spain 806
  "+34807", // Spain 807
  "+34905", // Spain 905 televoting
  "+39899", // Italy 899 premium
  "+41900", // Switzerland 0900
  "+41901", // Switzerland 0901
  "+41906", // Switzerland 0906
  "+43900", // Austria 0900
  "+43930", // Austria 0930
  "+4870", // Poland 70x premium
  "+61190", // Australia 190 premium
  "+64900", // New Zealand 0900
  "+979", // International Premium Rate Service
];

const HIGH_COST = [
  "+4470", // UK personal numbers
  "+4484", // UK 084 shared cost
  "+808", // International Shared Cost Service
  "+870", // Inmarsat
  "+878", // Universal Personal Telecommunications
  "+881", // Global Mobile Satellite System
  "+882", // International Networks
  "+883", // International Networks
  "+888", // OCHA disaster relief
  "+991", // ITPCS trial
];

const WHY_BLOCKED = {
  premium: "a premium-rate prefix",
  highCost: "a high-cost prefix (shared-cost, personal, satellite or international network numbers)",
  nanp: "another country sharing the +1 code (not the US or Canada), billed as an international call",
} as const;

const BLOCKED = new Map<string, keyof typeof WHY_BLOCKED>([
  ...PREMIUM_RATE.map((p) => [p, "premium"] as const),
  ...HIGH_COST.map((p) => [p, "highCost"] as const),
  ...[...OTHER_NANP].map((p) => [p, "nanp"] as const),
]);

/**
 * The country calling code prefix of an E.164 number ("+1", "+44", "+353", …), or null when no assigned code
 * matches.
 */
export function callingCode(number: string): string | null {
  for (let digits = 1; digits <= 3; digits++) {
    const code = number.slice(1, 1 + digits);
    if (CALLING_CODES.has(code)) return `+${code}`;
  }
  return null;
}

/**
 * The prefix that stands for the number's country: for NANP (+1) numbers in a non-US/Canada area code (Jamaica
 * +1876, Dominican Republic +1809/+1829/+1849, Bahamas +1242, …) that area code's prefix ("+1876"); otherwise the
 * calling code. null if unknown.
 */
export function countryPrefix(number: string): string | null {
  const code = callingCode(number);
  const area = number.slice(0, 5);
  return code === "+1" && OTHER_NANP.has(area) ? area : code;
}

/** The default allow-list: [countryPrefix(phoneNumber)], or [] when there is no number or its code is unknown. */
export function defaultDestinations(phoneNumber: string | undefined): string[] {
  const prefix = phoneNumber ? countryPrefix(phoneNumber) : null;
  return prefix ? [prefix] : [];
}

function longestMatch(number: string, prefixes: Iterable<string>): string | null {
  let best: string | null = null;
  for (const prefix of prefixes) {
    if (number.startsWith(prefix) && (best === null || prefix.length > best.length)) best = prefix;
  }
  return best;
}

function notListed(allowed: readonly string[]): string {
  if (allowed.length === 0) {
    return (
      "calls.allowed_destinations is empty, so no number may be dialled; list the prefixes you call, " +
      'such as ["+1"] (unset, it defaults to the country of TWILIO_PHONE_NUMBER)'
    );
  }
  return `calls.allowed_destinations permits ${allowed.join(", ")} only`;
}

/**
 * null when `number` may be dialled; otherwise why not, e.g. "'to' +4420… is not allowed: calls.allowed_destinations
 * permits +1 only". `field` names the request field ("'to'" or "'transfer_to'").
 */
export function destinationProblem(number: string, allowed: readonly string[], field: string): string | null {
  if (callingCode(number) === null) return `${field} ${number} has an unknown country calling code`;
  const allow = longestMatch(number, allowed);
  if (allow === null) return `${field} ${number} is not allowed: ${notListed(allowed)}`;
  // An allow entry at least as specific as the blocked range is the operator opting in to it on purpose.
  const block = longestMatch(number, BLOCKED.keys());
  if (block === null || allow.length >= block.length) return null;
  const why = `${block} is ${WHY_BLOCKED[BLOCKED.get(block)!]}`;
  return `${field} ${number} is not allowed: ${why}; add "${block}" to calls.allowed_destinations to allow it`;
}

/** The prefixes this server may dial: calls.allowed_destinations, or the country of its Twilio number. */
export function allowedDestinations(config: Config): readonly string[] {
  return config.calls.allowed_destinations ?? defaultDestinations(config.twilio.phone_number);
}

/** Why `number` may not be dialled under this configuration, or null. */
export function destinationRefusal(config: Config, number: string, field: string): string | null {
  return destinationProblem(number, allowedDestinations(config), field);
}
