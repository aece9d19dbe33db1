// What a web page could make the server do through a visitor's browser: post to the API as a "simple"
// cross-site request (text/plain, a form), or rebind its own name to 127.0.0.1 and drive a server that
// trusts loopback clients without a token. Bodies are read only as JSON, a foreign Origin is refused, and
// without a token only loopback names and the public host are answered.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { rawRequest } from "./support/raw-http.ts";

const TOKEN = "cross-site-test-token-0123456789";
const PUBLIC = "https://calls.example.com";
const NOT_JSON = {
  success: false,
  error: "Unsupported media type: send the body as JSON with 'Content-Type: application/json'",
};
const FOREIGN = {
  success: false,
  error:
    "Forbidden: this request comes from a page on another origin; list that origin in server.allowed_origins (AGENTICAI_ALLOWED_ORIGINS) to allow it",
};
const MISDIRECTED = {
  success: false,
  error:
    "Misdirected request: without AGENTICAI_API_TOKEN the API answers only requests addressed to localhost, a loopback address or the host of server.public_url",
};

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ config: { server: { public_url: PUBLIC } } });
});
afterAll(() => app.stop());

const callBody = () => JSON.stringify({ to: "+15551230001", webhook_url: PUBLIC });
const dialled = () => app.twilio.requests.filter((r) => r.method === "POST").length;

async function send(path: string, init: RequestInit = {}) {
  const res = await fetch(app.url + path, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe("/api/* reads a body only when it is sent as application/json", () => {
  const refused: [string, string | null][] = [
    ["text/plain (what fetch no-cors sends)", "text/plain;charset=UTF-8"],
    ["a form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["no Content-Type at all", null],
    ["JSON in another charset", "application/json; charset=latin1"],
    ["text/json", "text/json"],
    ["a JSON-looking type", "application/jsonp"],
    ["two types at once", "application/json, text/plain"],
  ];
  for (const [name, type] of refused) {
    test(`${name}: 415, and no call is placed`, async () => {
      const before = dialled();
      const headers: Record<string, string> = type ? { "Content-Type": type } : {};
      const res = await send("/api/call", { method: "POST", headers, body: callBody() });
      expect(res).toEqual({ status: 415, body: NOT_JSON });
      expect(dialled()).toBe(before);
    });
  }

  test("a real multipart form is refused too", async () => {
    const form = new FormData();
    form.set("to", "+15551230001");
    expect(await send("/api/call", { method: "POST", body: form })).toEqual({ status: 415, body: NOT_JSON });
  });

  for (const type of ["application/json", "Application/JSON; charset=UTF-8", 'application/json;charset="utf-8"']) {
    test(`${type} is read`, async () => {
      const res = await send("/api/call", { method: "POST", headers: { "Content-Type": type }, body: callBody() });
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
    });
  }

  test("POSTs without a body (…/end, …/retry) need no type; with a body they need JSON", async () => {
    const { id } = await app.call();
    expect((await send(`/api/calls/${id}/end`, { method: "POST" })).status).toBe(200);
    const raw = await rawRequest(app.url, `/api/calls/${id}/end`, {
      method: "POST",
      headers: { "Content-Length": "0", "Content-Type": "text/plain" },
    });
    expect(raw.status).toBe(200);
    const typed = { method: "POST", headers: { "Content-Type": "text/plain" }, body: "x" };
    expect(await send(`/api/calls/${id}/end`, typed)).toEqual({ status: 415, body: NOT_JSON });
    expect(await send("/api/events/1/retry", typed)).toEqual({ status: 415, body: NOT_JSON });
  });

  test("a chunked body without a type is refused before it is read", async () => {
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(callBody()));
        c.close();
      },
    });
    const init = { method: "POST", body, duplex: "half" } as RequestInit;
    expect(await send("/api/call", init)).toEqual({ status: 415, body: NOT_JSON });
  });

  test("Twilio's form-encoded webhooks are not /api/*: still read and answered", async () => {
    const { sid } = await app.call();
    expect((await app.twilio.sendStatus(sid, "ringing")).status).toBe(204);
  });
});

