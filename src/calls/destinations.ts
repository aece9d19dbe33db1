// Toll-fraud guard: which numbers the server may dial or transfer to. A leaked API token should not be able to
// run up a bill on premium-rate or far-away numbers, so every destination must match calls.allowed_destinations
// and must be an ordinary number (fixed line, mobile or toll-free) in the numbering plan, unless the allow-list
// names the number's range at least as specifically. What a number is comes from libphonenumber-js with its full
// metadata (Google's libphonenumber numbering plans, kept up to date there), not from tables kept here.
import type { PhoneNumber } from "libphonenumber-js/max";
import type { Config } from "../config/schema.ts";

/** A valid allowed_destinations entry: '+' then 1–15 digits. */
export { DESTINATION_PREFIX } from "../config/schema.ts";

/**
 * The numbering plan carries ~150 KB of metadata that takes a few milliseconds to evaluate: it is loaded on first
 * use (cli/serve.ts warms it up soon after start-up), so it stays out of the start-up bundle. The runtime caches
 * the module after the first import.
 */
export const loadNumberingPlan = () => import("libphonenumber-js/max");
type Plan = Awaited<ReturnType<typeof loadNumberingPlan>>;

/**
 * Dialled without asking: ordinary lines (FIXED_LINE_OR_MOBILE where the plan cannot tell the two apart, as in
 * the NANP), and toll-free numbers (the callee pays; businesses' service lines). VoIP is not among them: its ranges
 * are not tied to a place and are billed above a normal call (UK 056, the NANP's 600).
 */
const ORDINARY = new Set(["FIXED_LINE", "MOBILE", "FIXED_LINE_OR_MOBILE", "TOLL_FREE"]);

/** Every kind of number the plan tells apart; a refused number's range must hold none of another kind. */
const KINDS = [
  "FIXED_LINE",
  "MOBILE",
  "TOLL_FREE",
  "PREMIUM_RATE",
  "SHARED_COST",
  "PERSONAL_NUMBER",
  "VOIP",
  "PAGER",
  "UAN",
  "VOICEMAIL",
] as const;

// The members of the North American Numbering Plan that a US or Canadian number calls at domestic rates (the US
// territories). The other countries sharing +1 are dialled like domestic numbers but billed as international calls.
const DOMESTIC_NANP = new Set(["US", "CA", "PR", "VI", "GU", "AS", "MP"]);

const WHY_BLOCKED: Record<string, string> = {
  PREMIUM_RATE: "a premium-rate prefix",
  SHARED_COST: "a shared-cost prefix",
  PERSONAL_NUMBER: "a personal-number prefix (forwarded anywhere, billed above a normal call)",
  VOIP: "a VoIP prefix (not tied to a place, and billed above a normal call)",
  PAGER: "a pager prefix",
  UAN: "a universal-access-number prefix (billed above a normal call)",
  VOICEMAIL: "a voicemail-access prefix",
  highCost: "a high-cost prefix (shared-cost, personal, satellite or international network numbers)",
  nanp: "another country sharing the +1 code (not the US or Canada), billed as an international call",
  invalid: "outside the numbering plan (no valid number of this length starts with it)",
};

/** A reason to refuse a number, and the prefix an allow-list entry must be at least as long as to override it. */
interface Risk {
  range: string;
  why: string;
}

/**
 * What this guard reads of libphonenumber-js's Metadata beyond its typings: a region's pattern for each kind of
 * number. The version is pinned in package.json, and the tests name ranges that only these patterns give.
 */
interface PlanMetadata {
  selectNumberingPlan(region: string): void;
  numberingPlan?: { type(kind: string): { pattern(): string } | undefined };
}

/** The number as the plan reads it, or why it cannot. */
function read(plan: Plan, number: string): PhoneNumber | "unknown code" | "unreadable" {
  try {
    return plan.parsePhoneNumberWithError(number);
  } catch (e) {
    return e instanceof plan.ParseError && e.message === "INVALID_COUNTRY" ? "unknown code" : "unreadable";
  }
}

const otherNanpCountry = (phone: PhoneNumber) =>
  phone.countryCallingCode === "1" && phone.country !== undefined && !DOMESTIC_NANP.has(phone.country);

