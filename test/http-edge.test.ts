// The HTTP edge against hostile or sloppy clients: proxy headers, oversized and deeply nested bodies,
// wrong methods and dot-segments, integers in other spellings, `__proto__` keys, the call budget, live
// streams per client, and floods of unsigned requests to /twilio/*.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { MAX_STREAMS_PER_CLIENT } from "../src/http/stream.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { rawRequest, rawStream } from "./support/raw-http.ts";
import { until } from "./support/until.ts";

const WEBHOOK = "https://calls.example.com";
const MiB = 1024 * 1024;
const TOO_LARGE = { success: false, error: "Request body too large: the limit is 65536 bytes" };
const TOO_DEEP = { success: false, error: "Request body nests too deeply: at most 32 levels" };
/** The API reads only JSON bodies: the size tests send theirs as JSON so that the size is what is judged. */
const AS_JSON = { "Content-Type": "application/json" };

/**
 * A chunked body (no Content-Length) of `total` bytes; `pulled` tells how much the server made us send. Chunks
 * after the first come a few ms apart: unpaced, loopback's socket buffers could take all of a 1.5 MiB body before
 * a server busy with other work had answered, and `pulled` would measure the buffers rather than the server.
 */
function chunkedBody(total: number, chunk = 64 * 1024) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (state.pulled >= total) return c.close();
      if (state.pulled > 0) await Bun.sleep(5);
      const n = Math.min(chunk, total - state.pulled);
      state.pulled += n;
      c.enqueue(new Uint8Array(n).fill(0x20));
    },
  });
  return { stream, state };
}

async function send(url: string, init: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

// One server for the checks that leave nothing behind that another test could trip over.
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe("without a token, any proxy's header means the client is not local", () => {
  const headers = [
    "Forwarded",
    "X-Forwarded-For",
    "X-Real-IP",
    "CF-Connecting-IP",
    "True-Client-IP",
    "X-Client-IP",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Forwarded-Port",
    "X-Original-Forwarded-For",
    "Fastly-Client-IP",
    "X-Cluster-Client-IP",
    "Via",
  ];
  for (const name of headers) {
    test(name, async () => {
      const res = await app.api("/api/calls", { headers: { [name]: "203.0.113.9" } });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        success: false,
        error:
          "Unauthorized: the API answers only local clients until AGENTICAI_API_TOKEN is set; set it and send 'Authorization: Bearer <token>'",
      });
    });
  }
  test("a plain local request is still served", async () => {
    expect((await app.api("/api/calls")).status).toBe(200);
  });
});

describe("bodies over the limit are 413 in the API's JSON shape, whatever their size or framing", () => {
  for (const size of [1.5 * MiB, 9 * MiB]) {
    for (const path of ["/api/call", "/twilio/status", "/twilio/voice"]) {
      test(`${size / MiB} MiB with Content-Length to ${path}`, async () => {
        const res = await send(app.url + path, {
          method: "POST",
          headers: AS_JSON,
          body: new Uint8Array(size).fill(0x20),
        });
        expect(res.status).toBe(413);
        expect(res.body).toEqual(TOO_LARGE);
      });
      test(`${size / MiB} MiB chunked to ${path}: cut off without being read whole`, async () => {
        const { stream, state } = chunkedBody(size);
        const init = { method: "POST", headers: AS_JSON, body: stream, duplex: "half" };
        const res = await send(app.url + path, init as RequestInit);
        expect(res.status).toBe(413);
        expect(res.body).toEqual(TOO_LARGE);
        expect(state.pulled).toBeLessThan(size);
      });
    }
  }

  test("a body with no end is answered all the same", async () => {
    const { stream, state } = chunkedBody(Number.MAX_SAFE_INTEGER);
    const abort = new AbortController();
    const res = await fetch(`${app.url}/api/call`, {
      method: "POST",
      headers: AS_JSON,
      body: stream,
      duplex: "half",
      signal: abort.signal,
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(TOO_LARGE);
    abort.abort();
    expect(state.pulled).toBeLessThan(64 * MiB);
  });

  test("9 MiB to an unknown path is a JSON 404", async () => {
    const res = await send(`${app.url}/nope`, { method: "POST", body: new Uint8Array(9 * MiB) });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, error: "Not found" });
  });

  test("a valid chunked body split mid-character is read whole", async () => {
    const text = JSON.stringify({ to: "+15551230001", webhook_url: WEBHOOK, metadata: { name: "Zoë 📞" } });
    const bytes = new TextEncoder().encode(text);
    const cut = bytes.indexOf(0xf0) + 2;
    const body = new ReadableStream({
      start(c) {
        c.enqueue(bytes.slice(0, cut));
        c.enqueue(bytes.slice(cut));
        c.close();
      },
    });
    const init = { method: "POST", headers: AS_JSON, body, duplex: "half" };
    const res = await send(`${app.url}/api/call`, init as RequestInit);
    expect(res.status).toBe(200);
    expect((await app.api(`/api/calls/${res.body.call_id}`)).body.metadata).toEqual({ name: "Zoë 📞" });
  });
});

