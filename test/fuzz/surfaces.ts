// Property-based fuzzing of every input surface, shared by test/fuzz/fuzz.test.ts (a few hundred cases)
// and bench/fuzz.ts (10 000+): per surface an arbitrary and an async property, run against the real
// server (startTestApp) by harness.ts, which also measures /health latency alongside.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { type ModelHandlers, readModelEvent } from "../../src/model/realtime.ts";
import { readTwilioMessage, type TwilioHandlers } from "../../src/twilio/media.ts";
import { computeSignature, type FormParams } from "../../src/twilio/signature.ts";
import { CALL_STATUSES } from "../../src/twilio/status.ts";
import { callbackHosts } from "./callback-hosts.ts";
import { contentTypes } from "./content-types.ts";
import {
  anyString,
  bigText,
  bump,
  errorShape,
  type FuzzEnv,
  jsonText,
  oddText,
  runSurface,
  type Surface,
  statusClass,
} from "./harness.ts";
import { mcp } from "./mcp.ts";

export { type FuzzEnv, percentile, type Surface, startFuzzEnv, type Tally } from "./harness.ts";

// ── api ─────────────────────────────────────────────────────────────────────────────────────────

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;
const segment = () =>
  fc.oneof(
    fc.constantFrom("calls", "call", "events", "end", "transcript", "retry", "..", ".", "%2e%2e", "%00", "%ff", "%"),
    fc.uuid(),
    anyString(20).map(encodeURIComponent),
    fc.stringMatching(/^[a-zA-Z0-9._~!$&'()*+,;=:@-]{1,30}$/),
    fc.integer({ min: 100, max: 9000 }).map((n) => "a".repeat(n)),
  );
const apiPath = () =>
  fc.oneof(
    fc.constantFrom("/api/call", "/api/calls", "/api/events", "/api/events?status=failed&limit=9999", "/health"),
    fc
      .tuple(
        fc.constantFrom("/api/calls/", "/api/events/"),
        segment(),
        fc.constantFrom("", "/end", "/transcript", "/retry"),
      )
      .map((p) => p.join("")),
    fc.array(segment(), { minLength: 1, maxLength: 6 }).map((s) => `/api/${s.join("/")}`),
    fc
      .tuple(fc.constantFrom("/api/events?", "/api/calls?"), anyString(30).map(encodeURIComponent))
      .map((p) => p.join("status=")),
  );
/** A wrong value of any type for a field of POST /api/call. */
const wrong = () => fc.oneof(fc.anything({ maxDepth: 3 }), oddText(), fc.double(), fc.boolean(), fc.constant(null));
const schemaLike = () =>
  fc.oneof(
    wrong(),
    fc.record(
      {
        type: fc.constantFrom("object", "array", "string", 1),
        properties: fc.dictionary(fc.string(), fc.anything({ maxDepth: 2 })),
      },
      { requiredKeys: [] },
    ),
    fc.constantFrom(
      { $ref: "#" },
      { type: "object", allOf: [] },
      { type: "object", additionalProperties: true },
      { type: "object", patternProperties: {} },
    ),
  );
const callBody = () =>
  fc
    .record(
      {
        to: fc.oneof(fc.constantFrom("+15551230001", "+1", "+1234567890123456", "15551230001"), wrong()),
        prompt: fc.oneof(fc.string(), wrong(), fc.constant("p".repeat(32_001))),
        webhook_url: fc.oneof(
          fc.webUrl(),
          fc.constantFrom("https://u:p@x.io", "ftp://x", "http://x/?q#f", "https://calls.example.com/base/"),
          wrong(),
        ),
        metadata: fc.oneof(fc.object(), wrong(), fc.constant({ big: "m".repeat(17 * 1024) })),
        report_schema: schemaLike(),
        callback_url: fc.oneof(fc.webUrl(), fc.constantFrom("https://u:p@x.io", "javascript:1"), wrong()),
        notify: fc.oneof(fc.boolean(), wrong()),
        __proto__: fc.anything({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    )
    .map((b) => JSON.stringify(b));
const apiBody = () =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: jsonText() },
    { weight: 4, arbitrary: callBody() },
    { weight: 1, arbitrary: bigText() },
    { weight: 1, arbitrary: anyString(200) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  );
const apiCase = () =>
  fc.record({
    method: fc.constantFrom(...METHODS),
    path: apiPath(),
    body: apiBody(),
    contentType: fc.constantFrom(
      "application/json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "",
      "application/json; charset=latin1",
    ),
  });

const api: Surface = {
  name: "api",
  run: (env, runs, seed) =>
    runSurface(env, "api", { runs, seed }, apiCase(), async (c, classes) => {
      const canHaveBody = c.method !== "GET" && c.method !== "HEAD";
      const headers: Record<string, string> = c.contentType ? { "Content-Type": c.contentType } : {};
      const res = await fetch(env.app.url + c.path, {
        method: c.method,
        headers,
        body: canHaveBody ? c.body : undefined,
      });
      const text = await res.text();
      // Known, outside src/http: Bun refuses a request line + headers over 16 KiB with a bare 431 before any handler.
      const bare431 = res.status === 431 && text === "" && c.path.length > 16_000;
      bump(classes, bare431 ? "431 (Bun, bare)" : statusClass(res.status));
      if (bare431) return null;
      if (res.status >= 500) return `${c.method} ${c.path.slice(0, 200)}: ${res.status} ${text.slice(0, 200)}`;
      if (res.status < 300 || res.status === 204 || c.method === "HEAD") return null;
      return errorShape(res.status, text);
    }),
};

// ── webhooks ────────────────────────────────────────────────────────────────────────────────────

const counter = () =>
  fc.oneof(
    fc.nat().map(String),
    fc.integer().map(String),
    fc.double().map(String),
    oddText(),
    fc.constantFrom("1e309", "0x10", "９", " 3", "999999999999999999999"),
  );
const webhookPairs = (sids: string[], accountSid: string) =>
  fc.array(
    fc.oneof(
      fc.tuple(fc.constant("CallSid"), fc.oneof(fc.constantFrom(...sids), oddText())),
      fc.tuple(fc.constant("AccountSid"), fc.oneof(fc.constant(accountSid), oddText())),
      fc.tuple(fc.constant("CallStatus"), fc.oneof(fc.constantFrom(...CALL_STATUSES), oddText())),
      fc.tuple(fc.constantFrom("SequenceNumber", "CallDuration"), counter()),
      fc.tuple(fc.constantFrom("Direction", "From", "To", "Timestamp", "ErrorCode", "AnsweredBy"), oddText()),
      fc.tuple(anyString(12), anyString(60)),
    ),
    { maxLength: 14 },
  );
const webhookCase = (sids: string[], accountSid: string) =>
  fc.record({
    path: fc.constantFrom("/twilio/status", "/twilio/voice"),
    query: fc.oneof(
      fc.constant(""),
      anyString(20).map((q) => `?${encodeURIComponent(q)}=1`),
    ),
    base: fc.record(
      {
        CallSid: fc.constantFrom(...sids),
        AccountSid: fc.constant(accountSid),
        CallStatus: fc.constantFrom(...CALL_STATUSES),
      },
      { requiredKeys: [] },
    ),
    pairs: webhookPairs(sids, accountSid),
    signing: fc.constantFrom("signed", "signed", "signed", "none", "garbage"),
    raw: fc.oneof(
      { weight: 9, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.oneof(anyString(300), bigText()) },
    ),
  });

function formOf(pairs: [string, string][]): { body: string; params: FormParams } {
  const search = new URLSearchParams(pairs);
  const params: FormParams = {};
  for (const [k, v] of search) {
    const prev = params[k];
    params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { body: search.toString(), params };
}

async function sendWebhook(env: FuzzEnv, c: ReturnType<typeof webhookCase> extends fc.Arbitrary<infer T> ? T : never) {
  const { body, params } =
    c.raw !== null ? { body: c.raw, params: {} } : formOf([...Object.entries(c.base), ...c.pairs]);
  const url = env.app.url + c.path + c.query;
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
  if (c.signing === "signed") headers["X-Twilio-Signature"] = computeSignature(env.app.twilio.authToken, url, params);
  if (c.signing === "garbage") headers["X-Twilio-Signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const res = await fetch(url, { method: "POST", headers, body });
  return { res, text: await res.text() };
}

const JSON_ERRORS = new Set([400, 403, 404, 405, 413, 429]);

async function liveCallSids(env: FuzzEnv, n: number): Promise<string[]> {
  const sids: string[] = [];
  for (let i = 0; i < n; i++) sids.push((await env.app.call()).sid);
  return sids;
}

const webhooks: Surface = {
  name: "webhooks",
  run: async (env, runs, seed) => {
    const sids = [...(await liveCallSids(env, 8)), "CA00000000000000000000000000000000"];
    const arb = webhookCase(sids, env.app.twilio.accountSid);
    return runSurface(env, "webhooks", { runs, seed }, arb, async (c, classes) => {
      const { res, text } = await sendWebhook(env, c);
      bump(classes, statusClass(res.status));
      const where = `${c.path} ${c.signing}: ${res.status} ${text.slice(0, 200)}`;
      if (res.status >= 500) return where;
      if (JSON_ERRORS.has(res.status)) return errorShape(res.status, text);
      if (res.status !== 200 && res.status !== 204) return `unexpected ${where}`;
      if (res.status === 200 && !(res.headers.get("content-type") ?? "").startsWith("text/xml"))
        return `not TwiML: ${where}`;
      if (res.status === 200 && !text.startsWith("<?xml")) return `not XML: ${where}`;
      return null;
    });
  },
};

// ── media ───────────────────────────────────────────────────────────────────────────────────────

const SID = `MZ${"0".repeat(32)}`;
const validMessage = () =>
  fc.oneof(
    fc
      .base64String({ maxLength: 400 })
      .map(
        (p) =>
          `{"event":"media","streamSid":"${SID}","media":{"track":"inbound","chunk":"1","timestamp":"20","payload":"${p}"}}`,
      ),
    anyString(12).map((n) => JSON.stringify({ event: "mark", streamSid: SID, mark: { name: n } })),
    fc
      .constantFrom(..."0123456789*#ABCDxy".split(""))
      .map((d) => JSON.stringify({ event: "dtmf", streamSid: SID, dtmf: { digit: d } })),
    fc.constant(JSON.stringify({ event: "stop", streamSid: SID, stop: {} })),
    fc.constant('{"event":"connected","protocol":"Call","version":"1.0.0"}'),
  );
/** Valid messages cut, spliced and retyped, plus garbage. */
const fuzzedMessage = () =>
  fc.oneof(
    validMessage(),
    fc
      .tuple(validMessage(), fc.nat(), fc.nat())
      .map(([m, a, b]) => m.slice(Math.min(a, b) % (m.length + 1), Math.max(a, b) % (m.length + 1))),
    fc
      .tuple(validMessage(), anyString(8), fc.nat())
      .map(([m, s, i]) => m.slice(0, i % m.length) + s + m.slice(i % m.length)),
    fc
      .tuple(
        fc.constantFrom("media", "mark", "dtmf", "stop", "start", "connected", 1, null),
        fc.anything({ maxDepth: 3 }),
      )
      .map(([event, rest]) =>
        JSON.stringify({
          event,
          ...(typeof rest === "object" && rest !== null ? rest : { x: rest }),
          media: rest,
          mark: rest,
          start: rest,
        }),
      ),
    fc.constantFrom(
      '{"event":"media","payload":"',
      '{"event":"mark","name":"\\',
      '{"timestamp":"99999999999999999999999"}',
      '"event":"media"',
    ),
    jsonText(),
    anyString(200),
    fc.uint8Array({ maxLength: 200 }),
    fc
      .integer({ min: 60 * 1024, max: 70 * 1024 })
      .map((n) => `{"event":"media","media":{"payload":"${"A".repeat(n)}"}}`),
  );
const mediaCase = () =>
  fc.record({
    mode: fc.constantFrom("garbage", "started", "pure"),
    messages: fc.array(fuzzedMessage(), { minLength: 1, maxLength: 12 }),
  });

const nop = () => {};
const endCall = async (env: FuzzEnv, id: string) => {
  const res = await fetch(`${env.app.url}/api/calls/${id}/end`, { method: "POST" });
  await res.text();
};
const twilioHandlers: TwilioHandlers = { media: nop, mark: nop, start: nop, dtmf: nop, stop: nop, invalid: nop };

function openRawSocket(env: FuzzEnv): Promise<WebSocket> {
  const url = `${env.app.url.replace(/^http/, "ws")}/twilio/media-stream`;
  const ws = new WebSocket(url, { headers: { "X-Twilio-Signature": env.app.twilio.sign(url, {}) } });
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("media upgrade failed"));
  });
}

async function mediaCaseRun(
  env: FuzzEnv,
  c: { mode: string; messages: (string | Uint8Array)[] },
): Promise<string | null> {
  if (c.mode === "pure") {
    for (const m of c.messages) if (typeof m === "string") readTwilioMessage(m, twilioHandlers);
    return null;
  }
  if (c.mode === "garbage") {
    const ws = await openRawSocket(env);
    for (const m of c.messages) if (ws.readyState === WebSocket.OPEN) ws.send(m);
    ws.close();
  } else {
    const { id, sid } = await env.app.call();
    const line = await env.app.answer(sid, { instantPlayback: true });
    for (const m of c.messages) if (line.isOpen()) line.sendRaw(m);
    line.close();
    await endCall(env, id);
  }
  const res = await fetch(`${env.app.url}/health`);
  return res.status === 200 ? null : `/health answered ${res.status} after ${c.mode}`;
}

const media: Surface = {
  name: "media",
  run: (env, runs, seed) =>
    runSurface(env, "media", { runs, seed }, mediaCase(), async (c, classes) => {
      bump(classes, c.mode);
      return mediaCaseRun(env, c);
    }),
};

// ── model events ────────────────────────────────────────────────────────────────────────────────

const EVENT_TYPES = [
  "session.updated",
  "input_audio_buffer.speech_started",
  "input_audio_buffer.speech_stopped",
  "conversation.item.input_audio_transcription.completed",
  "conversation.item.input_audio_transcription.failed",
  "response.output_audio_transcript.done",
  "response.output_audio_transcript.delta",
  "response.created",
  "response.function_call_arguments.done",
  "response.done",
  "response.output_audio.delta",
  "error",
];
const modelEvent = () =>
  fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...EVENT_TYPES),
        fc.dictionary(
          fc.constantFrom(
            "response",
            "item_id",
            "response_id",
            "delta",
            "error",
            "transcript",
            "call_id",
            "name",
            "arguments",
            "usage",
            "event_id",
          ),
          fc.anything({ maxDepth: 3 }),
        ),
      )
      .map(([type, rest]) => JSON.stringify({ type, ...rest })),
    fc
      .tuple(fc.constantFrom(...EVENT_TYPES), fc.anything({ maxDepth: 3 }))
      .map(([type, v]) => JSON.stringify({ type, response: v, error: v, item_id: v, transcript: v })),
    fc
      .base64String({ maxLength: 200 })
      .map(
        (d) =>
          `{"type":"response.output_audio.delta","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"${d}"}`,
      ),
    fc.constantFrom(
      "null",
      "1",
      '"x"',
      "[]",
      "{}",
      '{"type":null}',
      '{"type":"response.done"}',
      '{"type":"error"}',
      '{"type":"response.created","response":null}',
      '{"type":"__proto__"}',
      '{"type":"constructor"}',
      '{"type":"toString"}',
    ),
    jsonText(),
    anyString(200),
  );