/**
 * `pattern` (a national-number pattern of the plan) made to accept "x" wherever it accepts a digit: it then
 * matches a prefix padded with x's exactly when some number of that length starting with the prefix matches.
 */
function completing(pattern: string): RegExp {
  const open = pattern.replace(/\\d|\[[^\]]*\]|\{[^}]*\}|\d/g, (token) => {
    if (token === "\\d") return "[\\dx]";
    if (token.startsWith("[")) return `${token.slice(0, -1)}x]`;
    return token.startsWith("{") ? token : `[${token}x]`;
  });
  return new RegExp(`^(?:${open})$`);
}

/**
 * Compiled once per calling code and kind: the pinned metadata does not change while the process runs, and
 * compiling a code's patterns (+1 has some 25 regions) costs half a millisecond a number.
 */
const compiledKinds = new Map<string, RegExp[]>();

/** The patterns of every kind but `kind`, in every region that shares the calling code. */
function otherKinds(plan: Plan, code: string, kind: string | undefined): RegExp[] {
  const key = `${code} ${kind}`;
  const known = compiledKinds.get(key);
  if (known) return known;
  const patterns = compileOtherKinds(plan, code, kind);
  compiledKinds.set(key, patterns);
  return patterns;
}

function compileOtherKinds(plan: Plan, code: string, kind: string | undefined): RegExp[] {
  const metadata = new plan.Metadata() as unknown as PlanMetadata;
  const patterns: RegExp[] = [];
  for (const region of plan.getCountries()) {
    if (plan.getCountryCallingCode(region) !== code) continue;
    metadata.selectNumberingPlan(region);
    for (const other of KINDS) {
      const pattern = other === kind ? undefined : metadata.numberingPlan?.type(other)?.pattern();
      if (pattern) patterns.push(completing(pattern));
    }
  }
  return patterns;
}

/**
 * The range a refusal names: the shortest prefix of the number under which the plan has, at this number's length,
 * no number of another kind (no valid number at all, for an invalid one). So +449… names +449 (UK premium rate)
 * and +4456… names +4456 (UK VoIP), never the whole country.
 */
function rangeOf(plan: Plan, phone: PhoneNumber, kind: string | undefined): string {
  const { countryCallingCode: code, nationalNumber: national } = phone;
  const others = otherKinds(plan, code, kind);
  for (let digits = 1; digits < national.length; digits++) {
    const completions = national.slice(0, digits).padEnd(national.length, "x");
    if (!others.some((pattern) => pattern.test(completions))) return `+${code}${national.slice(0, digits)}`;
  }
  return phone.number;
}

function lengthProblem(result: string, code: string): string {
  if (result === "TOO_SHORT") return `too short for a ${code} number`;
  if (result === "TOO_LONG") return `too long for a ${code} number`;
  return `not of a length any ${code} number has`;
}

/** Why the number is not an ordinary one the allow-list's country entry covers, with the range each reason names. */
function risksOf(plan: Plan, number: string, phone: PhoneNumber | "unreadable"): Risk[] {
  if (phone === "unreadable") return [{ range: number, why: "not a valid number" }];
  const code = `+${phone.countryCallingCode}`;
  // International networks, satellite services and the like have no geography to narrow: the code is the range.
  // Only the international freephone numbers (+800) are ordinary among them: a satellite "mobile" is not.
  if (phone.isNonGeographic()) {
    const type = phone.isValid() ? phone.getType() : undefined;
    if (type === "TOLL_FREE") return [];
    return [{ range: code, why: WHY_BLOCKED[type === "PREMIUM_RATE" ? "PREMIUM_RATE" : "highCost"]! }];
  }
  const length = plan.validatePhoneNumberLength(number);
  if (length) return [{ range: number, why: lengthProblem(length, code) }];
  const risks: Risk[] = [];
  if (otherNanpCountry(phone)) risks.push({ range: number.slice(0, 5), why: WHY_BLOCKED.nanp! });
  // Each of isValid and getType tests the number against its region's patterns: asked once each.
  const kind = phone.isValid() ? phone.getType() : undefined;
  if (!ORDINARY.has(kind ?? "")) {
    // A valid number of no kind the plan names (which the library does not produce) is refused as outside it.
    risks.push({ range: rangeOf(plan, phone, kind), why: WHY_BLOCKED[kind ?? "invalid"] ?? WHY_BLOCKED.invalid! });
  }
  return risks;
}

