// Calls placed for later, against the simulated carrier: not_before and calling windows (a DST change and a window
// past midnight), the waiting that costs no place under calls.max_concurrent, cancelling without Twilio, retries
// kept inside the window, and the refusals that name their field.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestApp, type TestApp, type TestAppOptions } from "./support/app.ts";
import { until } from "./support/until.ts";

setDefaultTimeout(20_000);

let app: TestApp | null = null;
afterEach(async () => {
  await app?.stop();
  app = null;
});

async function start(opts: TestAppOptions = {}): Promise<TestApp> {
  app = await startTestApp({
    ...opts,
    config: { limits: { api_requests_per_minute: 1_000_000 }, ...opts.config },
  });
  return app;
}

const creates = (a: TestApp) => a.twilio.requests.filter((r) => r.method === "POST" && r.path.endsWith("/Calls.json"));
const post = (a: TestApp, body: Record<string, unknown>) =>
  a.api("/api/call", { body: { to: "+15551230001", webhook_url: a.url, ...body } });

/** Pins the server's clock (what it schedules by) at `iso`; the carrier and the network keep real time. */
const pinClock = (a: TestApp, iso: string) => {
  const t = Date.parse(iso);
  a.ctx.now = () => t;
};

describe("not_before", () => {
  test("a call 3 s ahead is created at Twilio no earlier than that, and no later than 2 s after", async () => {
    const a = await start();
    const notBefore = Math.ceil((Date.now() + 3_000) / 1000) * 1000;
    const res = await post(a, { not_before: new Date(notBefore).toISOString() });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      call_id: expect.any(String),
      to: "+15551230001",
      webhook_url: a.url,
      scheduled_for: new Date(notBefore).toISOString(),
    });
    const id = res.body.call_id;
    const listed = await a.api(`/api/calls/${id}`);
    expect(listed.body).toMatchObject({ status: "scheduled", active: true, call_sid: null });
    expect(listed.body.status_history.map((h: { status: string }) => h.status)).toEqual(["scheduled"]);
    expect(listed.body.attempts).toEqual([
      { call_sid: null, status: "scheduled", end_reason: null, started_at: new Date(notBefore).toISOString() },
    ]);
    const created = await until(() => (creates(a).length > 0 ? Date.now() : null), "the create at Twilio", 8_000);
    expect(created).toBeGreaterThanOrEqual(notBefore);
    expect(created).toBeLessThanOrEqual(notBefore + 2_000);
    const dialled = await until(async () => {
      const call = (await a.api(`/api/calls/${id}`)).body;
      return call.call_sid ? call : null;
    }, "the CallSid");
    expect(dialled).toMatchObject({ status: "queued", scheduled_for: new Date(notBefore).toISOString() });
    expect(dialled.attempts).toHaveLength(1);
    expect(dialled.status_history.map((h: { status: string }) => h.status)).toEqual(["scheduled", "queued"]);
  });

  test("a not_before in the past dials at once, in the original API's answer", async () => {
    const a = await start();
    const res = await post(a, { not_before: "2020-01-01T00:00:00Z" });
    expect(res.body).toEqual({ success: true, call_id: expect.any(String), to: "+15551230001", webhook_url: a.url });
    expect(creates(a)).toHaveLength(1);
  });
});

