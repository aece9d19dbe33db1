// A local stand-in for OpenAI's POST /v1/chat/completions with strict structured outputs: it records every
// request, refuses what OpenAI's strict mode would refuse (with OpenAI's error shape), and answers as scripted.
import type { Server } from "bun";

export interface ScriptedReply {
  /** HTTP status; anything but 2xx answers with an OpenAI-style error body. */
  status?: number;
  /** The assistant message's content (JSON text); null for a refusal. */
  content?: string | null;
  refusal?: string | null;
  finishReason?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface ChatCompletionsOptions {
  apiKey?: string;
  /** Given each request body and its index (0-based); the default answers a valid report. */
  reply?: (body: any, index: number) => ScriptedReply | Promise<ScriptedReply>;
}

export interface ChatCompletions {
  baseUrl: string;
  apiKey: string;
  /** Every request body received, parsed, in order (including the ones answered with an error). */
  requests: any[];
  /** Each request's headers, in the order of `requests`. */
  headers: Headers[];
  stop(): Promise<void>;
}

/** A report answer's JSON text: valid defaults, overridden field by field. */
export function reportContent(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    outcome: "completed_goal",
    summary: "The agent booked a table for two on Friday at 7pm.",
    facts: [],
    next_steps: [],
    ...over,
  });
}

const errorBody = (message: string, type: string, code: string | null = null) => ({
  error: { message, type, param: null, code },
});

/** Where a strict-mode schema breaks the rules OpenAI enforces, or null. */
export function strictProblem(schema: unknown, path = "schema"): string | null {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return `${path} is not an object`;
  const s = schema as Record<string, any>;
  if (s.type === undefined && !Array.isArray(s.anyOf)) return `${path}: a type (or anyOf) is required`;
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes("object") || s.properties !== undefined) {
    if (s.additionalProperties !== false) return `${path}: additionalProperties must be false`;
    const names = Object.keys(s.properties ?? {});
    const required: unknown[] = Array.isArray(s.required) ? s.required : [];
    const missing = names.filter((n) => !required.includes(n));
    if (missing.length > 0 || required.length !== names.length)
      return `${path}: required must list every property (missing ${missing.join(", ") || "none"})`;
    for (const n of names) {
      const problem = strictProblem(s.properties[n], `${path}.properties.${n}`);
      if (problem) return problem;
    }
  }
  if (s.items !== undefined) {
    const problem = strictProblem(s.items, `${path}.items`);
    if (problem) return problem;
  }
  for (const [i, branch] of (Array.isArray(s.anyOf) ? s.anyOf : []).entries()) {
    const problem = strictProblem(branch, `${path}.anyOf[${i}]`);
    if (problem) return problem;
  }
  return null;
}

function requestProblem(body: any): string | null {
  if (typeof body?.model !== "string") return "model is required";
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "messages must be a non-empty array";
  const format = body.response_format;
  if (format?.type !== "json_schema") return "response_format.type must be json_schema";
  if (typeof format.json_schema?.name !== "string") return "response_format.json_schema.name is required";
  if (format.json_schema.strict !== true) return "response_format.json_schema.strict must be true";
  return strictProblem(format.json_schema.schema, "response_format.json_schema.schema");
}

function completion(body: any, reply: ScriptedReply): Response {
  const content = reply.content === undefined ? reportContent() : reply.content;
  return Response.json({
    id: `chatcmpl-${crypto.randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, refusal: reply.refusal ?? null },
        logprobs: null,
        finish_reason: reply.finishReason ?? "stop",
      },
    ],
    usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
  });
}

export function startChatCompletions(opts: ChatCompletionsOptions = {}): ChatCompletions {
  const apiKey = opts.apiKey ?? "sk-test-report";
  const requests: any[] = [];
  const headers: Headers[] = [];
  const server: Server<unknown> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/chat/completions")
        return Response.json(errorBody("Not found", "invalid_request_error"), { status: 404 });
      if (req.headers.get("authorization") !== `Bearer ${apiKey}`)
        return Response.json(errorBody("Incorrect API key provided", "invalid_request_error", "invalid_api_key"), {
          status: 401,
        });
      let body: any;
      try {
        body = await req.json();
      } catch {
        return Response.json(errorBody("The body is not valid JSON", "invalid_request_error"), { status: 400 });
      }
      const index = requests.push(body) - 1;
      headers.push(req.headers);
      const problem = requestProblem(body);
      if (problem)
        return Response.json(errorBody(`Invalid schema: ${problem}`, "invalid_request_error"), { status: 400 });
      const reply = (await opts.reply?.(body, index)) ?? {};
      if (reply.delayMs) await Bun.sleep(reply.delayMs);
      const status = reply.status ?? 200;
      if (status < 200 || status > 299)
        return Response.json(errorBody(`Scripted error ${status}`, "server_error"), { status });
      return completion(body, reply);
    },
  });
  return {
    baseUrl: `${server.url.href.replace(/\/$/, "")}/v1`,
    apiKey,
    requests,
    headers,
    stop: () => server.stop(true),
  };
}