describe("nesting is bounded before the body is parsed", () => {
  const nested = (levels: number, open = "{", close = "}", inner = '"a":') =>
    `${(open + (open === "{" ? inner : "")).repeat(levels)}1${close.repeat(levels)}`;
  const callWith = (metadata: string) => `{"to":"+15551230001","webhook_url":"${WEBHOOK}","metadata":${metadata}}`;

  test("32 000 levels in 64 KB are refused at once", async () => {
    const raw = callWith(`{"a":${"[".repeat(30_000)}${"]".repeat(30_000)}}`);
    expect(raw.length).toBeLessThan(64 * 1024);
    const started = performance.now();
    const res = await app.api("/api/call", { raw });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(TOO_DEEP);
    expect(performance.now() - started).toBeLessThan(400);
  });

  test("32 levels in all are accepted, 33 are not, objects or arrays", async () => {
    // The body is level 1 and metadata level 2, so metadata may hold 30 more.
    expect((await app.api("/api/call", { raw: callWith(`{"x":${nested(30)}}`) })).status).toBe(200);
    expect((await app.api("/api/call", { raw: callWith(`{"x":${nested(31)}}`) })).body).toEqual(TOO_DEEP);
    expect((await app.api("/api/call", { raw: callWith(`{"x":${nested(30, "[", "]")}}`) })).status).toBe(200);
    expect((await app.api("/api/call", { raw: callWith(`{"x":${nested(31, "[", "]")}}`) })).body).toEqual(TOO_DEEP);
  });

  test("brackets inside strings, escaped quotes included, do not count", async () => {
    const metadata = { s: "[".repeat(100), t: `\\"${"{".repeat(100)}`, u: `"[{"\\` };
    const res = await app.api("/api/call", { raw: callWith(JSON.stringify(metadata)) });
    expect(res.status).toBe(200);
    expect((await app.api(`/api/calls/${res.body.call_id}`)).body.metadata).toEqual(metadata);
  });

  test("invalid JSON is still worded by the parser", async () => {
    const res = await app.api("/api/call", { raw: '{"to": "+15551230001",' });
    expect(res.status).toBe(400);
    expect(res.body.error).toStartWith("Invalid JSON body: ");
  });
});

