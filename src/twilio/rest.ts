// src/twilio/ is the Twilio adapter: REST client, TwiML, signatures, webhooks' shapes, the status vocabulary,
// the Media Streams codec. It imports only config, runtime and wire: it knows no call or store.
import { fetchHttpClient } from "./http.ts";
import { loadTwilio } from "./sdk.ts";

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

function toRemote(c: {
  sid: string;
  status: string;
  duration?: string | null;
  price?: string | null;
  priceUnit?: string | null;
}): RemoteCall {
  return {
    sid: c.sid,
    status: c.status,
    duration: c.duration ? Number(c.duration) : null,
    price: c.price ?? null,
    priceUnit: c.priceUnit ?? null,
  };
}

function classify(e: unknown): TwilioError {
  const err = e as { status?: number; code?: number; message?: string };
  const message = err?.message ?? String(e);
  if (typeof err?.status === "number" && err.status < 500)
    return new TwilioError("refused", message, err.status, err.code);
  return new TwilioError("unreachable", message, err?.status, err?.code);
}

export function createTwilioRest(creds: TwilioCredentials): TwilioRest {
  type Client = ReturnType<Awaited<ReturnType<typeof loadTwilio>>>;
  let client: Promise<Client> | undefined;
  const connect = () =>
    loadTwilio().then((twilio) => {
      // The option is typed as the SDK's RequestClient class; only its request() is ever called.
      const c = twilio(creds.accountSid, creds.authToken, {
        autoRetry: false,
        httpClient: fetchHttpClient(creds.timeoutMs) as never,
      });
      // Twilio's default host unless overridden; lets tests and staging point the SDK at another server.
      c.api.baseUrl = creds.apiBaseUrl.replace(/\/+$/, "");
      return c;
    });
  const run = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
    try {
      client ??= connect();
      return await fn(await client);
    } catch (e) {
      throw classify(e);
    }
  };
  return {
    createCall: (p) =>
      run(async (c) =>
        toRemote(
          await c.calls.create({
            to: p.to,
            from: p.from ?? creds.phoneNumber,
            url: p.voiceUrl,
            method: "POST",
            statusCallback: p.statusUrl,
            statusCallbackMethod: "POST",
            statusCallbackEvent: STATUS_CALLBACK_EVENTS,
            timeout: p.timeoutS,
            timeLimit: p.timeLimitS,
            // DetectMessageEnd waits out a greeting, so a message left after the result starts at the beep.
            ...(p.amdUrl && {
              machineDetection: "DetectMessageEnd",
              asyncAmd: "true",
              asyncAmdStatusCallback: p.amdUrl,
              asyncAmdStatusCallbackMethod: "POST",
            }),
          }),
        ),
      ),
    updateCall: (sid, p) => run(async (c) => toRemote(await c.calls(sid).update(p))),
    fetchCall: (sid) => run(async (c) => toRemote(await c.calls(sid).fetch())),
  };
}
