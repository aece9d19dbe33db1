import { afterEach, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";

let app: TestApp;
afterEach(() => app?.stop());

const updates = () =>
  app.twilio.requests
    .filter((r) => r.method === "POST" && /Calls\/CA\w+\.json$/.test(r.path))
    .map((r) => r.form.get("Status"));

describe("POST /api/calls/{id}/end", () => {
  test("an answered call is hung up with Status=completed", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "in-progress");
    const res = await app.api(`/api/calls/${id}/end`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: `Call ${id} ended` });
    expect(updates()).toEqual(["completed"]);
    await app.twilio.flush();
    const call = (await app.api(`/api/calls/${id}`)).body;
    expect(call).toMatchObject({ status: "completed", active: false, end_reason: "ended_by_api" });
    expect(call.duration_s).not.toBeNull();
    expect((await app.api("/api/calls")).body.count).toBe(0);
  });

  test("a ringing call is canceled", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "ringing");
    await app.api(`/api/calls/${id}/end`, { method: "POST" });
    expect(updates()).toEqual(["canceled"]);
    expect((await app.api(`/api/calls/${id}`)).body).toMatchObject({ status: "canceled", end_reason: "ended_by_api" });
  });

  test("a call answered after our last status update is still hung up", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "ringing");
    // Answered at Twilio, but the in-progress callback has not reached us yet.
    app.twilio.calls.get(sid)!.status = "in-progress";
    await app.api(`/api/calls/${id}/end`, { method: "POST" });
    expect(updates()).toEqual(["canceled", "completed"]);
    expect((await app.api(`/api/calls/${id}`)).body.status).toBe("completed");
  });

  test("idempotent: ending an ended call succeeds and sends nothing to Twilio", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "in-progress");
    await app.api(`/api/calls/${id}/end`, { method: "POST" });
    await app.twilio.flush();
    const again = await app.api(`/api/calls/${id}/end`, { method: "POST" });
    expect(again.body).toEqual({ success: true, message: `Call ${id} ended` });
    expect(updates()).toEqual(["completed"]);
  });

  test("a call that already ended at Twilio (21220) is recorded as Twilio reports it", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "in-progress");
    app.twilio.calls.get(sid)!.status = "completed";
    const res = await app.api(`/api/calls/${id}/end`, { method: "POST" });
    expect(res.body.success).toBe(true);
    expect((await app.api(`/api/calls/${id}`)).body).toMatchObject({ status: "completed", active: false });
  });

  test("unknown call: 404 with the original API's error", async () => {
    app = await startTestApp();
    const res = await app.api("/api/calls/nope/end", { method: "POST" });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, error: "Call not found" });
  });

  test("Twilio unreachable: 503 and the call stays active", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "in-progress");
    app.twilio.failNext({ status: 503, code: 20500, message: "Service unavailable" });
    const res = await app.api(`/api/calls/${id}/end`, { method: "POST" });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ success: false, error: "Unable to reach Twilio: Service unavailable" });
    expect((await app.api("/api/calls")).body.count).toBe(1);
  });
});
