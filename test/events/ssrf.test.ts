// A call's callback_url cannot reach the server's own network: refused when the call is requested, in every
// spelling, and checked again when each delivery connects, so a name that resolves elsewhere by then (DNS
// rebinding) or an event queued for a private address is never sent. Names resolve through a resolver the
// test controls (the server's own lookup, swapped): no test here asks DNS on the internet.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pinnedRoute } from "../../src/events/receiver-host.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { PRIVATE_CALLBACKS, PUBLIC_CALLBACKS, testLookup } from "../support/callback-hosts.ts";
import { closedPort, type Receiver, startReceiver } from "../support/receiver.ts";
import { until } from "../support/until.ts";

const PUBLIC = "93.184.215.14";

describe("when a call is requested", () => {
  let app: TestApp;
  beforeAll(async () => {
    // No background work: a call accepted here is never delivered, so nothing reaches the public addresses.
    app = await startTestApp({
      noBackground: true,
      config: { limits: { calls_per_minute: 1_000 }, calls: { max_concurrent: 1_000 } },
    });
    app.ctx.lookupHost = testLookup();
  });
  afterAll(() => app.stop());

  const post = (callback_url: string) =>
    app.api("/api/call", { body: { to: "+15551230001", webhook_url: app.url, callback_url } });

  test.each(PRIVATE_CALLBACKS)("callback_url %s is a 400 naming callback_url, and nothing is dialled", async (url) => {
    const before = app.twilio.calls.size;
    const res = await post(url);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: expect.stringMatching(/^'callback_url' must reach a public/),
    });
    expect(app.twilio.calls.size).toBe(before);
  });

  test.each(PUBLIC_CALLBACKS)("callback_url %s is accepted", async (url) => {
    const res = await post(url);
    expect(res.status).toBe(200);
    expect((await app.ctx.store.getCall(res.body.call_id))!.callback_url).toBe(url);
  });

  test("events.allow_private_networks: true lets private receivers through", async () => {
    app.ctx.config.events.allow_private_networks = true;
    try {
      for (const url of [
        "http://127.0.0.1:9/",
        "http://0x7f.1/",
        "http://[::1]/",
        "http://metadata.google.internal/",
      ]) {
        expect((await post(url)).status).toBe(200);
      }
    } finally {
      app.ctx.config.events.allow_private_networks = false;
    }
  });
});

describe("when a delivery connects", () => {
  let app: TestApp;
  let rx: Receiver;
  const asked: string[] = [];
  beforeAll(async () => {
    rx = startReceiver();
    // events.url is the operator's own, on loopback, and stays unrestricted.
    app = await startTestApp({ config: { events: { url: `${rx.url}/global` } } });
  });
  afterAll(async () => {
    await app.stop();
    await rx.stop();
  });

  const outboxRow = async (callId: string | null, receiver: string) =>
    (await app.api("/api/events?limit=500")).body.events.find(
      (e: any) => e.call_id === callId && e.receiver === receiver,
    );

  test("a name that resolved to a public address at the request and to loopback since is not connected to", async () => {
    let answers = 0;
    app.ctx.lookupHost = async (name) => {
      asked.push(name);
      return name === "rebind.example.com" && answers++ > 0 ? ["127.0.0.1"] : [PUBLIC];
    };
    const { id } = await app.call({ callback_url: `http://rebind.example.com:${rx.port}/rebound` });
    // The global receiver has the event: the callback's was due at the same moment.
    await rx.until((r) => r.some((e) => e.json?.data?.call_id === id), 5_000, "the call's event at events.url");
    const row = await until(async () => {
      const r = await outboxRow(id, "callback");
      return r?.attempts >= 1 && r;
    }, "the callback's first attempt");
    expect(row).toMatchObject({ status: "pending", last_status: null, last_error: "connection failed" });
    expect(asked.filter((n) => n === "rebind.example.com").length).toBeGreaterThanOrEqual(2);
    expect(rx.requests.filter((r) => r.path === "/rebound")).toHaveLength(0);
  });

  test("an event queued for a private address (written to the outbox directly) is never sent", async () => {
    await app.ctx.store.enqueue(
      [
        {
          event_id: "msg_00000000000000000000000000000001",
          call_id: null,
          receiver: "callback",
          url: `${rx.url}/queued-private`,
          type: "call.test",
          body: "{}",
        },
      ],
      app.ctx.now(),
    );
    app.ctx.signals.eventsQueued();
    const row = await until(async () => {
      const r = await outboxRow(null, "callback");
      return r?.attempts >= 1 && r;
    }, "the queued event's first attempt");
    expect(row).toMatchObject({ status: "pending", last_status: null, last_error: "connection failed" });
    expect(rx.requests.filter((r) => r.path === "/queued-private")).toHaveLength(0);
  });
});