describe("calling windows", () => {
  test("a window that excludes now: scheduled for its next opening, written in its zone", async () => {
    const a = await start();
    // Two hours from now, to the minute, in a zone without DST: that wall time next comes in two hours.
    const opens = Math.floor((Date.now() + 2 * 3_600_000) / 60_000) * 60_000;
    const local = new Date(opens + 5.5 * 3_600_000).toISOString();
    const opening = local.slice(11, 16);
    const end = new Date(opens + 6.5 * 3_600_000).toISOString().slice(11, 16);
    const res = await post(a, { call_window: { start: opening, end, timezone: "Asia/Kolkata" } });
    expect(res.body.scheduled_for).toBe(`${local.slice(0, 19)}+05:30`);
    expect(Date.parse(res.body.scheduled_for)).toBe(opens);
    expect(creates(a)).toHaveLength(0);
    const call = (await a.api(`/api/calls/${res.body.call_id}`)).body;
    expect(call).toMatchObject({ status: "scheduled", next_attempt_at: new Date(opens).toISOString() });
    expect(call.options.call_window).toEqual({ start: opening, end, timezone: "Asia/Kolkata" });
  });

  test("over the weekend the clocks go forward: Monday 09:00 in New York is 13:00Z, not Friday's 14:00Z", async () => {
    const a = await start();
    pinClock(a, "2026-03-06T23:00:00Z"); // Friday 18:00 EST
    const window = {
      start: "09:00",
      end: "17:00",
      timezone: "America/New_York",
      days: ["mon", "tue", "wed", "thu", "fri"],
    };
    const res = await post(a, { call_window: window });
    expect(res.body.scheduled_for).toBe("2026-03-09T09:00:00-04:00");
    const call = (await a.api(`/api/calls/${res.body.call_id}`)).body;
    expect(call.next_attempt_at).toBe("2026-03-09T13:00:00.000Z");
  });

  test("a window past midnight is open in its early hours, and opens next on the evening of a day it lists", async () => {
    const a = await start();
    const window = { start: "22:00", end: "02:00", timezone: "Europe/Berlin", days: ["fri"] };
    pinClock(a, "2026-12-05T00:30:00Z"); // Saturday 01:30 in Berlin: Friday's window is still open
    const open = await post(a, { call_window: window });
    expect(open.body.scheduled_for).toBeUndefined();
    expect(creates(a)).toHaveLength(1);
    pinClock(a, "2026-12-05T01:30:00Z"); // Saturday 02:30: closed until next Friday 22:00
    const closed = await post(a, { call_window: window });
    expect(closed.body.scheduled_for).toBe("2026-12-11T22:00:00+01:00");
  });

  test("calls.call_window applies to calls without their own; call_window: null opts out", async () => {
    const a = await start({ config: { calls: { call_window: { start: "09:00", end: "10:00", timezone: "UTC" } } } });
    pinClock(a, "2026-12-07T12:00:00Z");
    const defaulted = await post(a, {});
    expect(defaulted.body.scheduled_for).toBe("2026-12-08T09:00:00+00:00");
    const now = await post(a, { call_window: null });
    expect(now.body.scheduled_for).toBeUndefined();
    expect(creates(a)).toHaveLength(1);
  });

  test("a retry that would fall outside the window moves to its next opening", async () => {
    const a = await start();
    pinClock(a, "2026-12-07T21:59:40Z"); // Monday 16:59:40 in New York, 20 s before the window closes
    const window = { start: "09:00", end: "17:00", timezone: "America/New_York" };
    const { id, sid } = await a.call({ call_window: window, retry: { max_attempts: 2, delay_s: 30 } });
    await a.twilio.sendStatus(sid, "busy");
    const call = (await a.api(`/api/calls/${id}`)).body;
    expect(call).toMatchObject({ status: "queued", active: true, next_attempt_at: "2026-12-08T14:00:00.000Z" });
    expect(call.attempts.at(-1)).toMatchObject({ status: "scheduled", started_at: "2026-12-08T14:00:00.000Z" });
  });

  test("a call that comes due outside its window (the server was down) waits for the next opening", async () => {
    const a = await start({ noBackground: true });
    pinClock(a, "2026-12-07T13:00:00Z");
    const window = { start: "09:00", end: "10:00", timezone: "UTC" };
    const res = await post(a, { call_window: window });
    expect(res.body.scheduled_for).toBe("2026-12-08T09:00:00+00:00");
    // Due, but found only once the window has closed again: the retry worker moves it to the day after.
    const { startBackground } = await import("../src/workers/background.ts");
    pinClock(a, "2026-12-08T11:00:00Z");
    const background = startBackground(a.ctx);
    try {
      await until(async () => {
        const call = (await a.api(`/api/calls/${res.body.call_id}`)).body;
        return call.next_attempt_at === "2026-12-09T09:00:00.000Z" ? call : null;
      }, "the call to wait for the next opening");
      expect(creates(a)).toHaveLength(0);
    } finally {
      await background.stop();
    }
  });
});

