// Calls that stop hearing from Twilio are settled by the sweeper. It runs every 15 s in the server;
// here the clock is moved past the quiet limit and one sweep is run by hand.
import { afterEach, describe, expect, test } from "bun:test";
import { sweep } from "../src/workers/sweeper.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { until } from "./support/until.ts";

let app: TestApp;
afterEach(() => app?.stop());

const TEN_MINUTES = 10 * 60_000;
const later = () => {
  app.ctx.now = () => Date.now() + TEN_MINUTES;
};
const detail = async (id: string) => (await app.api(`/api/calls/${id}`)).body;

describe("the stale-call sweeper", () => {
  test("a call Twilio never reports on, and Twilio cannot tell about, fails with no_callbacks and the URL to check", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    app.twilio.calls.delete(sid);
    later();
    await sweep(app.ctx);
    const call = await detail(id);
    expect(call).toMatchObject({ status: "failed", active: false, end_reason: "no_callbacks" });
    expect(call.error).toContain(`${app.url}/twilio/status`);
    expect(call.status_history.at(-1)).toMatchObject({ status: "failed", source: "sweeper" });
    expect((await app.api("/api/calls")).body.count).toBe(0);
  });

  test("a call whose final callback was lost takes the status Twilio reports", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    app.twilio.calls.get(sid)!.status = "no-answer";
    later();
    await sweep(app.ctx);
    expect(await detail(id)).toMatchObject({ status: "no-answer", active: false, end_reason: "no_answer" });
  });

  test("a call still ringing at Twilio is left alone", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    app.twilio.calls.get(sid)!.status = "ringing";
    later();
    await sweep(app.ctx);
    expect(await detail(id)).toMatchObject({ active: true });
  });

  test("an answered call with no media stream here is hung up as no_media", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "in-progress");
    app.twilio.calls.get(sid)!.status = "in-progress";
    later();
    await sweep(app.ctx);
    expect(app.twilio.requests.some((r) => r.form.get("Status") === "completed")).toBe(true);
    await app.twilio.flush();
    const call = await until(async () => {
      const c = await detail(id);
      return !c.active && c;
    }, "the call to end");
    expect(call).toMatchObject({ status: "completed", end_reason: "no_media" });
  });

  test("calls that are quiet for less than the limit are not touched", async () => {
    app = await startTestApp();
    const { id } = await app.call();
    await sweep(app.ctx);
    expect(await detail(id)).toMatchObject({ active: true, status: "queued" });
  });
});
