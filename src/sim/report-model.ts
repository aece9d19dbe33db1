// A stand-in for OpenAI's POST /v1/chat/completions as the post-call report uses it: it reads the transcript
// from the user message and answers a plausible report that fits the strict json_schema it was sent, so the
// demo and the simulated server show real reports without an account.
import { randomUUID } from "node:crypto";

type Json = Record<string, any>;

/** A scripted answer: a non-2xx status answers an OpenAI-style error; content replaces the made-up report. */
export interface ReportReply {
  status?: number;
  content?: string;
}

export interface ReportModelOptions {
  apiKey: string;
  /** Given each request body; undefined answers the made-up report. */
  reply?: (body: any) => ReportReply | undefined;
  /** Every request body that got past the key check, parsed, in order. */
  requests?: unknown[];
}

interface Turn {
  role: "agent" | "caller";
  text: string;
}

/** What the facts are made from: the caller's last words, if any, and how much was said. */
interface Said {
  lastCaller: string | null;
  turns: number;
}

const PLACEHOLDER = "not stated";
const PAIRS = {
  type: "array",
  items: { type: "object", properties: { name: { type: "string" }, value: { type: "string" } } },
};
const GOODBYE = /\b(good)?bye\b/i;
const MAX_DEPTH = 12;

const errorBody = (message: string, type: string, code: string | null = null) => ({
  error: { message, type, param: null, code },
});

/** The handler for `POST …/chat/completions`. */
export function reportModelHandler(opts: ReportModelOptions): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.headers.get("authorization") !== `Bearer ${opts.apiKey}`)
      return Response.json(errorBody("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"), {
        status: 401,
      });
    let body: Json;
    try {
      body = (await req.json()) as Json;
    } catch {
      return Response.json(errorBody("We could not parse the JSON body of your request.", "invalid_request_error"), {
        status: 400,
      });
    }
    opts.requests?.push(body);
    const schema = body?.response_format?.json_schema?.schema;
    if (typeof body?.model !== "string" || !Array.isArray(body.messages) || typeof schema !== "object")
      return Response.json(
        errorBody(
          "This simulator answers only model, messages and a json_schema response_format.",
          "invalid_request_error",
        ),
        { status: 400 },
      );
    const reply = opts.reply?.(body) ?? {};
    const status = reply.status ?? 200;
    if (status < 200 || status > 299)
      return Response.json(errorBody(`The simulated report model failed (${status}).`, "server_error"), { status });
    return completion(body.model, reply.content ?? JSON.stringify(simulatedReport(body)));
  };
}

