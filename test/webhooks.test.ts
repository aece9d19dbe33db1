import { afterEach, describe, expect, test } from "bun:test";
import { streamEndedToken, verifyStreamToken } from "../src/twilio/stream-token.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { until } from "./support/until.ts";

let app: TestApp;
afterEach(() => app?.stop());

const history = async (id: string) =>
  (await app.api(`/api/calls/${id}`)).body.status_history.map((h: { status: string }) => h.status);

describe("POST /twilio/voice", () => {
  test("an answered outbound call gets <Connect><Stream> to the media socket, with call_id and a stream token, never the prompt", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call({ prompt: "SECRET PROMPT & <stuff>" });
    const res = await app.twilio.sendVoice(sid);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/xml");
    const xml = await res.text();
    const wsUrl = `${app.url.replace(/^http/, "ws")}/twilio/media-stream`;
    // The <Connect>'s action, asked when the stream ends, is signed by Twilio and bound to the call by a token.
    const action = `${app.url}/twilio/stream-ended?call_id=${id}&amp;token=${streamEndedToken(app.ctx.streamSecret, id)}`;
    expect(xml).toContain(`<Connect action="${action}" method="POST"><Stream url="${wsUrl}">`);
    expect(xml).toContain(`<Parameter name="call_id" value="${id}"/>`);
    const token = /name="stream_token" value="([^"]+)"/.exec(xml)![1]!;
    expect(verifyStreamToken(app.ctx.streamSecret, id, token)).toBe(true);
    expect(xml).not.toContain("SECRET");
    expect(/<Stream url="([^"]+)"/.exec(xml)![1]).not.toContain("?");
    const call = (await app.api(`/api/calls/${id}`)).body;
    expect(call.status).toBe("in-progress");
    expect(call.answered_at).not.toBeNull();
  });

  test("an https public base gives a wss stream URL", async () => {
    app = await startTestApp({ config: { twilio: { validate_signatures: false } } });
    const { sid } = await app.call({ webhook_url: "https://calls.example.com/base/" });
    const res = await fetch(`${app.url}/twilio/voice`, {
      method: "POST",
      body: new URLSearchParams({
        CallSid: sid,
        AccountSid: app.twilio.accountSid,
        CallStatus: "in-progress",
        Direction: "outbound-api",
      }),
    });
    expect(await res.text()).toContain('<Stream url="wss://calls.example.com/base/twilio/media-stream">');
  });

  test("a bad or missing signature is 403 and records nothing", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    const params = {
      CallSid: sid,
      AccountSid: app.twilio.accountSid,
      CallStatus: "in-progress",
      Direction: "outbound-api",
    };
    for (const signature of ["AAAAAAAAAAAAAAAAAAAAAAAAAAA=", null]) {
      const voice = await app.twilio.post(`${app.url}/twilio/voice`, params, { signature });
      expect(voice.status).toBe(403);
      const status = await app.twilio.post(
        `${app.url}/twilio/status`,
        { ...params, SequenceNumber: "0" },
        { signature },
      );
      expect(status.status).toBe(403);
    }
    expect(await history(id)).toEqual(["queued"]);
    expect(app.logs.some((l) => l.msg === "rejected a webhook with an invalid Twilio signature")).toBe(true);
  });

  test("a signature over the local URL is not accepted when the public URL differs (proxy/tunnel)", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call({ webhook_url: "https://public.example.com" });
    const params = { CallSid: sid, AccountSid: app.twilio.accountSid, CallStatus: "ringing", SequenceNumber: "0" };
    const local = await app.twilio.post(`${app.url}/twilio/status`, params);
    expect(local.status).toBe(403);
    const signature = app.twilio.sign("https://public.example.com/twilio/status", params);
    const ok = await app.twilio.post(`${app.url}/twilio/status`, params, { signature });
    expect(ok.status).toBe(204);
    // Twilio sometimes signs with the default port spelled out.
    const withPort = app.twilio.sign("https://public.example.com:443/twilio/status", {
      ...params,
      CallStatus: "in-progress",
      SequenceNumber: "1",
    });
    expect(
      (
        await app.twilio.post(
          `${app.url}/twilio/status`,
          { ...params, CallStatus: "in-progress", SequenceNumber: "1" },
          { signature: withPort },
        )
      ).status,
    ).toBe(204);
    expect(await history(id)).toEqual(["queued", "ringing", "in-progress"]);
  });

  test("signature checks can be switched off for local development, with a warning at start", async () => {
    app = await startTestApp({ config: { twilio: { validate_signatures: false } } });
    const { sid } = await app.call();
    const res = await app.twilio.post(
      `${app.url}/twilio/status`,
      { CallSid: sid, AccountSid: "AC", CallStatus: "ringing" },
      { signature: null },
    );
    expect(res.status).toBe(204);
  });

  test("a voice webhook for an ended call hangs up", async () => {
    app = await startTestApp();
    const { sid } = await app.call();
    await app.twilio.sendStatus(sid, "canceled");
    const xml = await (await app.twilio.sendVoice(sid)).text();
    expect(xml).toContain("<Hangup/>");
    expect(xml).not.toContain("<Stream");
  });
});

