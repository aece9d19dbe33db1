// The MCP tools through the official SDK's own clients, against `agenticai server --simulate` as a child process:
// Streamable HTTP at POST /mcp, and stdio through `agenticai mcp`, forwarding to the same server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallRequest, MISSING_TO, MISSING_WEBHOOK } from "../src/calls/request.ts";
import { jsonSchemaParams, z } from "../src/config/zod.ts";
import { WRONG_TOKEN } from "../src/http/auth.ts";
import { MAX_WAITS_PER_CLIENT } from "../src/http/mcp.ts";
import { recentTurns, TRANSCRIPT_CHARS } from "../src/mcp/tools.ts";
import { startTestApp } from "./support/app.ts";
import { childEnv, repoRoot, type ServerProcess, spawnSimulated } from "./support/process.ts";
import { until } from "./support/until.ts";

/** Polls the server a few times a second: each poll is a request against its rate limit. */
const poll = <T>(fn: () => Promise<T>, what: string, timeoutMs: number) => until(fn, what, timeoutMs, 100);

const TOKEN = "mcp-test-token-0123456789abcdef";
const TALKS_THEN_HANGS_UP = "+15550100004";
const SILENT = "+15550100006";

type Result = Awaited<ReturnType<Client["callTool"]>>;
const structured = (r: Result) => r.structuredContent as Record<string, any>;
const textOf = (r: Result) => (r.content as { type: string; text: string }[])[0]!.text;
/** A tool error's message: the API's `error`, in the API's error shape. */
function errorOf(r: Result): string {
  expect(r.isError).toBe(true);
  const body = JSON.parse(textOf(r));
  expect(body.success).toBe(false);
  return body.error;
}

const children = new Set<ServerProcess>();
let server: ServerProcess;
const clients: Client[] = [];

beforeAll(async () => {
  server = await spawnSimulated(children, { AGENTICAI_API_TOKEN: TOKEN });
}, 20_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  for (const c of children) {
    c.proc.kill("SIGKILL");
    await c.proc.exited;
  }
});