function completion(model: string, content: string): Response {
  return Response.json({
    id: `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      { index: 0, message: { role: "assistant", content, refusal: null }, logprobs: null, finish_reason: "stop" },
    ],
    usage: { prompt_tokens: 200, completion_tokens: 60, total_tokens: 260 },
  });
}

/** The report for a Chat Completions request body: outcome and summary from its transcript, facts from its schema. */
export function simulatedReport(body: Json): Json {
  const turns = transcriptOf(body.messages ?? []);
  const callers = turns.filter((t) => t.role === "caller");
  const lastCaller = callers.at(-1)?.text ?? null;
  const goodbye = turns.some((t) => t.role === "agent" && GOODBYE.test(t.text));
  const schema = (body.response_format?.json_schema?.schema ?? {}) as Json;
  const factsSchema = (schema.properties?.facts ?? PAIRS) as Json;
  return {
    outcome: goodbye && lastCaller !== null ? "completed_goal" : "partial",
    summary: summaryOf(turns, lastCaller, goodbye),
    facts: factsFor(factsSchema, { lastCaller, turns: turns.length }),
    next_steps: [],
  };
}

function messageText(message: Json): string {
  if (typeof message.content === "string") return message.content;
  if (!Array.isArray(message.content)) return "";
  return message.content.map((part: Json) => (typeof part?.text === "string" ? part.text : "")).join("\n");
}

/** The turns under the user message's "Transcript:" line, one `Agent: …` / `Caller: …` line each. */
function transcriptOf(messages: Json[]): Turn[] {
  const user = messages.findLast((m) => m?.role === "user");
  if (!user) return [];
  const lines = messageText(user).split("\n");
  const start = lines.indexOf("Transcript:");
  if (start < 0) return [];
  return lines.slice(start + 1).flatMap((line): Turn[] => {
    const m = /^(Agent|Caller): (.*)$/.exec(line);
    return m ? [{ role: m[1] === "Agent" ? "agent" : "caller", text: m[2]!.trim() }] : [];
  });
}

function summaryOf(turns: Turn[], lastCaller: string | null, goodbye: boolean): string {
  if (turns.length === 0) return "Nothing was said on the call.";
  if (lastCaller === null) return `The agent spoke ${turns.length} time(s), but the caller said nothing.`;
  const ending = goodbye ? " and the agent said goodbye" : "";
  const stop = /[.!?]$/.test(lastCaller) ? "" : ".";
  return `The agent and the caller spoke in ${turns.length} turns${ending}. The caller's last words were "${lastCaller}"${stop}`;
}

const isPairs = (s: Json) =>
  s.type === "array" &&
  typeof s.items?.properties === "object" &&
  Object.keys(s.items.properties).sort().join() === "name,value";

/** Facts that fit the requested schema: name/value pairs when that is what was asked, else a walk of the schema. */
export function factsFor(schema: Json, said: Said): unknown {
  if (!isPairs(schema)) return valueFor(schema, said, 0);
  const pairs = [{ name: "turns", value: String(said.turns) }];
  if (said.lastCaller !== null) pairs.unshift({ name: "caller_said", value: said.lastCaller });
  return pairs;
}

const allowsNull = (s: Json) =>
  s.type === "null" ||
  (Array.isArray(s.type) && s.type.includes("null")) ||
  (Array.isArray(s.enum) && s.enum.includes(null)) ||
  (Array.isArray(s.anyOf) && s.anyOf.some((b: Json) => b?.type === "null"));

// Strict mode makes what the caller left optional nullable; null there is "the call did not give it", and it is
// dropped before the facts are checked. Everything the caller required gets a value.
function valueFor(schema: Json, said: Said, depth: number): unknown {
  if (depth > MAX_DEPTH || allowsNull(schema)) return null;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (Array.isArray(schema.anyOf)) return valueFor(schema.anyOf[0] ?? {}, said, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries(
        Object.entries((schema.properties ?? {}) as Json).map(([k, v]) => [k, valueFor(v, said, depth + 1)]),
      );
    case "array": {
      const n = Math.min(Math.max(1, schema.minItems ?? 1), schema.maxItems ?? 1);
      return Array.from({ length: n }, () => valueFor(schema.items ?? {}, said, depth + 1));
    }
    case "boolean":
      return true;
    case "integer":
    case "number":
      return numberFor(schema, type === "integer");
    case "string":
      return stringFor(schema, said);
    default:
      return null;
  }
}

/** 0, unless the bounds exclude it. */
function numberFor(schema: Json, integer: boolean): number {
  const step = integer ? 1 : 0.5;
  const min = schema.minimum ?? (schema.exclusiveMinimum === undefined ? undefined : schema.exclusiveMinimum + step);
  const max = schema.maximum ?? (schema.exclusiveMaximum === undefined ? undefined : schema.exclusiveMaximum - step);
  let n = 0;
  if (min !== undefined && n < min) n = integer ? Math.ceil(min) : min;
  if (max !== undefined && n > max) n = integer ? Math.floor(max) : max;
  const multiple = schema.multipleOf;
  return typeof multiple === "number" && multiple > 0 ? Math.ceil(n / multiple) * multiple : n;
}

const FORMATTED: Record<string, () => string> = {
  "date-time": () => new Date().toISOString(),
  date: () => new Date().toISOString().slice(0, 10),
  time: () => "10:00:00Z",
  duration: () => "PT1M",
  email: () => "caller@example.com",
  hostname: () => "example.com",
  ipv4: () => "192.0.2.1",
  ipv6: () => "2001:db8::1",
  uuid: () => randomUUID(),
};

function stringFor(schema: Json, said: Said): string {
  const formatted = typeof schema.format === "string" ? FORMATTED[schema.format] : undefined;
  if (formatted) return formatted();
  // A pattern is not tried: under --simulate this runs in the server's own process, and a caller's pattern may
  // backtrack for seconds. The server checks what it is given off its main thread, as it does a real model's.
  return said.lastCaller || PLACEHOLDER;
}
