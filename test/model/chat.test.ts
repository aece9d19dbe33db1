// Our Chat Completions request against the openai SDK's, on one real server on 127.0.0.1: the same request on the
// wire, the same answer read back, and the same message for every way the request can fail.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { accountHeaders, createChatCompletion } from "../../src/model/chat.ts";

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}
type Reply = { status: number; body: string; type?: string } | "hang";

const seen: Seen[] = [];
let reply: Reply = { status: 200, body: "{}" };
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      seen.push({ method: req.method, path: url.pathname, headers: req.headers.toJSON(), body: await req.text() });
      if (reply === "hang") return new Promise<Response>(() => {});
      const headers = reply.type === undefined ? undefined : { "content-type": reply.type };
      return new Response(reply.body, { status: reply.status, headers });
    },
  });
  base = server.url.href.replace(/\/$/, "");
});
afterAll(() => server.stop(true));

const request: ChatCompletionCreateParamsNonStreaming = {
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: 'Write the report.\n"quoted" & <tagged> ✓ 😀' },
    { role: "user", content: "Caller: Hi" },
  ],
  response_format: { type: "json_schema", json_schema: { name: "call_report", strict: true, schema: {} } },
};

const account = { organization: "org-123", project: "proj_456" };

function sdk(baseURL: string, opts: { timeout?: number; org?: boolean } = {}) {
  const { organization, project } = opts.org ? account : { organization: null, project: null };
  return new OpenAI({ apiKey: "sk-test", baseURL, maxRetries: 0, timeout: opts.timeout, organization, project });
}

/** What each side's request failed with, by message; "ok" and the answer when it did not. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await run() };
  } catch (err) {
    return { failed: (err as Error).message };
  }
}

async function both(opts: { timeout?: number; signal?: () => AbortSignal } = {}) {
  seen.length = 0;
  const theirs = await outcome(() =>
    sdk(`${base}/v1`, { timeout: opts.timeout }).chat.completions.create(request, { signal: opts.signal?.() }),
  );
  const ours = await outcome(() =>
    createChatCompletion(
      { apiKey: "sk-test", baseUrl: `${base}/v1`, timeoutMs: opts.timeout, signal: opts.signal?.() },
      request,
    ),
  );
  return { theirs, ours };
}

const SAME_HEADERS = ["accept", "authorization", "content-type", "openai-organization", "openai-project"];
const pick = (s: Seen) => ({
  method: s.method,
  path: s.path,
  body: s.body,
  headers: Object.fromEntries(SAME_HEADERS.map((h) => [h, s.headers[h] ?? null])),
});

describe("createChatCompletion against the openai SDK", () => {
  test("sends the same method, path, body and headers, with and without an account, whatever the base's slash", async () => {
    reply = { status: 200, body: "{}", type: "application/json" };
    for (const suffix of ["/v1", "/v1/", "/proxy/openai/v1"]) {
      for (const org of [false, true]) {
        seen.length = 0;
        await sdk(base + suffix, { org }).chat.completions.create(request);
        const headers = org ? accountHeaders(account) : {};
        await createChatCompletion({ apiKey: "sk-test", baseUrl: base + suffix, headers }, request);
        const [theirs, ours] = seen as [Seen, Seen];
        expect(seen).toHaveLength(2);
        expect(pick(ours)).toEqual(pick(theirs));
        expect(ours.path).toBe(`${suffix.replace(/\/$/, "")}/chat/completions`);
      }
    }
  });

  test("reads a JSON answer as the SDK does", async () => {
    const completion = {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: '{"a":1}', refusal: null }, finish_reason: "stop" }],
      usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 0 } },
    };
    for (const type of ["application/json", "application/json; charset=utf-8", "application/vnd.api+json"]) {
      reply = { status: 200, body: JSON.stringify(completion), type };
      const { theirs, ours } = await both();
      expect(ours).toEqual(theirs as object);
      expect(ours).toEqual({ ok: completion });
    }
  });

  const failures: [string, Reply][] = [
    [
      "an error message",
      { status: 400, body: '{"error":{"message":"Invalid schema","type":"x"}}', type: "application/json" },
    ],
    ["a message that is not text", { status: 401, body: '{"error":{"message":{"why":"key"}}}' }],
    ["an error without a message", { status: 404, body: '{"error":{"code":"model_not_found"}}' }],
    ["an error that is a string", { status: 429, body: '{"error":"slow down"}' }],
    ["JSON without an error", { status: 500, body: '{"detail":"x"}' }],
    ["a message but no error", { status: 500, body: '{"message":"top level"}' }],
    ["a null error", { status: 500, body: '{"error":null,"message":"m"}' }],
    ["an empty message", { status: 400, body: '{"error":{"message":"","code":"c"}}' }],
    ["a JSON string", { status: 500, body: '"oops"' }],
    ["a JSON array", { status: 500, body: "[1,2]" }],
    ["JSON null", { status: 502, body: "null" }],
    ["plain text", { status: 503, body: "upstream connect error", type: "text/plain" }],
    ["an empty body", { status: 500, body: "" }],
    ["HTML", { status: 504, body: "<html><body>Gateway Timeout</body></html>", type: "text/html" }],
    ["a redirect", { status: 302, body: "" }],
  ];
  for (const [name, r] of failures) {
    test(`fails with the SDK's message for a ${(r as { status: number }).status} with ${name}`, async () => {
      reply = r;
      const { theirs, ours } = await both();
      expect(ours).toEqual(theirs as object);
      expect(ours).toHaveProperty("failed");
    });
  }

  test("a server that does not answer in time: Request timed out.", async () => {
    reply = "hang";
    const { theirs, ours } = await both({ timeout: 150 });
    expect(ours).toEqual(theirs as object);
    expect(ours).toEqual({ failed: "Request timed out." });
  });

  test("the caller's signal: Request was aborted.", async () => {
    reply = "hang";
    const { theirs, ours } = await both({ signal: () => AbortSignal.timeout(100) });
    expect(ours).toEqual(theirs as object);
    expect(ours).toEqual({ failed: "Request was aborted." });
  });

  test("nobody listening: Connection error.", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const url = `${closed.url.href}v1`;
    await closed.stop(true);
    const theirs = await outcome(() => sdk(url).chat.completions.create(request));
    const ours = await outcome(() => createChatCompletion({ apiKey: "sk-test", baseUrl: url }, request));
    expect(ours).toEqual(theirs as object);
    expect(ours).toEqual({ failed: "Connection error." });
  });
});

describe("createChatCompletion on its own", () => {
  test("an answer that is not JSON, or is empty, is null (the SDK hands back the text, or nothing)", async () => {
    for (const r of [
      { status: 200, body: "ok", type: "text/plain" },
      { status: 200, body: "", type: "application/json" },
      { status: 204, body: "" },
    ]) {
      reply = r;
      expect(await createChatCompletion({ apiKey: "k", baseUrl: base }, request)).toBeNull();
    }
  });

  test("a 2xx that says JSON but is not fails as the SDK does", async () => {
    reply = { status: 200, body: "{not json", type: "application/json" };
    const { theirs, ours } = await both();
    expect(ours).toEqual(theirs as object);
    expect(ours).toHaveProperty("failed");
  });

  test("accountHeaders sends only what is set", () => {
    expect(accountHeaders({})).toEqual({});
    expect(accountHeaders({ project: "p" })).toEqual({ "OpenAI-Project": "p" });
    expect(accountHeaders(account)).toEqual({ "OpenAI-Organization": "org-123", "OpenAI-Project": "proj_456" });
  });
});