async function httpClient(token = TOKEN): Promise<Client> {
  const client = new Client({ name: "mcp-test", version: "1" });
  const headers = { Authorization: `Bearer ${token}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers } }));
  clients.push(client);
  // Listing the tools makes the SDK's client check every result's structuredContent against its outputSchema.
  await client.listTools();
  return client;
}

async function stdioClient(env: Record<string, string> = { AGENTICAI_API_TOKEN: TOKEN }): Promise<Client> {
  const client = new Client({ name: "mcp-test-stdio", version: "1" });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["src/main.ts", "mcp", "--url", server.url],
    cwd: repoRoot,
    env: childEnv(env),
    stderr: "pipe",
  });
  await client.connect(transport);
  clients.push(client);
  await client.listTools();
  return client;
}

const rest = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(server.url + path, {
    ...init,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
};
const callStatus = async (id: string) => (await rest(`/api/calls/${id}`)).body.status as string;

/** Places a call and waits with progress: what a model does after confirming the call with its user. */
async function placeAndWait(client: Client, to: string) {
  const placed = await client.callTool({ name: "place_call", arguments: { to, prompt: "Confirm tomorrow at ten." } });
  const id = structured(placed).call_id as string;
  const progress: string[] = [];
  const waited = await client.callTool(
    { name: "wait_for_call", arguments: { call_id: id, timeout_s: 120 } },
    undefined,
    {
      onprogress: (p) => progress.push(p.message ?? ""),
      timeout: 150_000,
    },
  );
  return { placed, id, progress, waited };
}

describe("MCP over Streamable HTTP (POST /mcp)", () => {
  test("tools/list: five tools, place_call's input schema is POST /api/call's, honest annotations", async () => {
    const { tools } = await (await httpClient()).listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(["end_call", "get_call", "list_calls", "place_call", "wait_for_call"]);
    const { $schema, ...apiSchema } = z.toJSONSchema(CallRequest, jsonSchemaParams("input")) as Record<string, unknown>;
    expect(byName.place_call!.inputSchema).toEqual(apiSchema as never);
    expect(byName.place_call!.inputSchema.required).toEqual(["to"]);
    for (const tool of tools) {
      expect(tool.description!.length).toBeGreaterThan(80);
      expect(tool.outputSchema?.type).toBe("object");
    }
    for (const name of ["get_call", "list_calls", "wait_for_call"]) {
      expect(byName[name]!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
    }
    expect(byName.place_call!.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
    expect(byName.end_call!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
  });

  test("place_call, then wait_for_call with progress until the report is stored; get_call and list_calls read it", async () => {
    const client = await httpClient();
    const { placed, id, progress, waited } = await placeAndWait(client, TALKS_THEN_HANGS_UP);
    expect(structured(placed)).toMatchObject({ success: true, to: TALKS_THEN_HANGS_UP, webhook_url: server.url });
    expect(structured(placed).call_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof structured(placed).status).toBe("string");
    expect(JSON.parse(textOf(placed))).toEqual(structured(placed));

    const result = structured(waited);
    expect(result).toMatchObject({ success: true, call_id: id, status: "completed", active: false, timed_out: false });
    expect(result.report.outcome).toBeString();
    expect(progress).toContain("status: in-progress");
    expect(progress).toContain("status: completed");
    expect(progress.some((line) => line.startsWith("Agent: Hi, it is Ava"))).toBe(true);

    // The report it returned is the one stored; each turn's text is the API's, verbatim.
    const detail = (await rest(`/api/calls/${id}`)).body;
    expect(result.report).toEqual(detail.report);
    expect(result.end_reason).toBe(detail.end_reason);
    const got = structured(await client.callTool({ name: "get_call", arguments: { call_id: id } }));
    expect(got.transcript).toEqual(detail.transcript);
    expect(got).toMatchObject({ success: true, call_id: id, status: "completed", duration_s: detail.duration_s });
    expect(got.transcript_note).toBeUndefined();
    const bare = structured(
      await client.callTool({ name: "get_call", arguments: { call_id: id, include_transcript: false } }),
    );
    expect(bare.transcript).toBeUndefined();
    expect(bare.report).toEqual(detail.report);

    const listed = structured(await client.callTool({ name: "list_calls", arguments: {} }));
    expect(listed.calls.map((c: { call_id: string }) => c.call_id)).toContain(id);
    const completed = structured(await client.callTool({ name: "list_calls", arguments: { status: "completed" } }));
    expect(completed.calls.every((c: { status: string }) => c.status === "completed")).toBe(true);
    expect(completed.calls.map((c: { call_id: string }) => c.call_id)).toContain(id);
    const ringing = structured(await client.callTool({ name: "list_calls", arguments: { status: "ringing" } }));
    expect(ringing.calls.map((c: { call_id: string }) => c.call_id)).not.toContain(id);
  }, 60_000);

  test("end_call ends a second call; ending it again succeeds and changes nothing", async () => {
    const client = await httpClient();
    const id = structured(await client.callTool({ name: "place_call", arguments: { to: SILENT } })).call_id;
    await poll(async () => (await callStatus(id)) === "in-progress", "the silent callee to answer", 10_000);
    const ended = await client.callTool({ name: "end_call", arguments: { call_id: id } });
    expect(structured(ended)).toMatchObject({
      success: true,
      call_id: id,
      status: "completed",
      end_reason: "ended_by_api",
      message: `Call ${id} ended`,
    });
    const again = structured(await client.callTool({ name: "end_call", arguments: { call_id: id } }));
    expect(again).toMatchObject({ success: true, status: "completed", end_reason: "ended_by_api" });
    expect((await rest(`/api/calls/${id}`)).body.active).toBe(false);
  }, 30_000);

  test("the API's errors come back as tool errors, word for word", async () => {
    const client = await httpClient();
    const call = (name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args });
    expect(errorOf(await call("place_call", {}))).toBe(MISSING_TO);
    expect(errorOf(await call("place_call", { to: "+15005550001" }))).toBe(
      "Unable to create record: The 'To' number +15005550001 is not a valid phone number.",
    );
    expect(errorOf(await call("place_call", { to: "+442071234567" }))).toStartWith(
      "'to' +442071234567 is not allowed: ",
    );
    expect(errorOf(await call("get_call", { call_id: "no-such-call" }))).toBe("Call not found");
    expect(errorOf(await call("end_call", { call_id: "no-such-call" }))).toBe("Call not found");
    expect(errorOf(await call("wait_for_call", { call_id: "no-such-call" }))).toBe("Call not found");
    expect(errorOf(await call("get_call", {}))).toBe("Missing 'call_id': pass the call_id place_call returned");
    expect(errorOf(await call("list_calls", { limit: 0 }))).toBe("'limit' must be a whole number from 1 to 100");
    expect(errorOf(await call("wait_for_call", { call_id: "x", timeout_s: 901 }))).toBe(
      "'timeout_s' must be a number of seconds from 1 to 900",
    );
    expect(errorOf(await call("dial", {}))).toStartWith("Unknown tool 'dial'");
  });

  test("a missing or wrong token is 401 before any JSON-RPC is read: no tool runs", async () => {
    const before = (await rest("/api/calls")).body.count;
    const placeCall = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "place_call", arguments: { to: SILENT } },
    });
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", ...headers },
        body,
      });
    for (const auth of [{}, { Authorization: "Bearer wrong-token-wrong-token" }] as Record<string, string>[]) {
      const res = await post(auth, placeCall);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      expect(await res.json()).toEqual({ success: false, error: WRONG_TOKEN });
    }
    // Refused before the body is read: past the size limit it is still the 401, not a 413.
    const huge = await post(
      { Authorization: "Bearer wrong" },
      placeCall.replace("}}}", `, "pad": "${"x".repeat(100_000)}"}}}`),
    );
    expect(huge.status).toBe(401);
    expect((await rest("/api/calls")).body.count).toBe(before);
    await expect(httpClient("wrong-token-wrong-token")).rejects.toThrow(/401|Unauthorized/);
  });

  test("wait_for_call that times out answers with the call as it is, timed_out: true", async () => {
    const client = await httpClient();
    const id = structured(await client.callTool({ name: "place_call", arguments: { to: SILENT } })).call_id;
    const waited = structured(
      await client.callTool({ name: "wait_for_call", arguments: { call_id: id, timeout_s: 1 } }),
    );
    expect(waited).toMatchObject({ success: true, call_id: id, active: true, report: null, timed_out: true });
    await client.callTool({ name: "end_call", arguments: { call_id: id } });
  }, 30_000);
});

/** A tools/call as a raw POST: its event stream stays open while the tool runs, and aborting it is the client leaving. */
function rawWait(id: string, n: number, signal?: AbortSignal) {
  return fetch(`${server.url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      Authorization: `Bearer ${TOKEN}`,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: n,
      method: "tools/call",
      params: { name: "wait_for_call", arguments: { call_id: id, timeout_s: 600 }, _meta: { progressToken: n } },
    }),
    signal,
  });
}

