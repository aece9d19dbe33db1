// Proves the simulated carrier is faithful enough to test against: the real twilio SDK must accept its
// REST answers, and the SDK's own validator must accept the webhooks it signs.

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import twilio from "twilio";
import { type Carrier, startCarrier } from "../../src/sim/carrier.ts";
import { parseTwiml } from "../../src/sim/twiml.ts";

interface Received {
  path: string;
  url: string;
  signature: string | null;
  contentType: string | null;
  params: Record<string, string>;
}

/** A stand-in for the server under test that only records what Twilio would send it. */
function startReceiver(): { base: string; received: Received[]; stop: () => Promise<void> } {
  const received: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      received.push({
        path: u.pathname,
        url: req.url,
        signature: req.headers.get("x-twilio-signature"),
        contentType: req.headers.get("content-type"),
        params: Object.fromEntries(new URLSearchParams(await req.text())),
      });
      return new Response(u.pathname === "/twilio/voice" ? "<Response/>" : null, {
        status: u.pathname === "/twilio/voice" ? 200 : 204,
      });
    },
  });
  return { base: `http://127.0.0.1:${server.port}`, received, stop: () => server.stop(true) };
}

const EVENTS = ["initiated", "ringing", "answered", "completed"];
const RFC2822 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$/;

let carrier: Carrier;
let rx: ReturnType<typeof startReceiver>;
let client: twilio.Twilio;

beforeAll(async () => {
  rx = startReceiver();
  carrier = await startCarrier();
  client = twilio(carrier.accountSid, carrier.authToken);
  client.api.baseUrl = carrier.url;
});

afterAll(async () => {
  await carrier.stop();
  await rx.stop();
});

afterEach(() => {
  rx.received.length = 0;
});

function createOpts(to = "+15551230001") {
  return {
    to,
    from: carrier.phoneNumber,
    url: `${rx.base}/twilio/voice`,
    statusCallback: `${rx.base}/twilio/status`,
    statusCallbackEvent: EVENTS,
    statusCallbackMethod: "POST",
    timeout: 30,
    timeLimit: 3600,
  };
}

async function restError(p: Promise<unknown>): Promise<twilio.RestException> {
  try {
    await p;
  } catch (e) {
    if (e instanceof twilio.RestException) return e;
    throw e;
  }
  throw new Error("expected a RestException");
}