describe("with private receivers allowed", () => {
  let app: TestApp;
  let rx: Receiver;
  beforeAll(async () => {
    rx = startReceiver((req) => {
      if (req.path === "/hang") return { status: 200, delayMs: Number.POSITIVE_INFINITY };
      return req.path === "/broken" ? 502 : 200;
    });
    app = await startTestApp({
      config: { events: { allow_private_networks: true, timeout_s: 1 }, limits: { calls_per_minute: 1_000 } },
    });
    app.ctx.lookupHost = async (name) => (name === "hooks.invalid" ? ["127.0.0.1"] : []);
  });
  afterAll(async () => {
    await app.stop();
    await rx.stop();
  });

  const firstAttempt = (callId: string) =>
    until(
      async () => {
        const events = (await app.api("/api/events?limit=500")).body.events;
        const row = events.find((e: any) => e.call_id === callId && e.receiver === "callback");
        return row?.attempts >= 1 && row;
      },
      "the callback's first attempt",
      5_000,
    );

  test("the delivery connects to the address it checked, with the URL's name in Host", async () => {
    const { id } = await app.call({ callback_url: `http://hooks.invalid:${rx.port}/pinned` });
    const got = await rx.until((r) => r.find((e) => e.path === "/pinned"), 5_000, "the pinned delivery");
    expect(got.headers.host).toBe(`hooks.invalid:${rx.port}`);
    expect(got.json.data.call_id).toBe(id);
  });

  test("last_error says 'connection failed' for a closed port and a timeout, and the status class otherwise", async () => {
    const refused = await app.call({ callback_url: `http://127.0.0.1:${await closedPort()}/x` });
    const hung = await app.call({ callback_url: `http://127.0.0.1:${rx.port}/hang` });
    const broken = await app.call({ callback_url: `http://127.0.0.1:${rx.port}/broken` });
    expect(await firstAttempt(refused.id)).toMatchObject({ last_status: null, last_error: "connection failed" });
    expect(await firstAttempt(hung.id)).toMatchObject({ last_status: null, last_error: "connection failed" });
    expect(await firstAttempt(broken.id)).toMatchObject({ last_status: 502, last_error: "HTTP 502" });
  });
});

describe("pinning over TLS", () => {
  /** A self-signed certificate for `name`, made with openssl for this run. */
  function certificate(name: string): { key: string; cert: string } {
    const dir = mkdtempSync(join(tmpdir(), "agenticai-tls-"));
    try {
      const run = Bun.spawnSync(
        [
          "openssl",
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-subj",
          `/CN=${name}`,
          "-addext",
          `subjectAltName=DNS:${name}`,
          "-keyout",
          "key.pem",
          "-out",
          "cert.pem",
        ],
        { cwd: dir, stdout: "ignore", stderr: "pipe" },
      );
      if (run.exitCode !== 0) throw new Error(`openssl: ${run.stderr.toString()}`);
      return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("the certificate is verified against the URL's name while the connection goes to the checked address", async () => {
    const tls = certificate("hooks.example.com");
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls,
      fetch: (req) => new Response(req.headers.get("host")),
    });
    try {
      const lookup = async () => ["127.0.0.1"];
      const send = async (url: string) => {
        const route = (await pinnedRoute(url, lookup, true))!;
        expect(route.url).toStartWith("https://127.0.0.1:");
        const res = await fetch(route.url, { headers: route.headers, tls: { ...route.tls, ca: tls.cert } });
        return res.text();
      };
      expect(await send(`https://hooks.example.com:${server.port}/x`)).toBe(`hooks.example.com:${server.port}`);
      // The same address under a name the certificate does not carry is refused, not let through.
      await expect(send(`https://other.example.com:${server.port}/x`)).rejects.toThrow(/CERT|certificate/i);
    } finally {
      await server.stop(true);
    }
  });
});
