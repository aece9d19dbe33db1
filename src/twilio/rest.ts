// src/twilio/ is the Twilio adapter: REST client, TwiML, signatures, webhooks' shapes, the status vocabulary,
// the Media Streams codec. It imports only config, runtime and wire: it knows no call or store.
import { fetchHttpClient, type RestResponse } from "./http.ts";

export interface TwilioCredentials {
  accountSid: string;
  authToken: string;
  phoneNumber: string;
  apiBaseUrl: string;
  timeoutMs: number;
}

export interface CreateCallParams {
  to: string;
  /** One of the account's numbers; the configured phone number when left out. */
  from?: string;
  voiceUrl: string;
  statusUrl: string;
  timeoutS: number;
  timeLimitS: number;
  /** Asks for asynchronous answering machine detection, its result posted here. */
  amdUrl?: string;
}

export interface RemoteCall {
  sid: string;
  status: string;
  duration: number | null;
  /** Twilio's `price` as it writes it (a charge is negative, `-0.01400`); null until the call is rated. */
  price: string | null;
  /** The currency of `price`, e.g. USD. */
  priceUnit: string | null;
}

/** `refused`: Twilio answered with an error. `unreachable`: no answer at all (network, timeout, 5xx). */
export class TwilioError extends Error {
  constructor(
    readonly kind: "refused" | "unreachable",
    message: string,
    readonly status?: number,
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface TwilioRest {
  createCall(p: CreateCallParams): Promise<RemoteCall>;
  /** `timeLimit` (s, from the call's start) replaces the one the call was created with. */
  updateCall(
    sid: string,
    p: { status: "completed" | "canceled" } | { twiml: string; timeLimit?: number },
  ): Promise<RemoteCall>;
  fetchCall(sid: string): Promise<RemoteCall>;
}

export const STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"];

/** A call resource as Twilio's JSON writes it (snake_case). */
interface CallResource {
  sid: string;
  status: string;
  duration?: string | null;
  price?: string | null;
  price_unit?: string | null;
}

function toRemote(c: CallResource): RemoteCall {
  return {
    sid: c.sid,
    status: c.status,
    duration: c.duration ? Number(c.duration) : null,
    price: c.price ?? null,
    priceUnit: c.price_unit ?? null,
  };
}

function parsed(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Twilio's answer to a request it did not carry out, read as the SDK reads it: an RFC 9457 problem (`type`, `title`,
 * `status`, `code`) or the Voice API's own `{code, message, more_info, status}`. Below 500 it refused the request;
 * from 500 on, it could not be reached as far as the call is concerned.
 */
function answerError(res: RestResponse): TwilioError {
  const body = parsed(res.body);
  const problem =
    typeof body?.type === "string" &&
    typeof body.title === "string" &&
    typeof body.status === "number" &&
    typeof body.code === "number";
  const status = problem ? (body.status as number) || res.statusCode : res.statusCode;
  const message = problem
    ? `[HTTP ${status}] ${body.title}`
    : typeof body?.message === "string"
      ? body.message
      : `[HTTP ${status}] Failed to execute request`;
  const code = typeof body?.code === "number" ? body.code : undefined;
  return new TwilioError(status < 500 ? "refused" : "unreachable", message, status, code);
}

const FORM = "application/x-www-form-urlencoded";

/**
 * Twilio's Calls resource over Bun's fetch (protocols.md §3): the same requests, form fields and error reading as the
 * twilio SDK's (test/twilio/rest.test.ts compares them), without loading the SDK into the server.
 */
export function createTwilioRest(creds: TwilioCredentials): TwilioRest {
  const http = fetchHttpClient(creds.timeoutMs);
  // Twilio's default host unless overridden; lets tests and staging point the client at another server.
  const calls = `${creds.apiBaseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${creds.accountSid}/Calls`;
  const request = async (method: "GET" | "POST", path: string, data?: Record<string, unknown>) => {
    let res: RestResponse;
    try {
      res = await http.request({
        method,
        uri: calls + path,
        username: creds.accountSid,
        password: creds.authToken,
        headers: {
          "Accept-Charset": "utf-8",
          Accept: "application/json",
          ...(data && { "Content-Type": FORM }),
        },
        data,
      });
    } catch (e) {
      throw new TwilioError("unreachable", e instanceof Error ? e.message : String(e));
    }
    if (res.statusCode < 200 || res.statusCode >= 300) throw answerError(res);
    const call = parsed(res.body);
    if (typeof call?.sid !== "string" || typeof call.status !== "string")
      throw new TwilioError("unreachable", "Twilio answered without a call resource", res.statusCode);
    return toRemote(call as unknown as CallResource);
  };
  const one = (sid: string) => `/${encodeURIComponent(sid)}.json`;
  return {
    createCall: (p) => request("POST", ".json", createFields(p, creds.phoneNumber)),
    updateCall: (sid, p) =>
      request("POST", one(sid), "status" in p ? { Status: p.status } : { Twiml: p.twiml, TimeLimit: p.timeLimit }),
    fetchCall: (sid) => request("GET", one(sid)),
  };
}

/** The create request's fields, in the order the SDK writes them. */
function createFields(p: CreateCallParams, defaultFrom: string): Record<string, unknown> {
  return {
    To: p.to,
    From: p.from ?? defaultFrom,
    Method: "POST",
    StatusCallback: p.statusUrl,
    StatusCallbackEvent: STATUS_CALLBACK_EVENTS,
    StatusCallbackMethod: "POST",
    Timeout: p.timeoutS,
    // DetectMessageEnd waits out a greeting, so a message left after the result starts at the beep.
    ...(p.amdUrl && {
      MachineDetection: "DetectMessageEnd",
      AsyncAmd: "true",
      AsyncAmdStatusCallback: p.amdUrl,
      AsyncAmdStatusCallbackMethod: "POST",
    }),
    TimeLimit: p.timeLimitS,
    Url: p.voiceUrl,
  };
}