/** What the numbering plan says of a number, whatever the allow-list. */
interface Reading {
  unknownCode: boolean;
  /** The number in E.164 as the plan reads it; null when it cannot be read. */
  e164: string | null;
  risks: Risk[];
}

/**
 * Readings of the numbers dialled lately. Reading one costs 0.05 ms for an ordinary number and up to 1 ms for one
 * outside the plan (a +1 number the plan cannot place is tried against all 25 regions sharing the code, twice), and
 * the same numbers come back: a retry, a redial, a campaign's calls to one switchboard. The pinned metadata does not
 * change while the process runs, so a reading never goes stale.
 */
const readings = new Map<string, Reading>();
const READINGS_KEPT = 1_000;

async function readingOf(number: string): Promise<Reading> {
  const kept = readings.get(number);
  if (kept) return kept;
  const plan = await loadNumberingPlan();
  const phone = read(plan, number);
  const reading: Reading =
    phone === "unknown code"
      ? { unknownCode: true, e164: null, risks: [] }
      : { unknownCode: false, e164: phone === "unreadable" ? null : phone.number, risks: risksOf(plan, number, phone) };
  if (readings.size >= READINGS_KEPT) readings.delete(readings.keys().next().value!);
  readings.set(number, reading);
  return reading;
}

/** The country calling code prefix of an E.164 number ("+1", "+44", "+353", …), or null when no code matches. */
export async function callingCode(number: string): Promise<string | null> {
  const phone = read(await loadNumberingPlan(), number);
  return typeof phone === "string" ? null : `+${phone.countryCallingCode}`;
}

/**
 * The prefix that stands for the number's country: for NANP (+1) numbers of a country other than the US, Canada
 * and the US territories (Jamaica +1876, Dominican Republic +1809/+1829/+1849, Bahamas +1242, …) its area code's
 * prefix ("+1876"); otherwise the calling code. null if unknown.
 */
export async function countryPrefix(number: string): Promise<string | null> {
  const phone = read(await loadNumberingPlan(), number);
  if (typeof phone === "string") return null;
  return otherNanpCountry(phone) ? number.slice(0, 5) : `+${phone.countryCallingCode}`;
}

/** The default allow-list: [countryPrefix(phoneNumber)], or [] when there is no number or its code is unknown. */
export async function defaultDestinations(phoneNumber: string | undefined): Promise<string[]> {
  const prefix = phoneNumber ? await countryPrefix(phoneNumber) : null;
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
export async function destinationProblem(
  number: string,
  allowed: readonly string[],
  field: string,
): Promise<string | null> {
  const reading = await readingOf(number);
  if (reading.unknownCode) return `${field} ${number} has an unknown country calling code`;
  const allow = longestMatch(number, allowed);
  if (allow === null) return `${field} ${number} is not allowed: ${notListed(allowed)}`;
  // A carrier may drop a trunk prefix written after the country code (+1 1900… rings +1900…): only the number
  // written as the plan reads it is judged, and allowed.
  if (reading.e164 !== null && reading.e164 !== number) {
    return `${field} ${number} is not allowed: it has a national prefix after the country code; in E.164 it is ${reading.e164}`;
  }
  // An allow entry at least as specific as the refused range is the operator opting in to it on purpose.
  const risk = reading.risks.find((r) => allow.length < r.range.length);
  if (!risk) return null;
  return `${field} ${number} is not allowed: ${risk.range} is ${risk.why}; add "${risk.range}" to calls.allowed_destinations to allow it`;
}

/** The prefixes this server may dial: calls.allowed_destinations, or the country of its Twilio number. */
export async function allowedDestinations(config: Config): Promise<readonly string[]> {
  return config.calls.allowed_destinations ?? defaultDestinations(config.twilio.phone_number);
}

/** Why `number` may not be dialled under this configuration, or null. */
export async function destinationRefusal(config: Config, number: string, field: string): Promise<string | null> {
  return destinationProblem(number, await allowedDestinations(config), field);
}