describe("a request from a page on another origin is refused", () => {
  const json = { "Content-Type": "application/json" };
  for (const origin of ["http://localhost:19090", "null", "https://calls.example.com.evil.example", "http://x"]) {
    test(`Origin: ${origin}`, async () => {
      const before = dialled();
      const post = { method: "POST", headers: { ...json, Origin: origin }, body: callBody() };
      expect(await send("/api/call", post)).toEqual({ status: 403, body: FOREIGN });
      expect(await send("/api/calls", { headers: { Origin: origin } })).toEqual({ status: 403, body: FOREIGN });
      expect(dialled()).toBe(before);
    });
  }

  test("the server's own origin, as reached and as published in public_url, is accepted", async () => {
    for (const origin of [app.url, PUBLIC]) {
      const post = { method: "POST", headers: { ...json, Origin: origin }, body: callBody() };
      expect((await send("/api/call", post)).status).toBe(200);
    }
  });

  test("/health and /twilio/* (signed by Twilio) look at neither Origin nor Host", async () => {
    expect((await fetch(`${app.url}/health`, { headers: { Origin: "null" } })).status).toBe(200);
    const { sid } = await app.call();
    const url = `${app.url}/twilio/status`;
    const params = { CallSid: sid, AccountSid: app.twilio.accountSid, CallStatus: "ringing", SequenceNumber: "1" };
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": app.twilio.sign(url, params),
        Origin: "null",
        Host: "evil.example",
      },
      body: new URLSearchParams(params),
    });
    expect(res.status).toBe(204);
  });
});

describe("server.allowed_origins, and a token does not lift the Origin rule", () => {
  let fresh: TestApp;
  afterEach(() => fresh?.stop());

  test("a listed origin is accepted, others are still refused, with the token sent", async () => {
    fresh = await startTestApp({
      config: { server: { api_token: TOKEN, allowed_origins: ["https://console.example.com"] } },
    });
    const get = (origin: string) =>
      fetch(`${fresh.url}/api/calls`, { headers: { Authorization: `Bearer ${TOKEN}`, Origin: origin } });
    expect((await get("https://console.example.com")).status).toBe(200);
    expect((await get("https://console.example.com:443")).status).toBe(200);
    const other = await get("https://other.example.com");
    expect(other.status).toBe(403);
    expect(await other.json()).toEqual(FOREIGN);
  });
});

describe("without a token, only loopback names and the public host are answered (DNS rebinding)", () => {
  const as = (host: string, init: RequestInit = {}) =>
    send("/api/calls", { ...init, headers: { ...(init.headers as Record<string, string>), Host: host } });

  for (const host of ["evil.example", "evil.example:8080", "127.0.0.1.nip.io", "localhost.evil.example", "10.0.0.1"]) {
    test(`Host: ${host} is 421`, async () => {
      expect(await as(host)).toEqual({ status: 421, body: MISDIRECTED });
      const before = dialled();
      const post = await send("/api/call", {
        method: "POST",
        headers: { Host: host, "Content-Type": "application/json" },
        body: callBody(),
      });
      expect(post).toEqual({ status: 421, body: MISDIRECTED });
      expect(dialled()).toBe(before);
    });
  }

  const port = () => new URL(app.url).port;
  for (const host of [
    "localhost",
    "LOCALHOST:PORT",
    "console.localhost:PORT",
    "127.0.0.1:PORT",
    "127.9.8.7",
    "[::1]:PORT",
    "calls.example.com",
  ]) {
    test(`Host: ${host} is served`, async () => {
      expect((await as(host.replace("PORT", port()))).status).toBe(200);
    });
  }

  test("a Host that is no host at all is 400 in the API's shape, on every path but /health", async () => {
    for (const path of ["/api/calls", "/console", "/twilio/status", "/metrics"]) {
      const res = await rawRequest(app.url, path, { headers: { Host: "a/b@c" } });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toEqual({
        success: false,
        error: "Bad request: the Host header is not a valid host",
      });
    }
  });

  test("/health answers any Host, or none, for load balancers and container checks", async () => {
    expect((await fetch(`${app.url}/health`, { headers: { Host: "evil.example" } })).status).toBe(200);
    expect((await rawRequest(app.url, "/health", { http10: true, headers: { Host: null } })).status).toBe(200);
  });

  test("/metrics, open to loopback like the API without a token, is 421 too", async () => {
    expect(await send("/metrics", { headers: { Host: "evil.example" } })).toEqual({ status: 421, body: MISDIRECTED });
    expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
  });

  test("the console's files hold no data and are served to any Host", async () => {
    expect((await fetch(`${app.url}/console`, { headers: { Host: "evil.example" } })).status).toBe(200);
  });
});

describe("with a token, the Host rule does not apply (the token is what a rebinding page lacks)", () => {
  let fresh: TestApp;
  afterEach(() => fresh?.stop());

  test("any Host with the token", async () => {
    fresh = await startTestApp({ config: { server: { api_token: TOKEN } } });
    const get = (headers: Record<string, string>) => fetch(`${fresh.url}/api/calls`, { headers });
    expect((await get({ Host: "calls.internal:8080", Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await get({ Host: "calls.internal:8080" })).status).toBe(401);
  });
});