describe("inbound calls", () => {
  test("rejected by default (inbound.enabled is false)", async () => {
    app = await startTestApp({ publicUrlSelf: true });
    const { response } = await app.twilio.sendInbound(`${app.url}/twilio/voice`, { from: "+15557654321" });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<Reject reason="rejected"/>');
    expect(await app.ctx.store.countActive()).toBe(0);
  });

  test("when enabled, an inbound call is registered with the inbound prompt and bridged", async () => {
    app = await startTestApp({
      publicUrlSelf: true,
      config: { inbound: { enabled: true }, agent: { inbound_prompt: "Answer for Acme." } },
    });
    const { callSid, response } = await app.twilio.sendInbound(`${app.url}/twilio/voice`, { from: "+15557654321" });
    const xml = await response.text();
    expect(xml).toMatch(/<Connect action="[^"]+" method="POST"><Stream /);
    const list = (await app.api("/api/calls")).body;
    expect(list.count).toBe(1);
    expect(list.calls[0]).toMatchObject({
      direction: "inbound",
      from_number: "+15557654321",
      to_number: app.twilio.phoneNumber,
      status: "ringing",
      call_sid: callSid,
    });
    expect((await app.api(`/api/calls/${list.calls[0].call_id}`)).body.prompt).toBe("Answer for Acme.");
  });

  test("the allowlist refuses other callers; capacity answers busy", async () => {
    app = await startTestApp({
      publicUrlSelf: true,
      config: { inbound: { enabled: true, allow_from: ["+15550000001"] }, calls: { max_concurrent: 1 } },
    });
    const stranger = await app.twilio.sendInbound(`${app.url}/twilio/voice`, { from: "+15557654321" });
    expect(await stranger.response.text()).toContain('<Reject reason="rejected"/>');
    const friend = await app.twilio.sendInbound(`${app.url}/twilio/voice`, { from: "+15550000001" });
    expect(await friend.response.text()).toContain("<Stream");
    const second = await app.twilio.sendInbound(`${app.url}/twilio/voice`, { from: "+15550000001" });
    expect(await second.response.text()).toContain('<Reject reason="busy"/>');
  });
});

describe("POST /twilio/status", () => {
  test("every transition is recorded with its time; terminal status ends the call with its duration", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    for (const s of ["initiated", "ringing", "in-progress"])
      expect((await app.twilio.sendStatus(sid, s)).status).toBe(204);
    expect((await app.api("/api/calls")).body.count).toBe(1);
    await app.twilio.sendStatus(sid, "completed", { CallDuration: "42" });
    const call = (await app.api(`/api/calls/${id}`)).body;
    expect(call).toMatchObject({ status: "completed", active: false, duration_s: 42, end_reason: "completed" });
    expect(call.status_history.map((h: { status: string }) => h.status)).toEqual([
      "queued",
      "initiated",
      "ringing",
      "in-progress",
      "completed",
    ]);
    for (const h of call.status_history) expect(Date.parse(h.at)).toBeGreaterThan(0);
    expect((await app.api("/api/calls")).body.count).toBe(0);
  });

  test("out-of-order and duplicate callbacks are ignored; nothing leaves a terminal status", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "ringing", { SequenceNumber: "1" });
    await app.twilio.sendStatus(sid, "initiated", { SequenceNumber: "0" });
    await app.twilio.sendStatus(sid, "ringing", { SequenceNumber: "1" });
    await app.twilio.sendStatus(sid, "in-progress", { SequenceNumber: "2" });
    await app.twilio.sendStatus(sid, "no-answer", { SequenceNumber: "3" });
    await app.twilio.sendStatus(sid, "in-progress", { SequenceNumber: "4" });
    await app.twilio.sendStatus(sid, "completed", { SequenceNumber: "5" });
    const call = (await app.api(`/api/calls/${id}`)).body;
    expect(call.status).toBe("no-answer");
    expect(call.end_reason).toBe("no_answer");
    expect(call.status_history.map((h: { status: string }) => h.status)).toEqual([
      "queued",
      "ringing",
      "in-progress",
      "no-answer",
    ]);
    // Every callback is still kept as received, with the verdict on it.
    const verdicts = (await app.ctx.store.events(id)).map((e) => `${e.status}:${e.verdict}`);
    expect(verdicts).toContain("initiated:out_of_order");
    expect(verdicts).toContain("ringing:duplicate");
    expect(verdicts).toContain("completed:after_terminal");
  });

  test("a failed call keeps Twilio's error", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    await app.twilio.sendStatus(sid, "failed", { ErrorCode: "13224", ErrorMessage: "Number invalid" });
    expect((await app.api(`/api/calls/${id}`)).body).toMatchObject({
      status: "failed",
      error: "Number invalid",
      end_reason: "failed",
    });
  });

  test("callbacks that arrive before the create reply are kept and applied once the CallSid is known", async () => {
    app = await startTestApp({ publicUrlSelf: true });
    const rest = app.ctx.twilio!;
    // Twilio may call back before its REST reply reaches us: deliver two callbacks in that window.
    app.ctx.twilio = {
      ...rest,
      createCall: async (p) => {
        const remote = await rest.createCall(p);
        expect((await app.twilio.sendStatus(remote.sid, "ringing", { SequenceNumber: "1" })).status).toBe(204);
        expect((await app.twilio.sendStatus(remote.sid, "initiated", { SequenceNumber: "0" })).status).toBe(204);
        return remote;
      },
    };
    const { id } = await app.call();
    expect(await history(id)).toEqual(["queued", "initiated", "ringing"]);
  });

  test("a malformed callback is 400 and changes nothing", async () => {
    app = await startTestApp();
    const { id, sid } = await app.call();
    const res = await app.twilio.sendStatus(sid, "exploded");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { success: boolean }).success).toBe(false);
    expect(await history(id)).toEqual(["queued"]);
  });
});