describe("REST Calls through the twilio SDK", () => {
  test("create records the request and answers a call resource the SDK parses", async () => {
    const call = await client.calls.create(createOpts());
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.accountSid).toBe(carrier.accountSid);
    expect(call.status).toBe("queued");
    expect(call.direction).toBe("outbound-api");
    expect(call.to).toBe("+15551230001");
    expect(call.toFormatted).toBe("(555) 123-0001");
    expect(call.from).toBe(carrier.phoneNumber);
    expect(call.apiVersion).toBe("2010-04-01");
    // The SDK turns RFC 2822 strings into Dates only if the format is exactly Twilio's.
    expect(call.dateCreated).toBeInstanceOf(Date);
    expect(Math.abs(call.dateCreated.getTime() - Date.now())).toBeLessThan(5000);
    expect(call.startTime).toBeNull();
    expect(call.uri).toBe(`/2010-04-01/Accounts/${carrier.accountSid}/Calls/${call.sid}.json`);

    const req = carrier.requests.at(-1);
    expect(req?.method).toBe("POST");
    expect(req?.path).toBe(`/2010-04-01/Accounts/${carrier.accountSid}/Calls.json`);
    expect(req?.authorized).toBe(true);
    expect(req?.form.get("To")).toBe("+15551230001");
    expect(req?.form.get("From")).toBe(carrier.phoneNumber);
    expect(req?.form.get("Url")).toBe(`${rx.base}/twilio/voice`);
    expect(req?.form.get("StatusCallback")).toBe(`${rx.base}/twilio/status`);
    expect(req?.form.getAll("StatusCallbackEvent")).toEqual(EVENTS);

    const stored = carrier.calls.get(call.sid);
    expect(stored?.statusCallbackEvents).toEqual(EVENTS);
    expect(stored?.timeout).toBe(30);
    expect(stored?.timeLimit).toBe(3600);
    expect(stored?.sequence).toBe(0);
    expect(stored?.params.StatusCallbackMethod).toBe("POST");
  });

  test("invalid To → RestException 400/21211 with Twilio's message", async () => {
    const e = await restError(client.calls.create(createOpts("123")));
    expect(e.status).toBe(400);
    expect(e.code).toBe(21211);
    expect(e.message).toBe("The 'To' number 123 is not a valid phone number.");
    expect(e.moreInfo).toBe("https://www.twilio.com/docs/errors/21211");

    const magic = await restError(client.calls.create(createOpts("+15005550001")));
    expect(magic.code).toBe(21211);
    expect(magic.message).toBe("The 'To' number +15005550001 is not a valid phone number.");
  });

  test("foreign From → 21212, missing Url/Twiml → 21205", async () => {
    const e = await restError(client.calls.create({ ...createOpts(), from: "+15550000000" }));
    expect(e.status).toBe(400);
    expect(e.code).toBe(21212);
    expect(e.message).toBe(
      "The 'From' number +15550000000 is not a valid phone number, shortcode, or alphanumeric sender ID.",
    );

    const noUrl = await restError(client.calls.create({ to: "+15551230001", from: carrier.phoneNumber }));
    expect(noUrl.code).toBe(21205);
    expect(noUrl.message).toBe("Url parameter is required.");
  });

  test("update to completed, terminal callback, fetch, and no second update", async () => {
    const call = await client.calls.create(createOpts());
    await carrier.sendStatus(call.sid, "in-progress");
    const updated = await client.calls(call.sid).update({ status: "completed" });
    expect(updated.status).toBe("completed");
    expect(carrier.requests.at(-1)?.form.get("Status")).toBe("completed");

    await carrier.flush();
    const statuses = rx.received.filter((r) => r.path === "/twilio/status").map((r) => r.params);
    expect(statuses.map((p) => p.CallStatus)).toEqual(["in-progress", "completed"]);
    expect(statuses.map((p) => p.SequenceNumber)).toEqual(["0", "1"]);
    expect(statuses[1]?.CallDuration).toMatch(/^\d+$/);
    const last = rx.received.at(-1);
    expect(twilio.validateRequest(carrier.authToken, last?.signature ?? "", last?.url ?? "", last?.params ?? {})).toBe(
      true,
    );

    const fetched = await client.calls(call.sid).fetch();
    expect(fetched.status).toBe("completed");
    expect(fetched.duration).toMatch(/^\d+$/);
    expect(fetched.endTime).toBeInstanceOf(Date);
    expect(fetched.startTime).toBeInstanceOf(Date);

    const again = await restError(client.calls(call.sid).update({ status: "completed" }));
    expect(again.status).toBe(400);
    expect(again.code).toBe(21220);
  });

  test("canceled applies to a queued call only", async () => {
    const queued = await client.calls.create(createOpts());
    expect((await client.calls(queued.sid).update({ status: "canceled" })).status).toBe("canceled");

    const live = await client.calls.create(createOpts());
    await carrier.sendVoice(live.sid);
    expect((await client.calls(live.sid).update({ status: "canceled" })).status).toBe("in-progress");
    await carrier.flush();
  });

  test("Twiml on an active call is stored; unknown sid → 404/20404", async () => {
    const call = await client.calls.create(createOpts());
    const twiml = "<Response><Hangup/></Response>";
    const res = await client.calls(call.sid).update({ twiml });
    expect(res.status).toBe("queued");
    expect(carrier.calls.get(call.sid)?.params.Twiml).toBe(twiml);

    const missing = await restError(client.calls(`CA${"0".repeat(32)}`).fetch());
    expect(missing.status).toBe(404);
    expect(missing.code).toBe(20404);
    const missingUpdate = await restError(client.calls(`CA${"0".repeat(32)}`).update({ status: "completed" }));
    expect(missingUpdate.code).toBe(20404);
  });

  test("wrong credentials → 401/20003 and the request is recorded as unauthorized", async () => {
    const bad = twilio(carrier.accountSid, "wrong-token");
    bad.api.baseUrl = carrier.url;
    const e = await restError(bad.calls.create(createOpts()));
    expect(e.status).toBe(401);
    expect(e.code).toBe(20003);
    expect(e.message).toBe("Authenticate");
    expect(carrier.requests.at(-1)?.authorized).toBe(false);

    const otherAccount = twilio(`AC${"f".repeat(32)}`, carrier.authToken);
    otherAccount.api.baseUrl = carrier.url;
    expect((await restError(otherAccount.calls.create(createOpts()))).code).toBe(20003);
  });

  test("failNext answers exactly one request with the injected error", async () => {
    carrier.failNext({ status: 429, code: 20429, message: "Too Many Requests" });
    const e = await restError(client.calls.create(createOpts()));
    expect(e.status).toBe(429);
    expect(e.code).toBe(20429);
    expect(e.message).toBe("Too Many Requests");
    const ok = await client.calls.create(createOpts());
    expect(ok.status).toBe("queued");
  });
});