const modelCase = () =>
  fc.record({ live: fc.boolean(), events: fc.array(modelEvent(), { minLength: 1, maxLength: 10 }) });

const modelHandlers: ModelHandlers = { audioDelta: nop, event: nop, malformed: nop };

async function liveModelCase(env: FuzzEnv, events: string[]): Promise<string | null> {
  env.model.scripts.push(events);
  const { id, sid } = await env.app.call();
  const line = await env.app.answer(sid, { instantPlayback: true });
  await Bun.sleep(5);
  line.close();
  await endCall(env, id);
  const res = await fetch(`${env.app.url}/health`);
  return res.status === 200 ? null : `/health answered ${res.status}`;
}

const model: Surface = {
  name: "model",
  run: async (env, runs, seed) => {
    const saved = env.app.ctx.config.openai.base_url;
    env.app.ctx.config.openai.base_url = env.model.url;
    try {
      return await runSurface(env, "model", { runs, seed }, modelCase(), async (c, classes) => {
        for (const e of c.events) readModelEvent(e, modelHandlers);
        bump(classes, c.live ? "live" : "pure");
        return c.live ? liveModelCase(env, c.events) : null;
      });
    } finally {
      env.app.ctx.config.openai.base_url = saved;
    }
  },
};

// ── config ──────────────────────────────────────────────────────────────────────────────────────

