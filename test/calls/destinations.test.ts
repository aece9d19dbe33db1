import { describe, expect, test } from "bun:test";
import {
  callingCode,
  countryPrefix,
  DESTINATION_PREFIX,
  defaultDestinations,
  destinationProblem,
} from "../../src/calls/destinations.ts";

const allowed = (number: string, list: readonly string[]) => destinationProblem(number, list, "'to'");

describe("callingCode", () => {
  test("reads codes of one, two and three digits", async () => {
    expect(await callingCode("+14155550100")).toBe("+1");
    expect(await callingCode("+74951234567")).toBe("+7");
    expect(await callingCode("+442071234567")).toBe("+44");
    expect(await callingCode("+35312345678")).toBe("+353");
    expect(await callingCode("+8801712345678")).toBe("+880");
  });

  test("returns null for codes the ITU has not assigned", async () => {
    expect(await callingCode("+9991234567")).toBeNull();
    expect(await callingCode("+8011234567")).toBeNull();
    expect(await callingCode("+8711234567")).toBeNull();
  });
});

describe("countryPrefix", () => {
  test("narrows +1 to the area code for other NANP countries only", async () => {
    expect(await countryPrefix("+18765550100")).toBe("+1876");
    expect(await countryPrefix("+18095550100")).toBe("+1809");
    expect(await countryPrefix("+14155550100")).toBe("+1");
    expect(await countryPrefix("+17875550100")).toBe("+1");
    expect(await countryPrefix("+442071234567")).toBe("+44");
    expect(await countryPrefix("+9991234567")).toBeNull();
  });
});

describe("defaultDestinations", () => {
  test("is the country of the server's own number", async () => {
    expect(await defaultDestinations("+14155550100")).toEqual(["+1"]);
    expect(await defaultDestinations("+442071234567")).toEqual(["+44"]);
    expect(await defaultDestinations("+18765550100")).toEqual(["+1876"]);
  });

  test("is empty without a usable number", async () => {
    expect(await defaultDestinations(undefined)).toEqual([]);
    expect(await defaultDestinations("")).toEqual([]);
    expect(await defaultDestinations("+9991234567")).toEqual([]);
  });
});

describe("destinationProblem", () => {
  test("allows a US number under +1, and a US territory too", async () => {
    expect(await allowed("+14155550100", ["+1"])).toBeNull();
    expect(await allowed("+17875550100", ["+1"])).toBeNull();
  });

  test("refuses other NANP countries and premium numbers that +1 alone would cover", async () => {
    for (const [number, prefix] of [
      ["+18765550100", "+1876"],
      ["+18095550100", "+1809"],
      ["+19005550100", "+1900"],
    ]) {
      const problem = await allowed(number!, ["+1"]);
      expect(problem).toContain(`'to' ${number} is not allowed`);
      expect(problem).toContain(`add "${prefix}" to calls.allowed_destinations`);
    }
    expect(await allowed("+18765550100", ["+1"])).toContain("another country sharing the +1 code");
    expect(await allowed("+19005550100", ["+1"])).toContain("+1900 is a premium-rate prefix");
  });

  test("allows a blocked range once it is listed explicitly", async () => {
    expect(await allowed("+18765550100", ["+1", "+1876"])).toBeNull();
    expect(await allowed("+18095550100", ["+1809"])).toBeNull();
    expect(await allowed("+19005550100", ["+1", "+1900"])).toBeNull();
  });

  test("refuses UK premium numbers under +44", async () => {
    expect(await allowed("+449098790000", ["+44"])).toContain("+449 is a premium-rate prefix");
    expect(await allowed("+442071234567", ["+44"])).toBeNull();
  });

  test("refuses international networks even under a broad prefix", async () => {
    expect(await allowed("+88212345678", ["+8"])).toContain("+882 is a high-cost prefix");
  });

  test("names the allowed prefixes when the country is not listed", async () => {
    expect(await allowed("+442071234567", ["+1"])).toBe(
      "'to' +442071234567 is not allowed: calls.allowed_destinations permits +1 only",
    );
    expect(await destinationProblem("+33123456789", ["+1", "+44"], "'transfer_to'")).toBe(
      "'transfer_to' +33123456789 is not allowed: calls.allowed_destinations permits +1, +44 only",
    );
  });

  test("explains an empty list and how to fill it", async () => {
    const problem = await allowed("+14155550100", []);
    expect(problem).toContain("calls.allowed_destinations is empty");
    expect(problem).toContain('["+1"]');
  });

  test("honours a narrower allow", async () => {
    expect(await allowed("+14155550100", ["+1415"])).toBeNull();
    expect(await allowed("+12125550100", ["+1415"])).toContain("permits +1415 only");
  });

  test("refuses unknown calling codes whatever the list says", async () => {
    expect(await allowed("+9991234567", ["+9"])).toBe("'to' +9991234567 has an unknown country calling code");
    expect(await allowed("+8011234567", ["+80"])).toContain("unknown country calling code");
  });

  test("a number's reading is kept for the next call, and the next call's list still decides", async () => {
    const premium = "+19005550100";
    expect(await allowed(premium, ["+1"])).toContain("+1900 is a premium-rate prefix");
    expect(await allowed(premium, ["+1900"])).toBeNull();
    expect(await allowed(premium, ["+44"])).toContain("permits +44 only");
    // More numbers than are kept: the first is read again, with the same verdicts.
    for (let n = 0; n < 1_100; n++) await allowed(`+1212555${String(n).padStart(4, "0")}`, ["+1"]);
    expect(await allowed(premium, ["+1"])).toContain("+1900 is a premium-rate prefix");
    expect(await allowed(premium, ["+1", "+1900"])).toBeNull();
  });
});

