import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import twilio from "twilio";
import { createTwilioRest, type TwilioError } from "../../src/twilio/rest.ts";

// The server speaks Twilio's REST API itself; the twilio SDK, a dev dependency only, is what its requests and its
// reading of errors must match. One real server on loopback records what each client sends and answers as told.
const SID = `AC${"1".repeat(32)}`;
const TOKEN = "test-token";
const CALL = `CA${"2".repeat(32)}`;

interface Seen {
  method: string;
  path: string;
  body: string;
  auth: string | null;
  type: string | null;
  accept: string | null;
}

let answer: () => Response = () => new Response();
const seen: Seen[] = [];
let server: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      const h = req.headers;
      const url = new URL(req.url);
      seen.push({
        method: req.method,
        path: url.pathname + url.search,
        body: await req.text(),
        auth: h.get("authorization"),
        type: h.get("content-type")?.split(";")[0] ?? null,
        accept: h.get("accept"),
      });
      return answer();
    },
  });
});
afterAll(() => server.stop(true));

const resource = { sid: CALL, status: "queued", duration: "42", price: "-0.01400", price_unit: "USD" };
const base = () => server.url.href.replace(/\/$/, "");

function sdk() {
  const client = twilio(SID, TOKEN, { autoRetry: false });
  client.api.baseUrl = base();
  return client;
}
const ours = () =>
  createTwilioRest({
    accountSid: SID,
    authToken: TOKEN,
    phoneNumber: "+15550000000",
    apiBaseUrl: base(),
    timeoutMs: 5_000,
  });

/** What one client sends for `run`, with the server answering `respond`. */
async function sent(run: () => Promise<unknown>, respond = () => Response.json(resource, { status: 201 })) {
  seen.length = 0;
  answer = respond;
  await run().catch(() => {});
  return seen.slice();
}

async function failure(run: () => Promise<unknown>, respond: () => Response): Promise<Record<string, unknown>> {
  answer = respond;
  try {
    await run();
  } catch (e) {
    const err = e as { status?: number; code?: number; message: string };
    return { status: err.status, code: err.code, message: err.message };
  }
  throw new Error("expected a failure");
}

describe("Twilio's Calls resource without the SDK", () => {
  const create = {
    to: "+15551230001",
    voiceUrl: "https://x.example/twilio/voice?call_id=c_1",
    statusUrl: "https://x.example/twilio/status?call_id=c_1",
    timeoutS: 30,
    timeLimitS: 3600,
  };
  const sdkCreate = (amd?: string) => ({
    to: create.to,
    from: "+15550000000",
    url: create.voiceUrl,
    method: "POST",
    statusCallback: create.statusUrl,
    statusCallbackMethod: "POST",
    statusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
    timeout: create.timeoutS,
    timeLimit: create.timeLimitS,
    ...(amd && {
      machineDetection: "DetectMessageEnd",
      asyncAmd: "true",
      asyncAmdStatusCallback: amd,
      asyncAmdStatusCallbackMethod: "POST",
    }),
  });

  test("create, update and fetch send what the SDK sends", async () => {
    const amd = "https://x.example/twilio/amd?call_id=c_1";
    const pairs: [() => Promise<unknown>, () => Promise<unknown>][] = [
      [() => ours().createCall(create), () => sdk().calls.create(sdkCreate())],
      [() => ours().createCall({ ...create, amdUrl: amd }), () => sdk().calls.create(sdkCreate(amd))],
      [() => ours().updateCall(CALL, { status: "completed" }), () => sdk().calls(CALL).update({ status: "completed" })],
      [
        () => ours().updateCall(CALL, { twiml: "<Response><Hangup/></Response>", timeLimit: 90 }),
        () => sdk().calls(CALL).update({ twiml: "<Response><Hangup/></Response>", timeLimit: 90 }),
      ],
      [
        () => ours().updateCall(CALL, { twiml: "<Response/>" }),
        () => sdk().calls(CALL).update({ twiml: "<Response/>" }),
      ],
      [() => ours().fetchCall(CALL), () => sdk().calls(CALL).fetch()],
    ];
    for (const [mine, theirs] of pairs) {
      const [a, b] = [await sent(mine), await sent(theirs)];
      expect(a).toHaveLength(1);
      expect(a).toEqual(b);
    }
  });

  test("the call resource is read as the SDK reads it", async () => {
    answer = () => Response.json(resource, { status: 201 });
    const sdkCall = await sdk().calls.create(sdkCreate());
    expect(await ours().createCall(create)).toEqual({
      sid: sdkCall.sid,
      status: sdkCall.status,
      duration: Number(sdkCall.duration),
      price: sdkCall.price,
      priceUnit: sdkCall.priceUnit,
    });
    answer = () => Response.json({ ...resource, duration: null, price: null }, { status: 200 });
    expect(await ours().fetchCall(CALL)).toMatchObject({ duration: null, price: null });
  });

  test("Twilio's refusals carry the SDK's status, code and message", async () => {
    const answers = [
      () => Response.json({ code: 21211, message: "The 'To' number is not valid.", status: 400 }, { status: 400 }),
      () => Response.json({ code: 20003, message: "Authenticate", status: 401 }, { status: 401 }),
      () => Response.json({ type: "https://x/e/1", title: "Bad thing", status: 422, code: 90001 }, { status: 422 }),
      () => new Response("<html>gateway</html>", { status: 502 }),
      () => Response.json({ code: 20500, message: "Internal Server Error", status: 500 }, { status: 500 }),
      () => new Response("", { status: 404 }),
    ];
    for (const respond of answers) {
      const theirs = await failure(() => sdk().calls.create(sdkCreate()), respond);
      const mine = await failure(() => ours().createCall(create), respond);
      expect(mine).toEqual(theirs);
    }
  });

  test("below 500 Twilio refused the request; from 500 on, or with no answer, it was not reached", async () => {
    const kind = async (respond: () => Response) => {
      answer = respond;
      return (
        (await ours()
          .createCall(create)
          .catch((e: TwilioError) => e)) as TwilioError
      ).kind;
    };
    expect(await kind(() => Response.json({ code: 21211, message: "bad", status: 400 }, { status: 400 }))).toBe(
      "refused",
    );
    expect(await kind(() => new Response("down", { status: 503 }))).toBe("unreachable");
    expect(await kind(() => new Response("not json", { status: 201 }))).toBe("unreachable");
    const dead = createTwilioRest({
      accountSid: SID,
      authToken: TOKEN,
      phoneNumber: "+15550000000",
      apiBaseUrl: "http://127.0.0.1:9",
      timeoutMs: 2_000,
    });
    const e = (await dead.fetchCall(CALL).catch((err: TwilioError) => err)) as TwilioError;
    expect(e.kind).toBe("unreachable");
    expect(e.message.length).toBeGreaterThan(0);
  });
});