const SECTIONS = [
  "server",
  "twilio",
  "openai",
  "agent",
  "audio",
  "events",
  "integrations",
  "limits",
  "report",
  "calls",
];
const KEYS = [
  "port",
  "host",
  "public_url",
  "api_token",
  "data_dir",
  "auth_token",
  "account_sid",
  "base_url",
  "model",
  "vad",
  "type",
  "threshold",
  "format",
  "url",
  "secret",
  "openclaw",
  "max_duration_s",
  "max_concurrent",
  "api_requests_per_minute",
  "allowed_origins",
  "transcript",
  "x",
];
const scalar = () =>
  fc.oneof(
    fc.anything({ maxDepth: 2 }),
    fc.integer(),
    fc.boolean(),
    fc.webUrl(),
    fc.string(),
    fc.constantFrom(
      "${PORT}",
      "${PORT:8080}",
      "${X:}",
      "${:}",
      "${A:${B}}",
      "$${X}",
      "${1X}",
      "${X:false}",
      "${X:0x1F}",
      "${X:.inf}",
      "${X:~}",
    ),
  );
const configTree = () =>
  fc.oneof(
    fc.object(),
    fc
      .array(fc.tuple(fc.constantFrom(...SECTIONS), fc.constantFrom(...KEYS), scalar()), { maxLength: 8 })
      .map((entries) => {
        const tree: Record<string, Record<string, unknown>> = {};
        for (const [s, k, v] of entries) tree[s] = { ...tree[s], [k]: v };
        return tree;
      }),
    fc.anything(),
  );