describe("destinationProblem: the numbering plan (libphonenumber-js, full metadata)", () => {
  // Each passed the hand-kept tables under its country's default allow-list; [number, that default, the range].
  const FOUND: [string, string, string][] = [
    ["+15005550100", "+1", "+1500"], // personal communications
    ["+16005550100", "+1", "+1600"], // Canadian non-geographic VoIP
    ["+17005550100", "+1", "+1700"], // carrier services, no valid numbers
    ["+14565550100", "+1", "+1456"], // inbound international services, no valid numbers
    ["+447640123456", "+44", "+44764"], // pagers
    ["+447612345678", "+44", "+44761"], // 076 outside the pager ranges
    ["+445512345678", "+44", "+4455"], // UAN
    ["+445612345678", "+44", "+4456"], // VoIP
    ["+4970012345678", "+49", "+49700"], // personal numbers
    ["+491801234567", "+49", "+49180"], // shared cost
    ["+49190123456", "+49", "+4919"], // former premium rate, no valid numbers
    ["+49123456789", "+49", "+4912"], // no valid numbers
    ["+39892123456", "+39", "+39892"], // premium-rate prefix, but not at this length
    ["+39894123456", "+39", "+39894"],
    ["+33812345678", "+33", "+33812"], // premium rate
  ];

  test("refuses every number the issue found passing, naming the range to add", async () => {
    for (const [number, country, range] of FOUND) {
      const problem = await allowed(number, [country]);
      expect(problem, number).toStartWith(`'to' ${number} is not allowed: ${range} is `);
      expect(problem, number).toEndWith(`; add "${range}" to calls.allowed_destinations to allow it`);
    }
  });

  test("allows a refused range only by an entry at least as specific as the range it names", async () => {
    for (const [number, country, range] of FOUND) {
      expect(await allowed(number, [country, range]), number).toBeNull();
      expect(await allowed(number, [range]), number).toBeNull();
      // A prefix between the country and the range is not an opt-in to the range.
      if (range.length > country.length + 1)
        expect(await allowed(number, [country, range.slice(0, -1)]), number).toContain(`add "${range}"`);
    }
  });

  test("says what kind of number each range holds", async () => {
    expect(await allowed("+15005550100", ["+1"])).toContain("+1500 is a personal-number prefix");
    expect(await allowed("+16005550100", ["+1"])).toContain("+1600 is a VoIP prefix");
    expect(await allowed("+17005550100", ["+1"])).toContain("+1700 is outside the numbering plan");
    expect(await allowed("+447640123456", ["+44"])).toContain("+44764 is a pager prefix");
    expect(await allowed("+445512345678", ["+44"])).toContain("+4455 is a universal-access-number prefix");
    expect(await allowed("+491801234567", ["+49"])).toContain("+49180 is a shared-cost prefix");
    expect(await allowed("+33812345678", ["+33"])).toContain("+33812 is a premium-rate prefix");
    expect(await allowed("+3932123456789", ["+39"])).toContain("is a voicemail-access prefix");
  });

  test("allows ordinary fixed-line and mobile numbers in many countries under the country alone", async () => {
    for (const [number, country] of [
      ["+12125550100", "+1"],
      ["+16135550100", "+1"], // Canada
      ["+442071234567", "+44"],
      ["+447911123456", "+44"],
      ["+4930123456", "+49"],
      ["+4915123456789", "+49"],
      ["+33123456789", "+33"],
      ["+33612345678", "+33"],
      ["+390612345678", "+39"],
      ["+393123456789", "+39"],
      ["+34912345678", "+34"],
      ["+61212345678", "+61"],
      ["+61412345678", "+61"],
      ["+81312345678", "+81"],
      ["+353861234567", "+353"],
      ["+74951234567", "+7"],
    ] as const)
      expect(await allowed(number, [country]), number).toBeNull();
  });

  test("toll-free numbers are ordinary, at home and international freephone (+800)", async () => {
    expect(await allowed("+18005550100", ["+1"])).toBeNull();
    expect(await allowed("+18885550100", ["+1"])).toBeNull();
    expect(await allowed("+448001234567", ["+44"])).toBeNull();
    expect(await allowed("+80012345678", ["+800"])).toBeNull();
  });

  test("satellite and international network numbers are refused even when valid", async () => {
    expect(await allowed("+870773111632", ["+8"])).toContain("+870 is a high-cost prefix");
    expect(await allowed("+881612345678", ["+88"])).toContain("+881 is a high-cost prefix");
    expect(await allowed("+979123456789", ["+9"])).toContain("+979 is a premium-rate prefix");
    expect(await allowed("+870773111632", ["+870"])).toBeNull();
  });

  test("a number of a length its country has none of is refused; only the number itself allows it", async () => {
    expect(await allowed("+1234567890", ["+1"])).toBe(
      "'to' +1234567890 is not allowed: +1234567890 is too short for a +1 number; add \"+1234567890\" to calls.allowed_destinations to allow it",
    );
    expect(await allowed("+1234567890", ["+1", "+1234"])).toContain("too short");
    expect(await allowed("+1234567890", ["+1234567890"])).toBeNull();
    expect(await allowed("+4470123", ["+44"])).toContain("+4470123 is too short for a +44 number");
    expect(await allowed("+120255501001", ["+1"])).toContain("+120255501001 is too long for a +1 number");
  });

  test("a national prefix written after the country code is refused, whatever the list says", async () => {
    expect(await allowed("+119005550100", ["+1"])).toBe(
      "'to' +119005550100 is not allowed: it has a national prefix after the country code; in E.164 it is +19005550100",
    );
    expect(await allowed("+119005550100", ["+1", "+1900", "+119005550100"])).toContain("in E.164 it is +19005550100");
    expect(await allowed("+440201234567", ["+44"])).toContain("in E.164 it is +44201234567");
  });

  test("an allowed other-NANP country still has its numbers checked against the plan", async () => {
    expect(await allowed("+18765550100", ["+1876"])).toBeNull();
    expect(await allowed("+18761234567", ["+1876"])).toContain("+18761 is outside the numbering plan");
  });
});

describe("DESTINATION_PREFIX", () => {
  test("accepts '+' and 1 to 15 digits", () => {
    expect(DESTINATION_PREFIX.test("+1")).toBe(true);
    expect(DESTINATION_PREFIX.test("+123456789012345")).toBe(true);
    expect(DESTINATION_PREFIX.test("+")).toBe(false);
    expect(DESTINATION_PREFIX.test("1")).toBe(false);
    expect(DESTINATION_PREFIX.test("+1234567890123456")).toBe(false);
  });
});