describe("sign()", () => {
  const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  const base = { CallSid: "CA1234567890ABCDE", Digits: "1234", To: "+18005551212" };
  const docs = { ...base, Caller: "+12349013030", From: "+12349013030" };
  const spec = { ...base, Caller: "+14158675309", From: "+14158675309" };

  test("matches Twilio's published test vectors", async () => {
    const f = await startCarrier({ authToken: "12345" });
    try {
      expect(f.sign(url, docs)).toBe("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
      expect(f.sign(url, spec)).toBe("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
      expect(f.sign("http://mycompany.com:1234/myapp.php?foo=1&bar=2", spec)).toBe("Zmvh+3yNM1Phv2jhDCwEM3q5ebU=");
      expect(f.sign("wss://example.com/media", {})).toBe("7PR3qMkpDyEJtMrVOY/LDyNq8J8=");
    } finally {
      await f.stop();
    }
  });

  test("agrees with the twilio SDK", () => {
    const u = `${rx.base}/twilio/status?x=1`;
    const params = { Zeta: "z", AccountSid: carrier.accountSid, Ünïcode: "välue ✓", Empty: "" };
    const sig = carrier.sign(u, params);
    expect(sig).toBe(twilio.getExpectedTwilioSignature(carrier.authToken, u, params));
    expect(twilio.validateRequest(carrier.authToken, sig, u, params)).toBe(true);
    expect(twilio.validateRequest(carrier.authToken, sig, u, { ...params, Zeta: "y" })).toBe(false);
  });

  test("without a given auth token, each carrier signs with its own random one", async () => {
    const other = await startCarrier();
    try {
      expect(carrier.authToken).toMatch(/^[0-9a-f]{32}$/);
      expect(other.authToken).toMatch(/^[0-9a-f]{32}$/);
      expect(other.authToken).not.toBe(carrier.authToken);
      expect(carrier.authToken).not.toBe("f4ke70ken0f4ke70ken0f4ke70ken012");
    } finally {
      await other.stop();
    }
  });
});

describe("webhook driver", () => {
  test("sendStatus posts Twilio's status-callback fields, signed", async () => {
    const call = await client.calls.create(createOpts());
    const res = await carrier.sendStatus(call.sid, "ringing");
    expect(res.status).toBe(204);
    expect(carrier.calls.get(call.sid)?.status).toBe("ringing");

    const got = rx.received.at(-1);
    expect(got?.url).toBe(`${rx.base}/twilio/status`);
    expect(got?.contentType).toStartWith("application/x-www-form-urlencoded");
    const p = got?.params ?? {};
    expect(p).toMatchObject({
      AccountSid: carrier.accountSid,
      CallSid: call.sid,
      From: carrier.phoneNumber,
      To: "+15551230001",
      Direction: "outbound-api",
      ApiVersion: "2010-04-01",
      CallStatus: "ringing",
      CallbackSource: "call-progress-events",
      SequenceNumber: "0",
    });
    expect(p.Timestamp).toMatch(RFC2822);
    expect(p.CallDuration).toBeUndefined();
    expect(twilio.validateRequest(carrier.authToken, got?.signature ?? "", got?.url ?? "", p)).toBe(true);

    await carrier.sendStatus(call.sid, "in-progress");
    expect(rx.received.at(-1)?.params.SequenceNumber).toBe("1");

    // An out-of-order delivery: extra overrides the generated fields.
    await carrier.sendStatus(call.sid, "no-answer", { SequenceNumber: "0", CallDuration: "7" });
    const late = rx.received.at(-1);
    expect(late?.params.SequenceNumber).toBe("0");
    expect(late?.params.CallDuration).toBe("7");
    expect(twilio.validateRequest(carrier.authToken, late?.signature ?? "", late?.url ?? "", late?.params ?? {})).toBe(
      true,
    );
    expect(carrier.calls.get(call.sid)?.sequence).toBe(3);

    await carrier.sendStatus(call.sid, "completed");
    expect(rx.received.at(-1)?.params.CallDuration).toMatch(/^\d+$/);
    expect(carrier.sent.at(-1)?.status).toBe(204);
  });

  test("sendVoice posts the answered-call webhook to the call's Url", async () => {
    const call = await client.calls.create(createOpts());
    const res = await carrier.sendVoice(call.sid, { AnsweredBy: "human" });
    expect(await res.text()).toBe("<Response/>");
    const got = rx.received.at(-1);
    expect(got?.path).toBe("/twilio/voice");
    expect(got?.params).toMatchObject({
      CallSid: call.sid,
      AccountSid: carrier.accountSid,
      CallStatus: "in-progress",
      Direction: "outbound-api",
      AnsweredBy: "human",
    });
    expect(twilio.validateRequest(carrier.authToken, got?.signature ?? "", got?.url ?? "", got?.params ?? {})).toBe(
      true,
    );
    expect(carrier.calls.get(call.sid)?.status).toBe("in-progress");
  });

  test("sendInbound creates a ringing inbound call", async () => {
    const { callSid, response } = await carrier.sendInbound(`${rx.base}/twilio/voice`, { from: "+15557654321" });
    expect(response.status).toBe(200);
    expect(callSid).toMatch(/^CA[0-9a-f]{32}$/);
    const got = rx.received.at(-1);
    expect(got?.params).toMatchObject({
      CallSid: callSid,
      From: "+15557654321",
      To: carrier.phoneNumber,
      CallStatus: "ringing",
      Direction: "inbound",
    });
    expect(twilio.validateRequest(carrier.authToken, got?.signature ?? "", got?.url ?? "", got?.params ?? {})).toBe(
      true,
    );
    // Inbound calls exist in the REST API too, so the app can hang them up.
    expect((await client.calls(callSid).fetch()).direction).toBe("inbound");
  });

  test("post can send a wrong signature or none", async () => {
    const u = `${rx.base}/twilio/status`;
    await carrier.post(u, { A: "1" }, { signature: "bogus=" });
    expect(rx.received.at(-1)?.signature).toBe("bogus=");
    await carrier.post(u, { A: "1" }, { signature: null });
    expect(rx.received.at(-1)?.signature).toBeNull();
    await carrier.post(u, { A: "1" });
    expect(rx.received.at(-1)?.signature).toBe(carrier.sign(u, { A: "1" }));
  });

  test("sendCallbacksOnUpdate: false keeps updates silent", async () => {
    const f = await startCarrier({ sendCallbacksOnUpdate: false });
    const c = twilio(f.accountSid, f.authToken);
    c.api.baseUrl = f.url;
    try {
      const call = await c.calls.create({ ...createOpts(), from: f.phoneNumber });
      await c.calls(call.sid).update({ status: "completed" });
      await f.flush();
      await Bun.sleep(20);
      expect(rx.received).toHaveLength(0);
    } finally {
      await f.stop();
    }
  });
});

describe("TwiML reader", () => {
  test("<Dial> as the twilio SDK writes it: number, callerId, timeout, action (unescaped) and method", () => {
    const r = new twilio.twiml.VoiceResponse();
    r.say("Connecting you.");
    r.dial(
      { callerId: "+15005550006", timeout: 20, action: "https://x/twilio/dial-status?a=1&b=2", method: "POST" },
      "+15550100012",
    );
    expect(parseTwiml(r.toString())).toEqual([
      { verb: "Say", text: "Connecting you." },
      {
        verb: "Dial",
        number: "+15550100012",
        callerId: "+15005550006",
        timeout: 20,
        action: "https://x/twilio/dial-status?a=1&b=2",
        method: "POST",
      },
    ]);
  });

  test("<Dial><Number>, and Twilio's defaults for what is left out", () => {
    const r = new twilio.twiml.VoiceResponse();
    r.dial().number("+15550100001");
    r.hangup();
    expect(parseTwiml(r.toString())).toEqual([
      { verb: "Dial", number: "+15550100001", callerId: undefined, timeout: 30, action: undefined, method: "POST" },
      { verb: "Hangup" },
    ]);
  });
});
