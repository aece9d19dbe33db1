// One Chat Completions request, `POST {baseUrl}/chat/completions`, on Bun's fetch: the report model's and the owner's
// assistant's. It asks and fails as the openai SDK does (test/model/chat.test.ts runs both against one server), without
// loading the SDK: that cost ~18 MB of resident memory and stopped the event loop for tens of ms, often mid-call.
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { VERSION } from "../version.ts";

export interface ChatEndpoint {
  apiKey: string;
  /** e.g. `https://api.openai.com/v1`; a trailing slash is allowed. */
  baseUrl: string;
  /** Sent as well, e.g. accountHeaders()'s. */
  headers?: Record<string, string>;
  /** The whole request, answer included; past it the request fails with "Request timed out.". */
  timeoutMs?: number;
  /** The caller's own; aborted, the request fails with "Request was aborted.". */
  signal?: AbortSignal;
}

/**
 * What a 2xx answer held, read by its content type as the SDK reads it. One that is not JSON, or empty, is null: the
 * SDK handed its text on, and the callers read `choices` of it.
 */
export type ChatAnswer = Partial<ChatCompletion> | null;

/** OpenAI's organization and project headers, for the requests that go to OpenAI itself. */
export function accountHeaders(account: { organization?: string; project?: string }): Record<string, string> {
  const headers: Record<string, string> = {};
  if (account.organization) headers["OpenAI-Organization"] = account.organization;
  if (account.project) headers["OpenAI-Project"] = account.project;
  return headers;
}

/** Throws an Error whose message is the SDK's for the same failure: "429 Rate limit reached", "Connection error.", … */
export async function createChatCompletion(
  endpoint: ChatEndpoint,
  request: ChatCompletionCreateParamsNonStreaming,
): Promise<ChatAnswer> {
  const timeout = endpoint.timeoutMs === undefined ? null : AbortSignal.timeout(endpoint.timeoutMs);
  const signals = [timeout, endpoint.signal].filter((s): s is AbortSignal => s !== null && s !== undefined);
  const init: RequestInit = {
    method: "POST",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "User-Agent": `agenticai/${VERSION}`,
      ...endpoint.headers,
      Authorization: `Bearer ${endpoint.apiKey}`,
    },
    body: JSON.stringify(request),
    signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals),
  };
  let res: Response;
  let text: string;
  try {
    res = await fetch(chatUrl(endpoint.baseUrl), init);
    text = await res.text();
  } catch (err) {
    throw new Error(failure(err, endpoint.signal, timeout));
  }
  if (!res.ok) throw new Error(statusMessage(res.status, text));
  return readAnswer(res, text);
}

function chatUrl(baseUrl: string): string {
  return `${baseUrl.endsWith("/") ? baseUrl.slice(0, -1) : baseUrl}/chat/completions`;
}

function failure(err: unknown, caller: AbortSignal | undefined, timeout: AbortSignal | null): string {
  if (caller?.aborted) return "Request was aborted.";
  if (timeout?.aborted) return "Request timed out.";
  // as the SDK: a transport error that says it timed out is a timeout
  const cause = (err as { cause?: unknown })?.cause;
  return /timed? ?out/i.test(String(err) + (cause === undefined ? "" : String(cause)))
    ? "Request timed out."
    : "Connection error.";
}

/** The SDK's message for a non-2xx answer: the status, then the body's `error.message`, its `error`, or its text. */
function statusMessage(status: number, text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  // a JSON object without an `error` is taken as the error itself
  const body = json as { error?: unknown } | null | undefined;
  const error = (body && typeof body === "object" && body.error == null ? body : body?.error) as
    | { message?: unknown }
    | undefined;
  const message = error?.message;
  const detail = message
    ? typeof message === "string"
      ? message
      : JSON.stringify(message)
    : error
      ? JSON.stringify(error)
      : json
        ? undefined
        : text;
  return detail ? `${status} ${detail}` : `${status} status code (no body)`;
}

function readAnswer(res: Response, text: string): ChatAnswer {
  const type = res.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  const json = type?.includes("application/json") || type?.endsWith("+json");
  return !json || text === "" || res.status === 204 ? null : (JSON.parse(text) as ChatAnswer);
}