/** Reads the event stream until its first JSON-RPC message: a progress notification, or the tool's result. */
async function firstMessage(res: Response): Promise<Record<string, any>> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before a message: ${text}`);
    text += decoder.decode(value, { stream: true });
    const data = /^data: (.+)$/m.exec(text)?.[1];
    if (data) {
      reader.releaseLock();
      return JSON.parse(data);
    }
  }
}

describe("waits", () => {
  test(`a client that goes away stops its wait, not the call; at most ${MAX_WAITS_PER_CLIENT} waits per client`, async () => {
    const client = await httpClient();
    const id = structured(await client.callTool({ name: "place_call", arguments: { to: SILENT } })).call_id;
    await poll(async () => (await callStatus(id)) === "in-progress", "the silent callee to answer", 10_000);
    const aborts = Array.from({ length: MAX_WAITS_PER_CLIENT }, () => new AbortController());
    const waits = await Promise.all(aborts.map((a, i) => rawWait(id, i + 1, a.signal)));
    // Each wait has taken its place once its first progress notification (the status) has come.
    for (const res of waits) expect((await firstMessage(res)).method).toBe("notifications/progress");

    const refused = await client.callTool({ name: "wait_for_call", arguments: { call_id: id, timeout_s: 1 } });
    expect(errorOf(refused)).toBe(`Too many waits from this address: at most ${MAX_WAITS_PER_CLIENT} may run at once`);

    for (const a of aborts) a.abort();
    const after = await poll(
      async () => {
        const r = await client.callTool({ name: "wait_for_call", arguments: { call_id: id, timeout_s: 1 } });
        return r.isError ? null : structured(r);
      },
      "the aborted waits to give their places back",
      10_000,
    );
    expect(after).toMatchObject({ timed_out: true, active: true });
    expect(await callStatus(id)).toBe("in-progress");
    await client.callTool({ name: "end_call", arguments: { call_id: id } });
  }, 40_000);
});

describe("limits and configuration apply to /mcp as to /api/*", () => {
  test("limits.api_requests_per_minute, limits.calls_per_minute; webhook_url falls back as for POST /api/call", async () => {
    const app = await startTestApp({
      noBackground: true,
      config: { limits: { api_requests_per_minute: 5, calls_per_minute: 1 } },
    });
    try {
      const client = new Client({ name: "mcp-test", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`)));
      // No server.public_url here: the seed's error.
      expect(errorOf(await client.callTool({ name: "place_call", arguments: { to: "+15551230001" } }))).toBe(
        MISSING_WEBHOOK,
      );
      const first = await client.callTool({
        name: "place_call",
        arguments: { to: "+15551230001", webhook_url: app.url },
      });
      expect(structured(first).success).toBe(true);
      const second = await client.callTool({
        name: "place_call",
        arguments: { to: "+15551230001", webhook_url: app.url },
      });
      expect(errorOf(second)).toMatch(/^Rate limit exceeded: retry in \d+ s$/);
      await client.close();
      // Every POST to /mcp counts: connecting (initialize, initialized) and three tool calls used the 5.
      const res = await fetch(`${app.url}/mcp`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await res.json()) as { error: string }).error).toMatch(/^Rate limit exceeded: retry in \d+ s$/);
    } finally {
      await app.stop();
    }
  }, 20_000);

  test("GET /mcp is 405 (each tool's progress rides on its own POST), in the API's error shape", async () => {
    const res = await fetch(`${server.url}/mcp`, {
      headers: { Accept: "text/event-stream", Authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(((await res.json()) as { success: boolean }).success).toBe(false);
  });

  test("a malformed MCP request is refused in the API's error shape", async () => {
    const post = (accept: string, body: string) =>
      fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: accept, Authorization: `Bearer ${TOKEN}` },
        body,
      });
    const notAccepted = await post("application/json", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
    expect(notAccepted.status).toBe(406);
    expect(((await notAccepted.json()) as { success: boolean }).success).toBe(false);
    const notJsonRpc = await post("application/json, text/event-stream", JSON.stringify({ hello: 1 }));
    expect(notJsonRpc.status).toBe(400);
    expect((await notJsonRpc.json()) as object).toMatchObject({
      success: false,
      error: expect.stringContaining("JSON-RPC"),
    });
    const tooDeep = await post("application/json, text/event-stream", `${"[".repeat(40)}${"]".repeat(40)}`);
    expect(tooDeep.status).toBe(400);
    expect(((await tooDeep.json()) as { error: string }).error).toBe(
      "Request body nests too deeply: at most 34 levels",
    );
    const tooLarge = await post("application/json, text/event-stream", JSON.stringify({ pad: "x".repeat(65_536) }));
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { error: string }).error).toBe(
      "Request body too large: the limit is 65536 bytes",
    );
  });
});

