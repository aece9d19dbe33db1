import { afterEach, describe, expect, test } from "bun:test";
import { validate as isUuid, version as uuidVersion } from "uuid";
import { startTestApp, type TestApp } from "./support/app.ts";

let app: TestApp;
afterEach(() => app?.stop());

const WEBHOOK = "https://your-ngrok-url.ngrok.io";

describe("POST /api/call — the README's API examples", () => {
  test("basic call: Twilio gets the webhook URLs, all four status events, ring timeout and time limit", async () => {
    app = await startTestApp();
    const res = await app.api("/api/call", { body: { to: "+1234567890", webhook_url: WEBHOOK } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, call_id: expect.any(String), to: "+1234567890", webhook_url: WEBHOOK });
    expect(isUuid(res.body.call_id) && uuidVersion(res.body.call_id)).toBe(4);

    const create = app.twilio.requests.find((r) => r.method === "POST" && r.path.endsWith("/Calls.json"))!;
    expect(create.authorized).toBe(true);
    expect(create.form.get("To")).toBe("+1234567890");
    expect(create.form.get("From")).toBe(app.twilio.phoneNumber);
    expect(create.form.get("Url")).toBe(`${WEBHOOK}/twilio/voice?call_id=${res.body.call_id}`);
    expect(create.form.get("StatusCallback")).toBe(`${WEBHOOK}/twilio/status?call_id=${res.body.call_id}`);
    expect(create.form.getAll("StatusCallbackEvent")).toEqual(["initiated", "ringing", "answered", "completed"]);
    expect(create.form.get("Timeout")).toBe("30");
    expect(create.form.get("TimeLimit")).toBe("900");
    // The prompt is ours to keep: it never travels to Twilio.
    expect([...create.form.keys()].some((k) => /prompt/i.test(k))).toBe(false);
  });

  test("custom prompt and metadata are stored with the call", async () => {
    app = await startTestApp();
    const prompt = "You are calling to confirm an appointment.";
    const metadata = { customer_id: "12345", appointment_id: "apt-789", source: "crm_system" };
    const res = await app.api("/api/call", { body: { to: "+1234567890", prompt, webhook_url: WEBHOOK, metadata } });
    expect(res.body.success).toBe(true);
    const call = await app.api(`/api/calls/${res.body.call_id}`);
    expect(call.body).toMatchObject({
      call_id: res.body.call_id,
      prompt,
      metadata,
      direction: "outbound",
      to_number: "+1234567890",
      status: "queued",
      active: true,
      webhook_url: WEBHOOK,
    });
    expect(call.body.status_history.map((h: { status: string }) => h.status)).toEqual(["queued"]);
  });

  test("without a prompt the configured default applies", async () => {
    app = await startTestApp({ config: { agent: { default_prompt: "Be brief." } } });
    const { id } = await app.call();
    expect((await app.api(`/api/calls/${id}`)).body.prompt).toBe("Be brief.");
  });

  test("the original API's fallback prompt is the built-in default", async () => {
    app = await startTestApp();
    const { id } = await app.call();
    expect((await app.api(`/api/calls/${id}`)).body.prompt).toBe("You are a helpful AI assistant making a phone call.");
  });

  test("webhook_url falls back to the configured public URL (AGENTICAI_WEBHOOK_URL / NGROK_URL)", async () => {
    app = await startTestApp({ config: { server: { public_url: "https://agent.example.com/" } } });
    const res = await app.api("/api/call", { body: { to: "+1234567890" } });
    expect(res.body).toMatchObject({ success: true, webhook_url: "https://agent.example.com" });
    expect(app.twilio.requests.at(-1)!.form.get("Url")).toBe(
      `https://agent.example.com/twilio/voice?call_id=${res.body.call_id}`,
    );
  });
});