const ENV_NAMES = [
  "PORT",
  "HOST",
  "AGENTICAI_API_TOKEN",
  "AGENTICAI_ALLOWED_ORIGINS",
  "OPENAI_BASE_URL",
  "AGENTICAI_AUDIO_FORMAT",
  "AGENTICAI_EVENTS_URL",
  "NGROK_URL",
  "AGENTICAI_WEBHOOK_URL",
  "OPENCLAW_GATEWAY_URL",
  "X",
  "B",
];
const configCase = () =>
  fc.record({
    text: fc.oneof(
      configTree().map((t) => JSON.stringify(t) ?? ""),
      configTree().map((t) => Bun.YAML.stringify(t) ?? ""),
      anyString(300),
      fc.constantFrom(
        "a: [",
        "? x",
        "*alias",
        "&a [*a]",
        "a: !!binary x",
        "--- a\n--- b",
        "a: 1\na: 2",
        "\t- x",
        "server: {port: 99999}",
      ),
    ),
    env: fc.dictionary(
      fc.constantFrom(...ENV_NAMES),
      fc.oneof(oddText(), fc.constantFrom("0", "65536", "pcm", "8080")),
    ),
  });

const config: Surface = {
  name: "config",
  run: (env, runs, seed) => {
    const dir = mkdtempSync(join(tmpdir(), "agenticai-fuzz-config-"));
    const path = join(dir, "config.yaml");
    return runSurface(env, "config", { runs, seed }, configCase(), async (c, classes) => {
      writeFileSync(path, c.text);
      try {
        loadConfig({ path, env: c.env });
        bump(classes, "loaded");
        return null;
      } catch (e) {
        bump(classes, "ConfigError");
        if (!(e instanceof ConfigError))
          return `not a ConfigError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
        return e.message.startsWith("config") ? null : `message does not start with "config": ${e.message}`;
      }
    }).finally(() => rmSync(dir, { recursive: true, force: true }));
  },
};

// ── report_schema patterns ──────────────────────────────────────────────────────────────────────

const HOSTILE_PATTERNS = [
  "(",
  "[",
  "\\@",
  "a{2,1}",
  "\\1(a)",
  "^(?:[^g]*[^g]*)+@",
  "(a+)+$",
  "(x+x+)+y",
  "^(\\w+\\s?)*$",
  "(?<n>a)\\k<n>",
  "\\p{Lu}+",
  "\\p{Nope}",
  "x".repeat(1_000),
  "x".repeat(1_001),
];
const patternLike = () =>
  fc.oneof(
    fc.constantFrom(...HOSTILE_PATTERNS),
    fc.stringMatching(/^[\^$.*+?()[\]{}|\\a-z0-9:<>=!-]{0,40}$/),
    anyString(40),
    fc.oneof(fc.integer(), fc.constant(null), fc.boolean()),
  );

/** What the API must answer: the pattern's own problem when it has one, else the notify field's. */
function expectedProblem(pattern: unknown): string {
  const path = "'report_schema.properties.f.pattern'";
  if (typeof pattern !== "string") return `${path} must be a string`;
  if (pattern.length > 1_000) return `${path} must be at most 1000 characters`;
  try {
    new RegExp(pattern, "u");
  } catch {
    return `${path} is not a valid regular expression`;
  }
  return "'notify' must be true or false";
}

// Every case is refused (notify is wrong too), so no call is placed: the surface is the schema check alone,
// and /health is measured beside it as everywhere else.
const patterns: Surface = {
  name: "report_schema patterns",
  run: (env, runs, seed) =>
    runSurface(env, "report_schema patterns", { runs, seed }, patternLike(), async (pattern, classes) => {
      const body = {
        to: "+15551230001",
        report_schema: { type: "object", properties: { f: { type: "string", pattern } }, required: ["f"] },
        notify: "maybe",
      };
      const res = await fetch(`${env.app.url}/api/call`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      bump(classes, statusClass(res.status));
      const expected = expectedProblem(pattern);
      if (res.status !== 400) return `${JSON.stringify(pattern).slice(0, 80)}: ${res.status} ${text.slice(0, 200)}`;
      const error = (JSON.parse(text) as { error: string }).error;
      return error.startsWith(expected)
        ? null
        : `${JSON.stringify(pattern).slice(0, 80)}: "${error}", not "${expected}"`;
    }),
};

export const SURFACES: Surface[] = [api, webhooks, media, model, config, contentTypes, patterns, callbackHosts, mcp];