describe("waiting for the time", () => {
  test("GET /api/calls?status=scheduled lists the scheduled calls; a scheduled call is cancelled without Twilio", async () => {
    const a = await start();
    const later = await post(a, { not_before: new Date(Date.now() + 3_600_000).toISOString() });
    await a.call();
    const list = await a.api("/api/calls?status=scheduled");
    expect(list.body.calls.map((c: { call_id: string }) => c.call_id)).toEqual([later.body.call_id]);
    expect(list.body.calls[0]).toMatchObject({ status: "scheduled", scheduled_for: later.body.scheduled_for });
    expect((await a.api("/api/calls")).body.count).toBe(2);
    expect((await a.api("/api/calls?status=done")).body).toEqual({
      success: false,
      error: "'status' must be one of: scheduled, queued, initiated, ringing, in-progress",
    });
    const before = a.twilio.requests.length;
    const end = await a.api(`/api/calls/${later.body.call_id}/end`, { method: "POST" });
    expect(end.body).toEqual({ success: true, message: `Call ${later.body.call_id} ended` });
    expect(a.twilio.requests.length).toBe(before);
    const call = (await a.api(`/api/calls/${later.body.call_id}`)).body;
    expect(call).toMatchObject({ status: "canceled", end_reason: "canceled", active: false, next_attempt_at: null });
    expect((await a.api("/api/calls?status=scheduled")).body.calls).toEqual([]);
  });

  test("scheduled calls take no place under max_concurrent; one due on a full server waits for room", async () => {
    const a = await start({ config: { calls: { max_concurrent: 1 } } });
    const busy = await a.call();
    const due = Date.now() + 1_000;
    const later = await post(a, { not_before: new Date(due).toISOString() });
    expect(later.status).toBe(200);
    expect((await a.api("/health")).body).toMatchObject({ active_calls: 1, waiting_calls: 1 });
    // Due while the only place is taken: not dropped, not dialled.
    await Bun.sleep(2_000);
    expect(creates(a)).toHaveLength(1);
    expect((await a.api(`/api/calls/${later.body.call_id}`)).body).toMatchObject({ status: "scheduled", active: true });
    await a.twilio.sendStatus(busy.sid, "completed");
    await until(() => creates(a).length === 2, "the scheduled call to be dialled once there is room", 10_000);
  });

  test("scheduled calls count against calls.max_waiting", async () => {
    const a = await start({ config: { calls: { max_waiting: 1 } } });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    expect((await post(a, { not_before: later })).status).toBe(200);
    const refused = await post(a, { not_before: later });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe(
      "Too many calls waiting for their time or a retry: the limit is 1 (calls.max_waiting)",
    );
  });
});

describe("refusals name the field", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "not_before over 30 days ahead",
      { not_before: "2099-01-01T00:00:00Z" },
      "'not_before' must be at most 30 days ahead",
    ],
    [
      "not_before without an offset",
      { not_before: "2026-12-07T09:00:00" },
      "'not_before' must be an RFC 3339 time with an offset, such as 2026-12-07T09:00:00-05:00 (or …T14:00:00Z)",
    ],
    [
      "a window that never opens",
      { call_window: { start: "09:00", end: "09:00" } },
      "'call_window' never opens: start and end are the same time (the end is exclusive; end before start runs past midnight)",
    ],
    [
      "a window on no day",
      { call_window: { start: "09:00", end: "10:00", days: [] } },
      "'call_window.days' lists no day, so the window never opens: leave it out for every day",
    ],
    [
      "an unknown time zone",
      { call_window: { start: "09:00", end: "17:00", timezone: "Mars/Olympus_Mons" } },
      "'call_window.timezone' is not a time zone this server knows: use an IANA name such as Europe/Berlin",
    ],
    [
      "a time that is no time",
      { call_window: { start: "25:00", end: "17:00" } },
      "'call_window.start' must be a time of day such as 09:00 (HH:MM, 24-hour)",
    ],
  ];
  for (const [name, body, error] of cases) {
    test(name, async () => {
      const a = await start();
      const res = await post(a, body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ success: false, error });
      expect(a.twilio.requests).toHaveLength(0);
    });
  }

  test("with calls.timezone_required, a window without a timezone is refused", async () => {
    const a = await start({ config: { calls: { timezone_required: true } } });
    const res = await post(a, { call_window: { start: "09:00", end: "17:00" } });
    expect(res.body).toEqual({
      success: false,
      error: "'call_window.timezone' is required (calls.timezone_required)",
    });
    const zoned = await post(a, { call_window: { start: "00:00", end: "23:59", timezone: "UTC" } });
    expect(zoned.status).toBe(200);
  });
});