describe("POST /api/call — errors keep the original API's shape and strings", () => {
  const cases: [string, unknown, number, string][] = [
    ["missing to", { webhook_url: WEBHOOK }, 400, "Missing 'to' phone number"],
    ["empty to", { to: "  ", webhook_url: WEBHOOK }, 400, "Missing 'to' phone number"],
    ["null to", { to: null, webhook_url: WEBHOOK }, 400, "Missing 'to' phone number"],
    [
      "missing webhook",
      { to: "+1234567890" },
      400,
      "Missing 'webhook_url'. Set AGENTICAI_WEBHOOK_URL environment variable or pass in request.",
    ],
    [
      "non-E.164 to",
      { to: "555-1234", webhook_url: WEBHOOK },
      400,
      "Invalid 'to' phone number: use E.164 format, '+' followed by 7 to 15 digits (e.g. +15551234567)",
    ],
    ["numeric to", { to: 1234567890, webhook_url: WEBHOOK }, 400, "'to' must be a string"],
    [
      "ftp webhook",
      { to: "+1234567890", webhook_url: "ftp://x.example" },
      400,
      "'webhook_url' must be an http(s) URL such as https://example.ngrok.app",
    ],
    [
      "array metadata",
      { to: "+1234567890", webhook_url: WEBHOOK, metadata: [1] },
      400,
      "'metadata' must be a JSON object",
    ],
    [
      "huge metadata",
      { to: "+1234567890", webhook_url: WEBHOOK, metadata: { x: "a".repeat(17_000) } },
      400,
      "'metadata' must be at most 16384 bytes as JSON",
    ],
    [
      "long prompt",
      { to: "+1234567890", webhook_url: WEBHOOK, prompt: "p".repeat(32_001) },
      400,
      "'prompt' must be at most 32000 characters",
    ],
    ["non-object body", [1, 2], 400, "Request body must be a JSON object"],
  ];
  for (const [name, body, status, error] of cases) {
    test(name, async () => {
      app = await startTestApp();
      const res = await app.api("/api/call", { body });
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ success: false, error });
      expect(app.twilio.requests).toHaveLength(0);
      expect(await app.ctx.store.countActive()).toBe(0);
    });
  }

  test("non-JSON body", async () => {
    app = await startTestApp();
    const res = await app.api("/api/call", { raw: "to=+1234567890" });
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.error).toStartWith("Invalid JSON body: ");
  });

  test("a body over 64 KB is refused unread with 413", async () => {
    app = await startTestApp();
    const res = await app.api("/api/call", { raw: JSON.stringify({ to: "+1234567890", pad: "x".repeat(70_000) }) });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ success: false, error: "Request body too large: the limit is 65536 bytes" });
  });

  test("Twilio refusing the number: the original API's 'Unable to create record' with Twilio's message, 502, call recorded as failed", async () => {
    app = await startTestApp();
    const res = await app.api("/api/call", { body: { to: "+15005550001", webhook_url: WEBHOOK } });
    expect(res.status).toBe(502);
    expect(res.body).toEqual({
      success: false,
      error: "Unable to create record: The 'To' number +15005550001 is not a valid phone number.",
    });
    expect(await app.ctx.store.countActive()).toBe(0);
  });

  test("the toll-fraud guard refuses what the numbering plan calls no ordinary number: 400, nothing dialled or stored", async () => {
    app = await startTestApp({ config: { calls: { allowed_destinations: ["+1", "+44"] } } });
    for (const [body, error] of [
      [
        { to: "+16005550100" },
        "'to' +16005550100 is not allowed: +1600 is a VoIP prefix (not tied to a place, and billed above a normal call); add \"+1600\" to calls.allowed_destinations to allow it",
      ],
      [
        { to: "+442071234567", transfer_to: "+447640123456" },
        "'transfer_to' +447640123456 is not allowed: +44764 is a pager prefix; add \"+44764\" to calls.allowed_destinations to allow it",
      ],
      [
        { to: "+119005550100" },
        "'to' +119005550100 is not allowed: it has a national prefix after the country code; in E.164 it is +19005550100",
      ],
    ] as const) {
      const res = await app.api("/api/call", { body: { ...body, webhook_url: WEBHOOK } });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ success: false, error });
    }
    expect(app.twilio.requests.filter((r) => r.path.endsWith("/Calls.json"))).toHaveLength(0);
    expect((await app.api("/api/calls")).body.calls).toEqual([]);
  });

  test("a range named in calls.allowed_destinations is dialled", async () => {
    app = await startTestApp({ config: { calls: { allowed_destinations: ["+1", "+1600"] } } });
    const res = await app.api("/api/call", { body: { to: "+16005550100", webhook_url: WEBHOOK } });
    expect(res.status).toBe(200);
    const create = app.twilio.requests.find((r) => r.path.endsWith("/Calls.json"))!;
    expect(create.form.get("To")).toBe("+16005550100");
  });

  test("Twilio unreachable: 503", async () => {
    const dead = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const deadUrl = dead.url.href.replace(/\/$/, "");
    await dead.stop(true);
    app = await startTestApp({ config: { twilio: { api_base_url: deadUrl, request_timeout_ms: 2000 } } });
    const res = await app.api("/api/call", { body: { to: "+1234567890", webhook_url: WEBHOOK } });
    expect(res.status).toBe(503);
    expect(res.body.success).toBe(false);
    expect(res.body.error).toStartWith("Unable to reach Twilio: ");
  });

  test("no Twilio credentials: 503 naming the missing variables", async () => {
    app = await startTestApp({ noTwilio: true });
    const res = await app.api("/api/call", { body: { to: "+1234567890", webhook_url: WEBHOOK } });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      success: false,
      error: "Twilio is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER",
    });
  });
});

