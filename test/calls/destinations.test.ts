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
  test("reads codes of one, two and three digits", () => {
    expect(callingCode("+14155550100")).toBe("+1");
    expect(callingCode("+74951234567")).toBe("+7");
    expect(callingCode("+442071234567")).toBe("+44");
    expect(callingCode("+35312345678")).toBe("+353");
    expect(callingCode("+8801712345678")).toBe("+880");
  });

  test("returns null for codes the ITU has not assigned", () => {
    expect(callingCode("+9991234567")).toBeNull();
    expect(callingCode("+8011234567")).toBeNull();
    expect(callingCode("+8711234567")).toBeNull();
  });
});

describe("countryPrefix", () => {
  test("narrows +1 to the area code for other NANP countries only", () => {
    expect(countryPrefix("+18765550100")).toBe("+1876");
    expect(countryPrefix("+18095550100")).toBe("+1809");
    expect(countryPrefix("+14155550100")).toBe("+1");
    expect(countryPrefix("+17875550100")).toBe("+1");
    expect(countryPrefix("+442071234567")).toBe("+44");
    expect(countryPrefix("+9991234567")).toBeNull();
  });
});

describe("defaultDestinations", () => {
  test("is the country of the server's own number", () => {
    expect(defaultDestinations("+14155550100")).toEqual(["+1"]);
    expect(defaultDestinations("+442071234567")).toEqual(["+44"]);
    expect(defaultDestinations("+18765550100")).toEqual(["+1876"]);
  });

  test("is empty without a usable number", () => {
    expect(defaultDestinations(undefined)).toEqual([]);
    expect(defaultDestinations("")).toEqual([]);
    expect(defaultDestinations("+9991234567")).toEqual([]);
  });
});

describe("destinationProblem", () => {
  test("allows a US number under +1, and a US territory too", () => {
    expect(allowed("+14155550100", ["+1"])).toBeNull();
    expect(allowed("+17875550100", ["+1"])).toBeNull();
  });

  test("refuses other NANP countries and premium numbers that +1 alone would cover", () => {
    for (const [number, prefix] of [
      ["+18765550100", "+1876"],
      ["+18095550100", "+1809"],
      ["+19005550100", "+1900"],
    ]) {
      const problem = allowed(number!, ["+1"]);
      expect(problem).toContain(`'to' ${number} is not allowed`);
      expect(problem).toContain(`add "${prefix}" to calls.allowed_destinations`);
    }
    expect(allowed("+18765550100", ["+1"])).toContain("another country sharing the +1 code");
    expect(allowed("+19005550100", ["+1"])).toContain("+1900 is a premium-rate prefix");
  });

  test("allows a blocked range once it is listed explicitly", () => {
    expect(allowed("+18765550100", ["+1", "+1876"])).toBeNull();
    expect(allowed("+18095550100", ["+1809"])).toBeNull();
    expect(allowed("+19005550100", ["+1", "+1900"])).toBeNull();
  });

  test("refuses UK premium numbers under +44", () => {
    expect(allowed("+449098790000", ["+44"])).toContain("+449 is a premium-rate prefix");
    expect(allowed("+442071234567", ["+44"])).toBeNull();
  });

  test("refuses international networks even under a broad prefix", () => {
    expect(allowed("+88212345678", ["+8"])).toContain("+882 is a high-cost prefix");
  });

  test("names the allowed prefixes when the country is not listed", () => {
    expect(allowed("+442071234567", ["+1"])).toBe(
      "'to' +442071234567 is not allowed: calls.allowed_destinations permits +1 only",
    );
    expect(destinationProblem("+33123456789", ["+1", "+44"], "'transfer_to'")).toBe(
      "'transfer_to' +33123456789 is not allowed: calls.allowed_destinations permits +1, +44 only",
    );
  });

  test("explains an empty list and how to fill it", () => {
    const problem = allowed("+14155550100", []);
    expect(problem).toContain("calls.allowed_destinations is empty");
    expect(problem).toContain('["+1"]');
  });

  test("honours a narrower allow", () => {
    expect(allowed("+14155550100", ["+1415"])).toBeNull();
    expect(allowed("+12125550100", ["+1415"])).toContain("permits +1415 only");
  });

  test("refuses unknown calling codes whatever the list says", () => {
    expect(allowed("+9991234567", ["+9"])).toBe("'to' +9991234567 has an unknown country calling code");
    expect(allowed("+8011234567", ["+80"])).toContain("unknown country calling code");
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
