// The `mcp` surface: JSON-RPC messages to POST /mcp, mostly tools/call with wrong, odd or valid arguments for each
// tool, besides other methods, notifications, batches and plain JSON. Nothing may be a 5xx; a refusal of the request
// is `{success:false, error}`; an answered request's event stream holds JSON-RPC messages, and a tool that refuses
// its arguments answers a tool error in the API's error shape. A call placed is ended, so thousands of cases leave
// no pile of live calls behind.
import fc from "fast-check";
import { TOOL_NAMES } from "../../src/mcp/tools.ts";
import { bump, errorShape, type FuzzEnv, jsonText, oddText, runSurface, type Surface } from "./harness.ts";

const wrong = () => fc.oneof(fc.anything({ maxDepth: 3 }), oddText(), fc.double(), fc.boolean(), fc.constant(null));
const FIELDS = ["to", "prompt", "webhook_url", "metadata", "call_id", "include_transcript", "status", "limit"];

const argumentsFor = (url: string) =>
  fc.oneof(
    fc.dictionary(fc.constantFrom(...FIELDS, "timeout_s", "retry", "__proto__"), wrong(), { maxKeys: 5 }),
    fc.record(
      {
        to: fc.oneof(fc.constantFrom("+15551230001", "+15005550001", "+442071234567", "+1"), wrong()),
        webhook_url: fc.oneof(fc.constant(url), wrong()),
        call_id: fc.oneof(fc.uuid(), wrong()),
        // A wait is cut short: a fuzzed call_id never names a call that would keep it open.
        timeout_s: fc.oneof(fc.constantFrom(0, 1, 1.5, 901), wrong()),
        status: fc.oneof(fc.constantFrom("in-progress", "completed", "nope"), wrong()),
        limit: fc.oneof(fc.integer({ min: -5, max: 200 }), wrong()),
      },
      { requiredKeys: [] },
    ),
    wrong(),
  );

const toolCall = (url: string) =>
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: fc.oneof(fc.nat(), fc.string({ maxLength: 8 })),
    method: fc.constant("tools/call"),
    params: fc.record(
      {
        name: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...TOOL_NAMES) }, { weight: 1, arbitrary: oddText() }),
        arguments: argumentsFor(url),
        _meta: fc.record({ progressToken: fc.oneof(fc.nat(), fc.string({ maxLength: 8 })) }),
      },
      { requiredKeys: ["name"] },
    ),
  });

const otherMessage = () =>
  fc.record(
    {
      jsonrpc: fc.oneof({ weight: 4, arbitrary: fc.constant("2.0") }, { weight: 1, arbitrary: wrong() }),
      id: fc.oneof(fc.nat(), wrong()),
      method: fc.oneof(fc.constantFrom("initialize", "tools/list", "ping", "notifications/cancelled"), oddText()),
      params: wrong(),
    },
    { requiredKeys: ["method"] },
  );

const mcpBody = (url: string) =>
  fc.oneof(
    { weight: 6, arbitrary: toolCall(url).map((m) => JSON.stringify(m)) },
    { weight: 2, arbitrary: otherMessage().map((m) => JSON.stringify(m)) },
    {
      weight: 1,
      arbitrary: fc.array(fc.oneof(toolCall(url), otherMessage()), { maxLength: 3 }).map((m) => JSON.stringify(m)),
    },
    { weight: 1, arbitrary: jsonText() },
  );

/** The JSON-RPC messages of an answered request's event stream, or why the stream is not one. */
function sseMessages(text: string): unknown[] | string {
  const data = text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => line.slice(6));
  try {
    return data.map((d) => JSON.parse(d));
  } catch {
    return `event stream data is not JSON: ${text.slice(0, 200)}`;
  }
}

type Message = { id?: unknown; result?: { isError?: boolean; content?: { text?: string }[]; structuredContent?: any } };

/** A tool error is the API's error shape; a call a case placed is ended at once. */
async function checkMessage(env: FuzzEnv, m: Message): Promise<string | null> {
  const result = m.result;
  if (result?.isError) return errorShape(200, result.content?.[0]?.text ?? "");
  const placed = result?.structuredContent?.to ? result.structuredContent.call_id : undefined;
  if (typeof placed === "string")
    await (await fetch(`${env.app.url}/api/calls/${placed}/end`, { method: "POST" })).text();
  return null;
}

async function check(env: FuzzEnv, body: string, classes: Record<string, number>): Promise<string | null> {
  const res = await fetch(`${env.app.url}/mcp`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body,
  });
  const text = await res.text();
  bump(classes, String(res.status));
  if (res.status >= 500) return `${res.status} ${text.slice(0, 200)} for ${body.slice(0, 200)}`;
  if (res.status >= 300) return errorShape(res.status, text);
  if (res.status === 202) return null;
  const messages = sseMessages(text);
  if (typeof messages === "string") return messages;
  for (const m of messages as Message[]) {
    const problem = await checkMessage(env, m);
    if (problem) return `${problem} for ${body.slice(0, 200)}`;
  }
  return null;
}

export const mcp: Surface = {
  name: "mcp",
  run: (env, runs, seed) =>
    runSurface(env, "mcp", { runs, seed }, mcpBody(env.app.url), (body, classes) => check(env, body, classes)),
};