describe("limits", () => {
  test("concurrent calls over calls.max_concurrent get 429", async () => {
    app = await startTestApp({ config: { calls: { max_concurrent: 2 } } });
    await app.call();
    await app.call();
    const res = await app.api("/api/call", { body: { to: "+1234567890", webhook_url: WEBHOOK } });
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ success: false, error: "Too many active calls: the limit is 2 (calls.max_concurrent)" });
  });

  test("POST /api/call is rate limited per client with Retry-After", async () => {
    app = await startTestApp({ config: { limits: { calls_per_minute: 2 } } });
    await app.call();
    await app.call();
    const res = await app.api("/api/call", { body: { to: "+1234567890", webhook_url: WEBHOOK } });
    expect(res.status).toBe(429);
    expect(res.body.error).toMatch(/^Rate limit exceeded: retry in \d+ s$/);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(app.twilio.requests.filter((r) => r.method === "POST")).toHaveLength(2);
  });
});

describe("GET /api/calls, GET /api/calls/{id}, /health", () => {
  test("lists active calls only, with the original API's fields", async () => {
    app = await startTestApp();
    const a = await app.call({ metadata: { n: 1 } });
    const b = await app.call();
    await app.twilio.sendStatus(b.sid, "busy");
    const res = await app.api("/api/calls");
    expect(res.body.count).toBe(1);
    expect(res.body.calls[0]).toMatchObject({
      call_id: a.id,
      to_number: "+15551230001",
      status: "queued",
      direction: "outbound",
      metadata: { n: 1 },
    });
  });

  test("an unknown id is 404 in the original API's shape", async () => {
    app = await startTestApp();
    const res = await app.api("/api/calls/00000000-0000-4000-8000-000000000000");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, error: "Call not found" });
  });

  test("unknown routes are 404 JSON", async () => {
    app = await startTestApp();
    const res = await app.api("/nope");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, error: "Not found" });
  });

  test("/health reports active calls, version, uptime, the instance and the database without auth", async () => {
    app = await startTestApp({ config: { server: { api_token: "t".repeat(32) } } });
    const res = await app.api("/health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "healthy",
      active_calls: 0,
      waiting_calls: 0,
      version: expect.any(String),
      uptime_s: expect.any(Number),
      instance_id: app.ctx.instanceId,
      database: "ok",
    });
  });
});

describe("auth", () => {
  const TOKEN = "s3cret-token-0123456789";

  test("with AGENTICAI_API_TOKEN set, /api/* needs the bearer token and nothing happens without it", async () => {
    app = await startTestApp({ config: { server: { api_token: TOKEN } } });
    for (const headers of [{}, { Authorization: "Bearer wrong" }, { Authorization: TOKEN }] as Record<
      string,
      string
    >[]) {
      const res = await app.api("/api/call", { body: { to: "+1234567890", webhook_url: WEBHOOK }, headers });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        success: false,
        error: "Unauthorized: send the header 'Authorization: Bearer <AGENTICAI_API_TOKEN>'",
      });
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
    }
    expect(app.twilio.requests).toHaveLength(0);
    const ok = await app.api("/api/calls", { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
  });

  test("without a token, a request forwarded by a local proxy is not treated as local", async () => {
    app = await startTestApp();
    expect((await app.api("/api/calls")).status).toBe(200);
    const res = await app.api("/api/calls", { headers: { "X-Forwarded-For": "203.0.113.9" } });
    expect(res.status).toBe(401);
    expect(res.body.error).toContain("AGENTICAI_API_TOKEN");
  });
});

describe("POST /api/call — webhook_url is a plain base URL", () => {
  test("a query, fragment or credentials are refused; a path prefix is fine", async () => {
    app = await startTestApp();
    for (const webhook_url of [
      "https://example.com/?a=1",
      "https://example.com/#x",
      "https://u:p@example.com",
      "https://example.com/?",
    ]) {
      const res = await app.api("/api/call", { body: { to: "+15551230001", webhook_url } });
      expect(res.status).toBe(400);
      expect(res.body.error).toStartWith("'webhook_url' must be a base URL without query, fragment or credentials");
    }
    const ok = await app.api("/api/call", { body: { to: "+15551230001", webhook_url: `${app.url}/agenticai` } });
    expect(ok.status).toBe(200);
  });
});