describe("a wrong method on a known path is 405 with Allow", () => {
  const cases: [string, string, string, string][] = [
    ["GET", "/api/call", "POST", "POST"],
    ["PUT", "/api/call", "POST", "POST"],
    ["DELETE", "/api/calls/00000000-0000-4000-8000-000000000000", "GET, HEAD", "GET"],
    ["POST", "/api/calls", "GET, HEAD", "GET"],
    ["GET", "/api/calls/abc/end", "POST", "POST"],
    ["PATCH", "/api/events/1/retry", "POST", "POST"],
    ["GET", "/twilio/status", "POST", "POST"],
    ["GET", "/twilio/voice", "POST", "POST"],
    ["POST", "/health", "GET, HEAD", "GET"],
    ["OPTIONS", "/api/events", "GET, HEAD", "GET"],
  ];
  for (const [method, path, allow, use] of cases) {
    test(`${method} ${path}`, async () => {
      const res = await app.api(path, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(res.body).toEqual({ success: false, error: `Method not allowed: use ${use}` });
    });
  }

  test("HEAD where only POST is routed: 405 with Allow and no body", async () => {
    const res = await fetch(`${app.url}/api/call`, { method: "HEAD" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });

  test("unknown paths stay 404, near misses included", async () => {
    for (const [method, path] of [
      ["GET", "/api/nope"],
      ["DELETE", "/api/calls/a/b"],
      ["GET", "/api/calls/"],
      ["POST", "/api"],
      ["GET", "/twilio"],
    ] as const) {
      const res = await app.api(path, { method });
      expect(res.status).toBe(404);
      expect(res.headers.get("allow")).toBeNull();
      expect(res.body).toEqual({ success: false, error: "Not found" });
    }
  });
});

describe("a path with dot-segments is no route: 404 whatever the method", () => {
  // fetch would resolve the dot-segments before sending: the paths go out as written over a socket.
  const cases: [string, string][] = [
    ["GET", "/x/../api/calls"],
    ["GET", "/api/./calls"],
    ["GET", "/api/%2e%2e/api/calls"],
    ["GET", "/api/calls/abc/.."],
    ["GET", "/api/events/../events"],
    ["GET", "/x/../health"],
    ["POST", "/x/../api/call"],
    ["GET", "/x/../api/call"],
    ["DELETE", "/api/./calls"],
  ];
  for (const [method, path] of cases) {
    test(`${method} ${path}`, async () => {
      const res = await rawRequest(app.url, path, { method });
      expect(res.status).toBe(404);
      expect(res.headers.get("allow")).toBeNull();
      expect(JSON.parse(res.body)).toEqual({ success: false, error: "Not found" });
    });
  }
});

describe("integers in a path or query are plain decimal digits", () => {
  const LIMIT = { success: false, error: "'limit' must be a whole number from 1 to 500" };
  for (const limit of [
    "1.0",
    "1e0",
    "0x1",
    "+1",
    "16.0",
    " 1",
    "1 ",
    "",
    "-1",
    "0",
    "501",
    "1_0",
    "１",
    "9".repeat(20),
  ]) {
    test(`limit=${JSON.stringify(limit)} is 400`, async () => {
      const res = await app.api(`/api/events?limit=${encodeURIComponent(limit)}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(LIMIT);
    });
  }

  test("limit=1, 16, 500 and no limit are served", async () => {
    for (const query of ["?limit=1", "?limit=16", "?limit=500", ""])
      expect((await app.api(`/api/events${query}`)).status).toBe(200);
  });

  test("an event id in another spelling names no event", async () => {
    // A delivered event, due in a day so that no delivery worker touches it meanwhile.
    const row = { event_id: "evt_spelling", call_id: null, receiver: "events" as const, type: "call.initiated" };
    await app.ctx.store.enqueue([{ ...row, url: "http://127.0.0.1:9/", body: "{}" }], Date.now() + 86_400_000);
    const id = (await app.ctx.store.listOutbox(null, 500)).find((e) => e.event_id === "evt_spelling")!.id;
    await app.ctx.store.recordAttempt(id, {
      status: "delivered",
      at: Date.now(),
      next_attempt_at: Date.now(),
      last_status: 200,
      last_error: null,
    });
    expect((await app.api(`/api/events/${id}/retry`, { method: "POST" })).status).toBe(409);
    for (const spelling of [`${id}.0`, `${id}e0`, `0x${id.toString(16)}`, `+${id}`, `%20${id}`, `${id}.00`]) {
      const res = await app.api(`/api/events/${spelling}/retry`, { method: "POST" });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ success: false, error: "Event not found" });
    }
  });
});

describe(`one client address holds at most ${MAX_STREAMS_PER_CLIENT} live streams`, () => {
  test("past them it gets 429; another address still gets one; a closed one frees its place", async () => {
    // Streams from earlier requests of this address end a moment after their client left.
    const mine = await until(async () => {
      const opened = await Promise.all(
        Array.from({ length: MAX_STREAMS_PER_CLIENT }, () => rawStream(app.url, "/api/stream")),
      );
      if (opened.every((s) => s.status === 200)) return opened;
      for (const s of opened) s.close();
      await Bun.sleep(100);
      return null;
    }, `room for ${MAX_STREAMS_PER_CLIENT} streams`);
    const over = await rawRequest(app.url, "/api/stream");
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body)).toEqual({
      success: false,
      error: `Too many live streams from this address: at most ${MAX_STREAMS_PER_CLIENT} may be open`,
    });

    const other = await rawStream(app.url, "/api/stream", { localAddress: "127.0.0.2" });
    expect(other.status).toBe(200);
    other.close();

    mine.pop()!.close();
    const again = await until(async () => {
      const s = await rawStream(app.url, "/api/stream");
      if (s.status === 200) return s;
      s.close();
      await Bun.sleep(50);
      return null;
    }, "the freed place");
    for (const s of [...mine, again]) s.close();
  });
});

describe("metadata is stored exactly as sent", () => {
  test("__proto__ and constructor keys round-trip through POST /api/call and GET /api/calls/{id}", async () => {
    // Written as text: in a JS object literal `__proto__` would set the prototype instead of a key.
    const metadata = '{"__proto__":{"x":1},"constructor":"y"}';
    const raw = `{"to":"+15551230001","webhook_url":"${WEBHOOK}","metadata":${metadata}}`;
    const res = await app.api("/api/call", { raw });
    expect(res.status).toBe(200);
    const id = res.body.call_id as string;
    expect((await app.ctx.store.getCall(id))!.metadata).toBe(metadata);
    const detail = (await (await fetch(`${app.url}/api/calls/${id}`)).json()) as { metadata: object };
    expect(Object.keys(detail.metadata)).toEqual(["__proto__", "constructor"]);
    expect(JSON.stringify(detail.metadata)).toBe(metadata);
    const listed = (await app.api("/api/calls")).body.calls.find((c: { call_id: string }) => c.call_id === id);
    expect(JSON.stringify(listed.metadata)).toBe(metadata);
  });

  test("metadata that is not an object keeps the original error", async () => {
    for (const metadata of ["[1]", "null", '"x"', "5"]) {
      const raw = `{"to":"+15551230001","webhook_url":"${WEBHOOK}","metadata":${metadata}}`;
      expect((await app.api("/api/call", { raw })).body).toEqual({
        success: false,
        error: "'metadata' must be a JSON object",
      });
    }
  });
});

describe("limits.calls_per_minute counts accepted calls only", () => {
  let fresh: TestApp;
  afterEach(() => fresh?.stop());
  const valid = { to: "+15551230001", webhook_url: WEBHOOK };

  test("invalid requests and refusals before Twilio cost nothing; calls Twilio saw do", async () => {
    fresh = await startTestApp({ config: { limits: { calls_per_minute: 2 }, calls: { max_concurrent: 5 } } });
    const refused: [Record<string, unknown> | string, number, string][] = [
      [{ webhook_url: WEBHOOK }, 400, "Missing 'to' phone number"],
      [
        { ...valid, to: "555-1234" },
        400,
        "Invalid 'to' phone number: use E.164 format, '+' followed by 7 to 15 digits (e.g. +15551234567)",
      ],
      [
        { to: "+15551230001" },
        400,
        "Missing 'webhook_url'. Set AGENTICAI_WEBHOOK_URL environment variable or pass in request.",
      ],
      ["{not json", 400, ""],
      [`{"metadata":${"[".repeat(40)}${"]".repeat(40)}}`, 400, TOO_DEEP.error],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [body, status, error] of refused) {
        const res = await fresh.api("/api/call", typeof body === "string" ? { raw: body } : { body });
        expect(res.status).toBe(status);
        if (error) expect(res.body).toEqual({ success: false, error });
      }
    }
    // Twilio refusing the number still used Twilio: it counts.
    expect((await fresh.api("/api/call", { body: { ...valid, to: "+15005550001" } })).status).toBe(502);
    expect((await fresh.api("/api/call", { body: valid })).status).toBe(200);
    const limited = await fresh.api("/api/call", { body: valid });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatch(/^Rate limit exceeded: retry in \d+ s$/);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // Over the budget, an invalid request is still told what is wrong with it.
    expect((await fresh.api("/api/call", { body: { webhook_url: WEBHOOK } })).status).toBe(400);
    expect(fresh.twilio.requests.filter((r) => r.method === "POST")).toHaveLength(2);
  });

  test("a call refused for capacity is given back", async () => {
    fresh = await startTestApp({ config: { limits: { calls_per_minute: 2 }, calls: { max_concurrent: 1 } } });
    const first = await fresh.call();
    for (let i = 0; i < 3; i++) expect((await fresh.api("/api/call", { body: valid })).status).toBe(429);
    await fresh.twilio.sendStatus(first.sid, "busy");
    expect((await fresh.api("/api/call", { body: valid })).status).toBe(200);
  });

  test("every /api/* request, POST /api/call included, still draws from api_requests_per_minute", async () => {
    fresh = await startTestApp({ config: { limits: { api_requests_per_minute: 3 } } });
    for (let i = 0; i < 3; i++) expect((await fresh.api("/api/call", { body: {} })).status).toBe(400);
    const res = await fresh.api("/api/call", { body: valid });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(fresh.twilio.requests).toHaveLength(0);
  });
});

describe("requests to /twilio/* with a bad signature", () => {
  let fresh: TestApp;
  afterEach(() => fresh?.stop());
  const rejectionLines = () => fresh.logs.filter((l) => /invalid( Twilio)? signature/.test(String(l.msg)));
  const forged = (path: string) =>
    path === "/twilio/media-stream"
      ? fetch(fresh.url + path, { headers: { "X-Twilio-Signature": "AAAA" } })
      : fetch(fresh.url + path, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "AAAA" },
          body: new URLSearchParams({ CallSid: "CA0", AccountSid: fresh.twilio.accountSid, CallStatus: "ringing" }),
        });

  test("2 000 of them log two lines, not one each; past 20 a minute the answer is 429", async () => {
    fresh = await startTestApp();
    const statuses: number[] = [];
    const paths = ["/twilio/status", "/twilio/voice", "/twilio/media-stream"];
    for (let batch = 0; batch < 40; batch++) {
      const sent = Array.from({ length: 50 }, (_, i) => forged(paths[(batch * 50 + i) % 3]!));
      for (const res of await Promise.all(sent)) statuses.push(res.status);
    }
    // 20 a minute, plus the odd token that refills while a slow machine sends the rest.
    const refused = statuses.filter((s) => s === 403).length;
    expect(refused).toBeGreaterThanOrEqual(20);
    expect(refused).toBeLessThan(25);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2000 - refused);
    const limited = await forged("/twilio/status");
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ success: false, error: expect.stringMatching(/^Rate limit exceeded/) });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    const lines = rejectionLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", address: "127.0.0.1" });

    // A minute later the count comes as one line, and the address has its budget back.
    const realNow = fresh.ctx.now;
    fresh.ctx.now = () => realNow() + 61_000;
    expect((await forged("/twilio/voice")).status).toBe(403);
    const summary = rejectionLines()[1]!;
    expect(summary).toMatchObject({
      level: "warn",
      msg: "rejected 2000 Twilio requests with an invalid signature in the last minute",
      address: "127.0.0.1",
      count: 2000,
    });
    expect([...(summary.paths as string[])].sort()).toEqual(paths.sort());
    expect(rejectionLines()).toHaveLength(2);
    expect(JSON.stringify(fresh.logs).length).toBeLessThan(10_000);
  });

  test("Twilio's own requests from a flooded address still get through", async () => {
    fresh = await startTestApp();
    const { id, sid } = await fresh.call();
    for (let i = 0; i < 25; i++) await forged("/twilio/status");
    expect((await forged("/twilio/status")).status).toBe(429);
    expect((await fresh.twilio.sendStatus(sid, "ringing")).status).toBe(204);
    const media = await fresh.answer(sid);
    expect(media.streamSid).toStartWith("MZ");
    media.close();
    expect(
      (await fresh.api(`/api/calls/${id}`)).body.status_history.map((h: { status: string }) => h.status),
    ).toContain("ringing");
  });

  test("the first rejection from an address is logged in full, as before", async () => {
    fresh = await startTestApp();
    expect((await forged("/twilio/media-stream")).status).toBe(403);
    expect((await forged("/twilio/voice")).status).toBe(403);
    expect(rejectionLines()).toEqual([
      expect.objectContaining({
        msg: "rejected a media stream upgrade with an invalid Twilio signature",
        address: "127.0.0.1",
        path: "/twilio/media-stream",
      }),
    ]);
  });

  test("the summary timer does not keep a process alive", async () => {
    const script = `
      import { startTestApp } from "./test/support/app.ts";
      const app = await startTestApp();
      for (let i = 0; i < 3; i++) {
        const res = await app.twilio.post(app.url + "/twilio/status", { CallSid: "CA0" }, { signature: "x" });
        if (res.status !== 403) process.exit(2);
      }
      await app.stop();
    `;
    // Killed if it is still up after 8 s: a process the timer holds would otherwise linger for minutes.
    const child = Bun.spawn([process.execPath, "-e", script], {
      cwd: `${import.meta.dir}/..`,
      stdout: "ignore",
      timeout: 8_000,
    });
    expect(await child.exited).toBe(0);
    expect(child.signalCode).toBeNull();
  });
});
