// Calling windows against the platform's time-zone database: openings across DST changes (a skipped and a repeated
// hour), windows past midnight, days of the week, and times written in a zone's local time.
import { describe, expect, test } from "bun:test";
import { type CallWindow, isOpen, nextOpening, zonedIso } from "../../src/schedule/window.ts";

const at = (iso: string) => Date.parse(iso);
const NEW_YORK = "America/New_York";
const BERLIN = "Europe/Berlin";
const weekdays: CallWindow["days"] = ["mon", "tue", "wed", "thu", "fri"];

describe("nextOpening", () => {
  test("an open window opens now", () => {
    const w: CallWindow = { start: "09:00", end: "17:00", timezone: NEW_YORK };
    expect(nextOpening(w, at("2026-12-07T15:30:00Z"))).toBe(at("2026-12-07T15:30:00Z"));
    expect(isOpen(w, at("2026-12-07T21:59:59Z"))).toBe(true);
    // The end is exclusive.
    expect(isOpen(w, at("2026-12-07T22:00:00Z"))).toBe(false);
  });

  test("over a weekend that moves the clocks forward: Monday's 09:00 is an hour earlier in UTC than Friday's", () => {
    const w: CallWindow = { start: "09:00", end: "17:00", timezone: NEW_YORK, days: weekdays };
    // Friday 2026-03-06 after 17:00 EST: next is Monday 2026-03-09 09:00 EDT (DST began Sunday 2026-03-08).
    expect(nextOpening(w, at("2026-03-06T23:00:00Z"))).toBe(at("2026-03-09T13:00:00Z"));
    expect(nextOpening(w, at("2026-03-06T05:00:00Z"))).toBe(at("2026-03-06T14:00:00Z"));
    expect(zonedIso(at("2026-03-09T13:00:00Z"), NEW_YORK)).toBe("2026-03-09T09:00:00-04:00");
  });

  test("a start time the spring-forward skips opens when the clock jumps past it", () => {
    const w: CallWindow = { start: "02:30", end: "04:00", timezone: NEW_YORK };
    // 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z); 02:30 does not exist that day.
    expect(nextOpening(w, at("2026-03-08T05:00:00Z"))).toBe(at("2026-03-08T07:00:00Z"));
    // A window wholly inside the skipped hour does not open that day, but the next.
    const skipped: CallWindow = { start: "02:10", end: "02:40", timezone: NEW_YORK };
    expect(nextOpening(skipped, at("2026-03-08T05:00:00Z"))).toBe(at("2026-03-09T06:10:00Z"));
  });

  test("a start time that repeats as the clocks go back opens at each occurrence", () => {
    const w: CallWindow = { start: "01:30", end: "01:45", timezone: NEW_YORK };
    // 2026-11-01: 01:30 EDT is 05:30Z, then 02:00 EDT becomes 01:00 EST and 01:30 EST is 06:30Z.
    expect(nextOpening(w, at("2026-11-01T04:00:00Z"))).toBe(at("2026-11-01T05:30:00Z"));
    expect(nextOpening(w, at("2026-11-01T05:50:00Z"))).toBe(at("2026-11-01T06:30:00Z"));
  });

  test("a window past midnight: its early hours belong to the day it opened on", () => {
    const w: CallWindow = { start: "22:00", end: "02:00", timezone: BERLIN, days: ["fri"] };
    // Friday 2026-12-04 22:00 CET is 21:00Z; Saturday 01:30 CET is still Friday's window.
    expect(isOpen(w, at("2026-12-05T00:30:00Z"))).toBe(true);
    expect(isOpen(w, at("2026-12-05T01:00:00Z"))).toBe(false);
    expect(isOpen(w, at("2026-12-03T22:30:00Z"))).toBe(false);
    expect(nextOpening(w, at("2026-12-05T01:00:00Z"))).toBe(at("2026-12-11T21:00:00Z"));
    expect(nextOpening(w, at("2026-12-04T12:00:00Z"))).toBe(at("2026-12-04T21:00:00Z"));
  });

  test("past midnight across the autumn change in Europe", () => {
    const w: CallWindow = { start: "23:00", end: "01:00", timezone: BERLIN };
    // Saturday 2026-10-24 23:00 CEST is 21:00Z; Sunday 23:00 CET (after the change) is 22:00Z.
    expect(nextOpening(w, at("2026-10-24T12:00:00Z"))).toBe(at("2026-10-24T21:00:00Z"));
    expect(nextOpening(w, at("2026-10-25T12:00:00Z"))).toBe(at("2026-10-25T22:00:00Z"));
  });
});

describe("zonedIso", () => {
  test("the local time with the zone's offset at that instant", () => {
    expect(zonedIso(at("2026-12-07T14:00:00Z"), NEW_YORK)).toBe("2026-12-07T09:00:00-05:00");
    expect(zonedIso(at("2026-12-07T14:00:00Z"), "Asia/Kolkata")).toBe("2026-12-07T19:30:00+05:30");
    expect(zonedIso(at("2026-12-07T14:00:05Z"), "UTC")).toBe("2026-12-07T14:00:05+00:00");
  });
});
