// A stand-in for an OpenClaw gateway's OpenAI-compatible `POST /v1/chat/completions`, on 127.0.0.1, so the
// demo and the tests can consult an "assistant" without a gateway: it checks the bearer token, records what
// it was asked, and answers as told, late if told to.
import { randomUUID } from "node:crypto";

export interface GatewaySimOptions {
  token?: string;
  /** The assistant's answer, or a function of the request body that makes it. */
  answer?: string | ((body: any) => string);
  /** Wait this long before answering; requests still waiting are answered when the sim stops. */
  delayMs?: number;
  /** A non-2xx status answers with OpenAI's error shape instead. */
  status?: number;
}

export interface GatewaySim {
  /** The gateway's base URL, without /v1. */
  url: string;
  token: string;
  /** Every request body that got past the token check, parsed, in order. */
  requests: any[];
  stop(): Promise<void>;
}

const DEFAULT_ANSWER = "Yes, that works for me. Go ahead.";

const errorBody = (message: string, type: string, code: string | null = null) => ({
  error: { message, type, param: null, code },
});

export async function startGatewaySim(opts: GatewaySimOptions = {}): Promise<GatewaySim> {
  const token = opts.token ?? `oc-sim-${randomUUID()}`;
  const requests: any[] = [];
  const held = new Set<() => void>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/chat/completions")
        return Response.json(errorBody("Not found", "invalid_request_error"), { status: 404 });
      if (req.headers.get("authorization") !== `Bearer ${token}`)
        return Response.json(errorBody("Unauthorized", "invalid_request_error", "invalid_api_key"), { status: 401 });
      let body: any;
      try {
        body = await req.json();
      } catch {
        return Response.json(errorBody("The body is not valid JSON", "invalid_request_error"), { status: 400 });
      }
      requests.push(body);
      if (opts.delayMs) await hold(held, opts.delayMs);
      return reply(body, opts);
    },
  });
  return {
    url: server.url.href.replace(/\/$/, ""),
    token,
    requests,
    async stop() {
      for (const release of held) release();
      await server.stop(true);
    },
  };
}

// Held requests are released on stop, so stopping never waits out a long delay.
function hold(held: Set<() => void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const release = () => {
      clearTimeout(timer);
      held.delete(release);
      resolve();
    };
    const timer = setTimeout(release, ms);
    held.add(release);
  });
}

function reply(body: any, opts: GatewaySimOptions): Response {
  if (typeof body?.model !== "string" || !Array.isArray(body.messages))
    return Response.json(errorBody("model and messages are required", "invalid_request_error"), { status: 400 });
  const status = opts.status ?? 200;
  if (status < 200 || status > 299)
    return Response.json(errorBody(`The simulated gateway failed (${status}).`, "server_error"), { status });
  const answer = typeof opts.answer === "function" ? opts.answer(body) : (opts.answer ?? DEFAULT_ANSWER);
  return Response.json({
    id: `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: answer, refusal: null },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: { prompt_tokens: 120, completion_tokens: 20, total_tokens: 140 },
  });
}