describe("a status callback that races ahead of the create reply", () => {
  test("is checked against the active calls' bases and kept, not refused, when there is no public URL", async () => {
    app = await startTestApp();
    await app.call();
    const url = `${app.url}/twilio/status`;
    const params = {
      CallSid: `CA${"f".repeat(32)}`,
      AccountSid: app.twilio.accountSid,
      CallStatus: "initiated",
      SequenceNumber: "0",
    };
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": app.twilio.sign(url, params),
      },
      body: new URLSearchParams(params),
    });
    expect(res.status).toBe(204);
  });
});

describe("a call answered before its create reply arrived", () => {
  test("its voice webhook waits for the reply and connects the call, rather than hanging up", async () => {
    app = await startTestApp({ publicUrlSelf: true });
    const rest = app.ctx.twilio!;
    let placed: { sid: string } | null = null;
    const reply = Promise.withResolvers<void>();
    // Twilio has created the call and the callee answers, while its reply is still on its way to us.
    app.ctx.twilio = {
      ...rest,
      createCall: async (p) => {
        const created = await rest.createCall(p);
        placed = created;
        await reply.promise;
        return created;
      },
    };
    const posted = app.api("/api/call", { body: { to: "+15551230001", webhook_url: app.url } });
    await until(() => placed, "the create at Twilio");
    const answered = app.twilio.sendVoice(placed!.sid);
    await Bun.sleep(50);
    reply.resolve();
    expect(await (await answered).text()).toMatch(/<Connect action="[^"]+" method="POST"><Stream /);
    const id = (await posted).body.call_id as string;
    expect((await app.api(`/api/calls/${id}`)).body).toMatchObject({ call_sid: placed!.sid, status: "in-progress" });
  });
});

describe("a call whose create reply was lost (the process died before storing its CallSid)", () => {
  test("is found by the call id in its webhook URLs: callbacks apply, and its answer connects", async () => {
    app = await startTestApp({ publicUrlSelf: true });
    const rest = app.ctx.twilio!;
    let placed: { sid: string } | null = null;
    // Twilio creates the call, but its reply never reaches the (dying) process.
    app.ctx.twilio = {
      ...rest,
      createCall: async (p) => {
        placed = await rest.createCall(p);
        app.ctx.dialing.clear();
        return new Promise(() => {});
      },
    };
    // That request never gets its answer; the stop at the end of the test resets it.
    app.api("/api/call", { body: { to: "+15551230001", webhook_url: app.url } }).catch(() => {});
    await until(() => placed, "the create at Twilio");
    const id = (await app.api("/api/calls")).body.calls[0].call_id as string;
    expect((await app.twilio.sendStatus(placed!.sid, "ringing")).status).toBe(204);
    expect((await app.api(`/api/calls/${id}`)).body).toMatchObject({ status: "ringing", call_sid: placed!.sid });
    const twiml = await (await app.twilio.sendVoice(placed!.sid)).text();
    expect(twiml).toMatch(/<Connect action="[^"]+" method="POST"><Stream /);
  });
});

describe("the media stream upgrade's signature", () => {
  test("is checked against the server's public base first, and against the active calls' own bases after it", async () => {
    // public_url names a base no call of this test uses: each call's stream is signed against its webhook_url.
    app = await startTestApp({ config: { server: { public_url: "https://elsewhere.example.com" } } });
    const { sid } = await app.call();
    const media = await app.answer(sid);
    expect(media.streamSid).toStartWith("MZ");
    media.close();
  });

  test("a stream signed against the public base connects", async () => {
    app = await startTestApp({ publicUrlSelf: true });
    const { sid } = await app.call({ webhook_url: app.url });
    const media = await app.answer(sid);
    expect(media.streamSid).toStartWith("MZ");
    media.close();
  });
});