describe("MCP over stdio (agenticai mcp)", () => {
  test("the same tools, forwarded to the server: place a call, wait with progress, read its report", async () => {
    const client = await stdioClient();
    const viaHttp = await (await httpClient()).listTools();
    expect((await client.listTools()).tools).toEqual(viaHttp.tools);

    const { id, progress, waited } = await placeAndWait(client, TALKS_THEN_HANGS_UP);
    expect(structured(waited)).toMatchObject({ success: true, call_id: id, status: "completed", timed_out: false });
    expect(progress).toContain("status: in-progress");
    expect(progress.some((line) => line.startsWith("Agent: "))).toBe(true);
    const got = structured(await client.callTool({ name: "get_call", arguments: { call_id: id } }));
    expect(got.report).toEqual((await rest(`/api/calls/${id}`)).body.report);
    expect(errorOf(await client.callTool({ name: "place_call", arguments: {} }))).toBe(MISSING_TO);
  }, 60_000);

  test("a wrong token: each tool call is a tool error carrying the server's refusal", async () => {
    const client = await stdioClient({ AGENTICAI_API_TOKEN: "wrong-token-wrong-token" });
    const refused = errorOf(await client.callTool({ name: "list_calls", arguments: {} }));
    expect(refused).toBe(`The agenticai server at ${server.url} gave no result: ${WRONG_TOKEN}`);
  }, 20_000);

  test("stdout carries MCP and nothing else; the log goes to stderr; closing stdin ends it", async () => {
    const proc = Bun.spawn([process.execPath, "src/main.ts", "mcp", "--url", server.url], {
      cwd: repoRoot,
      env: childEnv({ AGENTICAI_API_TOKEN: TOKEN }),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const lines = [
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "tools/list" },
    ];
    proc.stdin.write(`${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
    await proc.stdin.flush();
    // Closing stdin before the answers are written would drop them: wait for the tools first.
    const reader = proc.stdout.getReader();
    const decoder = new TextDecoder();
    let out = "";
    while (!out.includes('"id":2')) out += decoder.decode((await reader.read()).value, { stream: true });
    await proc.stdin.end();
    const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) out += decoder.decode(chunk.value);
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    clearTimeout(killer);
    const messages = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(messages.every((m) => m.jsonrpc === "2.0")).toBe(true);
    expect(messages.map((m) => m.id)).toEqual([1, 2]);
    expect(messages[1].result.tools).toHaveLength(5);
    expect(code).toBe(0);
    expect(JSON.parse(stderr.trim().split("\n")[0]!).msg).toContain("MCP over stdio");
  }, 20_000);
});

describe("get_call's transcript", () => {
  const turn = (n: number, length: number) => ({
    role: "caller" as const,
    text: String(n).padEnd(length, "x"),
    at: new Date(n * 1000).toISOString(),
    interrupted: false,
  });

  test(`a transcript within ${TRANSCRIPT_CHARS} characters is given whole, with no note`, () => {
    const turns = [turn(1, 6000), turn(2, 6000)];
    expect(recentTurns(turns)).toEqual({ transcript: turns });
  });

  test("a longer one keeps its newest whole turns within the limit, each verbatim, and says what it left out", () => {
    const turns = [turn(1, 5000), turn(2, 5000), turn(3, 4000), turn(4, 3000)];
    expect(recentTurns(turns)).toEqual({
      transcript: turns.slice(1),
      transcript_note: `The transcript is longer than ${TRANSCRIPT_CHARS} characters: its first turn (5000 characters) is left out here; GET /api/calls/{id} has every turn.`,
    });
    expect(recentTurns([turn(1, 9000), ...turns]).transcript_note).toContain(
      "its first 2 turns (14000 characters) are",
    );
  });
});
