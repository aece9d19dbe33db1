// Twilio's REST API failing under the real server: 500s, requests that never answer, connections
// closed mid-request. Each fault is a clear API error and a call record that says what happened; the
// server keeps serving, and a healthy call goes through once Twilio is back.
import { afterEach, describe, expect, test } from "bun:test";
import type { RestFault } from "../../src/sim/carrier.ts";
import { startTestApp, type TestApp } from "../support/app.ts";

let app: TestApp;
afterEach(() => app?.stop());

const FAULTS: RestFault[] = ["500", "timeout", "reset"];
/** Low, so a held request fails fast. */
const TIMEOUT_MS = 300;

const start = () => startTestApp({ config: { twilio: { request_timeout_ms: TIMEOUT_MS } } });

const logged = (msg: string) => app.logs.filter((l) => l.msg === msg);

describe("placing a call while Twilio fails", () => {
  for (const fault of FAULTS) {
    test(`create answers ${fault}: 503, the call is recorded failed/twilio_error, the next call works`, async () => {
      app = await start();
      app.twilio.faults.create = fault;
      const t0 = performance.now();
      const res = await app.api("/api/call", { body: { to: "+15551230001", webhook_url: app.url } });
      expect(performance.now() - t0).toBeLessThan(TIMEOUT_MS + 2_000);
      expect(res.status).toBe(503);
      expect(res.body.success).toBe(false);
      expect(res.body.error).toStartWith("Unable to reach Twilio: ");

      const warn = logged("creating the call at Twilio failed");
      expect(warn).toHaveLength(1);
      expect(warn[0]).toMatchObject({ kind: "unreachable" });
      const call = (await app.api(`/api/calls/${warn[0]!.call_id}`)).body;
      expect(call).toMatchObject({ status: "failed", end_reason: "twilio_error", active: false, call_sid: null });
      expect(call.error).toBe(res.body.error);
      expect((await app.api("/api/calls")).body.count).toBe(0);
      expect((await app.api("/health")).status).toBe(200);

      delete app.twilio.faults.create;
      const ok = await app.call();
      expect((await app.api(`/api/calls/${ok.id}`)).body).toMatchObject({ status: "queued", active: true });
    });
  }

  test("Twilio refusing (4xx) is a 502 with Twilio's own message", async () => {
    app = await start();
    app.twilio.failNext({ status: 400, code: 21215, message: "Geo permissions are not enabled" });
    const res = await app.api("/api/call", { body: { to: "+15551230001", webhook_url: app.url } });
    expect(res.status).toBe(502);
    expect(res.body.error).toBe("Unable to create record: Geo permissions are not enabled");
  });
});

describe("ending a call while Twilio fails", () => {
  for (const fault of FAULTS) {
    test(`update answers ${fault}: 503, the call stays active and is ended once Twilio is back`, async () => {
      app = await start();
      const { id, sid } = await app.call();
      await app.twilio.sendStatus(sid, "in-progress");
      app.twilio.faults.update = fault;
      const res = await app.api(`/api/calls/${id}/end`, { method: "POST" });
      expect(res.status).toBe(503);
      expect(res.body.error).toStartWith("Unable to reach Twilio: ");
      expect((await app.api(`/api/calls/${id}`)).body).toMatchObject({ status: "in-progress", active: true });
      expect((await app.api("/api/calls")).body.count).toBe(1);
      expect((await app.api("/health")).status).toBe(200);

      // A second call is placed and ended while the first waits.
      delete app.twilio.faults.update;
      const other = await app.call();
      expect((await app.api(`/api/calls/${other.id}/end`, { method: "POST" })).status).toBe(200);

      const again = await app.api(`/api/calls/${id}/end`, { method: "POST" });
      expect(again.status).toBe(200);
      await app.twilio.flush();
      expect((await app.api(`/api/calls/${id}`)).body).toMatchObject({
        status: "completed",
        active: false,
        end_reason: "ended_by_api",
      });
    });
  }
});
