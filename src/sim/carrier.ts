// The simulated carrier: Twilio as its documentation describes it. A REST Calls API on a local
// port, signed status and voice webhooks, TwiML, and — with `autoCalls` — whole calls: ringing,
// answer, a media stream with a persona on the line, asynchronous answering machine detection, `<Dial>`
// to a second party, hang-ups. Tests also drive it by hand (sendStatus, sendVoice, sendInbound). It
// shares no code with the server's Twilio adapters, so signatures are checked against an independent
// implementation.

import { createHmac, randomBytes } from "node:crypto";
import { type CallLine, createCallLine } from "./call-line.ts";
import { connectMediaStream, type MediaClient, type MediaClientOptions } from "./media-stream.ts";
import { MACHINE_VERDICTS, type Persona, personaFor, personaOnAttempt, runPersona } from "./personas.ts";
import type { Script } from "./script.ts";
import { parseTwiml, type Verb } from "./twiml.ts";

export interface CarrierOptions {
  accountSid?: string;
  /** Default: 32 random hex digits, new for every carrier. */
  authToken?: string;
  /** The account's number: a `From` accepted by `POST Calls.json`, and the `To` of inbound calls by default. */
  phoneNumber?: string;
  /** The account's other numbers, also accepted as `From`. */
  phoneNumbers?: string[];
  /** What a started minute of an answered call costs, in USD (default 0.014, Twilio's US outbound list price). */
  pricePerMinute?: number;
  /**
   * How long after a call ends its resource still has `price: null` (default 0), as Twilio's does until the call
   * is rated.
   */
  priceDelayMs?: number;
  /** After a successful update to completed/canceled, POST the terminal status callback like Twilio does (default true). */
  sendCallbacksOnUpdate?: boolean;
  /** Deliver that callback before answering the update: the order Twilio's two requests may arrive in. */
  callbackBeforeReply?: boolean;
  /** Play every created call through by itself: progress, answer, TwiML, media and the callee's persona. */
  autoCalls?: {
    script: Script;
    speed?: number;
    record?: boolean;
    probe?: MediaClientOptions["probe"];
    /** Called as a callee answers, before the voice webhook (which has the model session opened). */
    onAnswer?: (persona: Persona) => void;
  };
  /** Deliver webhooks to this origin instead of the host in the URL (still signing the URL as given). */
  deliverTo?: string;
  /**
   * Each webhook on a connection of its own (`Connection: close`), as Twilio's come from many hosts: behind
   * a load balancer that spreads connections, consecutive webhooks of a call then reach different instances.
   */
  freshConnections?: boolean;
  /** REST faults from the start; `Carrier.faults` changes them later. */
  faults?: CarrierFaults;
}

/**
 * A REST fault: `500` answers Twilio's internal error, `timeout` holds the request unanswered until the
 * carrier stops, `reset` closes the connection without an answer.
 */
export type RestFault = "500" | "timeout" | "reset";

/** Which REST operations fail, and how: create (POST Calls.json), update (POST Calls/CA….json), fetch (GET). */
export interface CarrierFaults {
  create?: RestFault;
  update?: RestFault;
  fetch?: RestFault;
}

export interface CarrierCall {
  sid: string;
  to: string;
  from: string;
  status: string;
  url: string;
  statusCallback: string;
  statusCallbackEvents: string[];
  timeout?: number;
  timeLimit?: number;
  /** Form fields of the create request, overlaid by `Url`/`Twiml`/`Method` of later updates. */
  params: Record<string, string>;
  /** Next SequenceNumber for status callbacks, starts at 0. */
  sequence: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  form: URLSearchParams;
  authorized: boolean;
}

/** One webhook the driver sent to the server under test. */
export interface SentWebhook {
  url: string;
  params: Record<string, string>;
  signature: string | null;
  /** HTTP status of the answer, or 0 if the request itself failed. */
  status: number;
  error?: string;
}

/** One `<Dial>` the carrier ran: its attributes as given, and how the dialled leg went once it ended. */
export interface CarrierDial {
  /** The call that ran the `<Dial>` (the parent). */
  callSid: string;
  to: string;
  callerId: string | undefined;
  /** Seconds the dialled number may ring. */
  timeout: number;
  action: string | undefined;
  /** As given; the action is always POSTed. */
  method: string;
  /** The dialled leg's own CallSid. */
  dialCallSid: string;
  /** DialCallStatus, once the dialled leg has ended. */
  status?: "completed" | "busy" | "no-answer";
  /** DialCallDuration (s), once the dialled leg has ended; 0 when it was never answered. */
  duration?: number;
}

export interface TwilioError {
  status: number;
  code: number;
  message: string;
}

export interface Carrier {
  /** "http://127.0.0.1:PORT", to be used as the REST base URL. */
  url: string;
  accountSid: string;
  authToken: string;
  phoneNumber: string;
  calls: Map<string, CarrierCall>;
  requests: RecordedRequest[];
  /** Every webhook sent by the driver (including automatic callbacks after updates), in order of completion. */
  sent: SentWebhook[];
  /** Every `<Dial>` auto calls ran, in order. */
  dials: CarrierDial[];
  failNext(err: TwilioError): void;
  /** The call's `price` as its resource has it now: null until it has ended and been rated. */
  price(callSid: string): string | null;
  /** Standing REST faults by operation (mutable): each request of that kind fails until the entry is removed. */
  faults: CarrierFaults;
  /** Live media streams of auto calls, by CallSid (kept after they close, for their recordings); the latest. */
  media: Map<string, MediaClient>;
  /** The callee's end of each auto call across its streams (see call-line.ts): its drops, its streams. */
  lines: Map<string, CallLine>;
  /**
   * Cuts an auto call's media stream as a network would (its socket closes, no `stop` is sent, the call stays up):
   * Twilio then asks the `<Connect action>`. False when the call has no stream up.
   */
  dropStream(callSid: string): boolean;
  deliverTo: string | undefined;
  /** Resolves once every automatic callback fired so far has been answered (or failed). */
  flush(): Promise<void>;
  stop(): Promise<void>;
  sign(url: string, params: Record<string, string>): string;
  sendStatus(callSid: string, status: string, extra?: Record<string, string>): Promise<Response>;
  sendVoice(callSid: string, extra?: Record<string, string>): Promise<Response>;
  sendInbound(
    voiceUrl: string,
    p: { from: string; to?: string; extra?: Record<string, string> },
  ): Promise<{ callSid: string; response: Response }>;
  post(url: string, params: Record<string, string>, opts?: { signature?: string | null }): Promise<Response>;
}

const API_VERSION = "2010-04-01";
const TERMINAL = new Set(["completed", "busy", "failed", "no-answer", "canceled"]);
const CANCELABLE = new Set(["queued", "initiated", "ringing"]);
const E164 = /^\+\d{7,15}$/;
// Twilio's test-credential magic number for "invalid To".
const MAGIC_INVALID_TO = "+15005550001";

interface CallMeta {
  direction: "outbound-api" | "inbound";
  created: Date;
  updated: Date;
  answered?: Date;
  ended?: Date;
  /** Who answered this auto call (busy-twice resolved to busy or talks). */
  persona?: Persona;
  /** Answering machine detection has started listening (once a call, whatever its streams). */
  detecting?: boolean;
  answeredBy?: string;
}

/** Billable seconds: from answer to hang-up; calls that were never answered last 0 s. */
function talkSeconds(m: CallMeta, speed = 1): number {
  if (!m.answered || !m.ended) return 0;
  return Math.max(0, Math.round(((m.ended.getTime() - m.answered.getTime()) * speed) / 1000));
}

/**
 * Twilio's price for a call: each started minute of talk at the rate (one at least), negative (a charge), as a
 * decimal string with `price_unit` USD; a call never answered costs nothing.
 */
function priceFor(m: CallMeta, speed: number, perMinute: number): string {
  if (!m.answered) return "0.00000";
  return (-Math.max(1, Math.ceil(talkSeconds(m, speed) / 60)) * perMinute).toFixed(5);
}

/** The StatusCallbackEvent that reports a status; Twilio sends only the events that were asked for. */
const EVENT_FOR: Record<string, string> = { initiated: "initiated", ringing: "ringing", "in-progress": "answered" };

const FRAME_MS = 20;
/** How long AMD listens to a person before it calls them human (stream time; Twilio says 2–4 s, ours is quicker). */
const AMD_HUMAN_MS = 1500;
/** Ring time of a callee who answers, stream time. */
const RING_MS = 800;
/** How long a dialled party who answers talks before hanging up, stream time. */
const DIAL_TALK_MS = 2000;
/** A no-answer callee rings out after the call's timeout, but never longer than this in the simulation. */
const NO_ANSWER_MAX_MS = 4000;
const HANGUP_TWIML = "<Response><Hangup/></Response>";

function hex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

/** RFC 2822 as Twilio writes it: "Wed, 01 Jan 2025 00:00:00 +0000". */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace(/GMT$/, "+0000");
}

/** X-Twilio-Signature as Twilio documents it (single-valued params only). */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  // Default sort compares UTF-16 code units, which equals byte order for the ASCII keys Twilio uses.
  let data = url;
  for (const key of Object.keys(params).sort()) data += key + params[key];
  return createHmac("sha1", Buffer.from(authToken, "utf-8")).update(Buffer.from(data, "utf-8")).digest("base64");
}

function formatNumber(n: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(n);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : n;
}

function errorBody(e: TwilioError): Record<string, unknown> {
  return {
    code: e.code,
    message: e.message,
    more_info: `https://www.twilio.com/docs/errors/${e.code}`,
    status: e.status,
  };
}

function json(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  });
}

function fail(e: TwilioError, headers?: Record<string, string>): Response {
  return json(errorBody(e), e.status, headers);
}

function notFound(path: string): Response {
  return fail({ status: 404, code: 20404, message: `The requested resource ${path} was not found` });
}

/** Which REST operation a request is, for fault injection. */
function restOperation(method: string, path: string, callsPrefix: string): keyof CarrierFaults | null {
  if (method === "POST" && path === `${callsPrefix}.json`) return "create";
  if (!path.startsWith(`${callsPrefix}/`)) return null;
  return method === "POST" ? "update" : method === "GET" ? "fetch" : null;
}

/** Answers a request with a fault; `held` collects the releases of requests left hanging. */
function faultResponse(fault: RestFault, held: Set<() => void>): Response | Promise<Response> {
  if (fault === "500") return fail({ status: 500, code: 20500, message: "An internal server error has occurred" });
  if (fault === "reset") {
    // A body that fails before its first byte: Bun drops the connection, so the client sees ECONNRESET.
    return new Response(new ReadableStream({ pull: (c) => c.error(new Error("simulated carrier: connection reset")) }));
  }
  return new Promise<Response>((resolve) => {
    const release = () => resolve(fail({ status: 503, code: 20503, message: "simulated carrier stopped" }));
    held.add(release);
  });
}

function parseBasic(header: string | null): { user: string; pass: string } | null {
  if (!header?.startsWith("Basic ")) return null;
  let decoded: string;
  try {
    decoded = atob(header.slice(6).trim());
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

function optionalInt(v: string | null): number | undefined {
  if (v === null || v === "") return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : undefined;
}

export async function startCarrier(opts: CarrierOptions = {}): Promise<Carrier> {
  const accountSid = opts.accountSid ?? `AC${hex(16)}`;
  // Random per carrier, never a published constant: `server --simulate` may be reachable from the network,
  // and anyone who knows the token can sign a status callback that ends the calls it is running.
  const authToken = opts.authToken ?? hex(16);
  const phoneNumber = opts.phoneNumber ?? "+15005550006";
  const owned = new Set([phoneNumber, ...(opts.phoneNumbers ?? [])]);
  const sendCallbacksOnUpdate = opts.sendCallbacksOnUpdate ?? true;
  const phoneNumberSid = `PN${hex(16)}`;

  const calls = new Map<string, CarrierCall>();
  const meta = new Map<string, CallMeta>();
  const requests: RecordedRequest[] = [];
  const sent: SentWebhook[] = [];
  const dials: CarrierDial[] = [];
  /** Calls placed to each number so far, dialled legs included: busy-twice answers the third. */
  const attempts = new Map<string, number>();
  const failures: TwilioError[] = [];
  const pending = new Set<Promise<unknown>>();
  /** Requests held by a `timeout` fault, released when the carrier stops. */
  const held = new Set<() => void>();
  const media = new Map<string, MediaClient>();
  const lines = new Map<string, CallLine>();
  /** Bumped whenever a call's TwiML is replaced, so the old document stops running. */
  const twimlRuns = new Map<string, number>();
  const auto = opts.autoCalls;
  const speed = auto?.speed ?? 1;
  let stopping = false;
  const sleep = (ms: number) => (stopping ? Promise.resolve() : Bun.sleep(ms / speed));

  /** Runs work after the current reply is on its way, tracked so flush() and stop() can wait for it. */
  function background(work: () => Promise<unknown>): void {
    const p = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(work).catch(() => undefined);
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }

  const callsPrefix = `/${API_VERSION}/Accounts/${accountSid}/Calls`;

  /** Null until the call has ended and priceDelayMs has passed since. */
  function priceOf(call: CarrierCall): string | null {
    const m = meta.get(call.sid);
    if (!m?.ended || Date.now() < m.ended.getTime() + (opts.priceDelayMs ?? 0)) return null;
    return priceFor(m, speed, opts.pricePerMinute ?? 0.014);
  }

  function resource(call: CarrierCall): Record<string, unknown> {
    const m = meta.get(call.sid);
    const duration = m?.ended ? String(talkSeconds(m, speed)) : null;
    const uri = `${callsPrefix}/${call.sid}`;
    return {
      sid: call.sid,
      account_sid: accountSid,
      parent_call_sid: null,
      to: call.to,
      to_formatted: formatNumber(call.to),
      from: call.from,
      from_formatted: formatNumber(call.from),
      phone_number_sid: phoneNumberSid,
      status: call.status,
      direction: m?.direction ?? "outbound-api",
      answered_by: m?.answeredBy ?? null,
      start_time: m?.answered ? rfc2822(m.answered) : null,
      end_time: m?.ended ? rfc2822(m.ended) : null,
      duration,
      price: priceOf(call),
      price_unit: "USD",
      api_version: API_VERSION,
      annotation: null,
      caller_name: null,
      forwarded_from: null,
      group_sid: null,
      queue_time: "0",
      trunk_sid: null,
      date_created: m ? rfc2822(m.created) : null,
      date_updated: m ? rfc2822(m.updated) : null,
      uri: `${uri}.json`,
      subresource_uris: {
        notifications: `${uri}/Notifications.json`,
        recordings: `${uri}/Recordings.json`,
        streams: `${uri}/Streams.json`,
        payments: `${uri}/Payments.json`,
        events: `${uri}/Events.json`,
        siprec: `${uri}/Siprec.json`,
        transcriptions: `${uri}/Transcriptions.json`,
        user_defined_messages: `${uri}/UserDefinedMessages.json`,
        user_defined_message_subscriptions: `${uri}/UserDefinedMessageSubscriptions.json`,
      },
    };
  }

  /** Moves a call to `status`, keeping the timestamps the resource and CallDuration are derived from. */
  function setStatus(call: CarrierCall, status: string): void {
    const m = meta.get(call.sid);
    const now = new Date();
    call.status = status;
    if (!m) return;
    m.updated = now;
    if (status === "in-progress" && !m.answered) m.answered = now;
    if (TERMINAL.has(status) && !m.ended) m.ended = now;
  }

  function createCall(form: URLSearchParams): Response {
    const to = form.get("To");
    const from = form.get("From");
    if (to === null || to === "") return fail({ status: 400, code: 21201, message: "No 'To' number is specified" });
    if (!E164.test(to) || to === MAGIC_INVALID_TO) {
      return fail({ status: 400, code: 21211, message: `The 'To' number ${to} is not a valid phone number.` });
    }
    if (from === null || from === "")
      return fail({ status: 400, code: 21603, message: "A 'From' phone number is required." });
    if (!owned.has(from)) {
      return fail({
        status: 400,
        code: 21212,
        message: `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
      });
    }
    const url = form.get("Url");
    if (!url && !form.get("Twiml")) return fail({ status: 400, code: 21205, message: "Url parameter is required." });

    const sid = `CA${hex(16)}`;
    const now = new Date();
    const call: CarrierCall = {
      sid,
      to,
      from,
      status: "queued",
      url: url ?? "",
      statusCallback: form.get("StatusCallback") ?? "",
      statusCallbackEvents: form.getAll("StatusCallbackEvent"),
      timeout: optionalInt(form.get("Timeout")),
      timeLimit: optionalInt(form.get("TimeLimit")),
      params: Object.fromEntries(form),
      sequence: 0,
    };
    calls.set(sid, call);
    meta.set(sid, { direction: "outbound-api", created: now, updated: now });
    if (auto) background(() => playCall(call));
    return json(resource(call), 201);
  }

  async function updateCall(call: CarrierCall, form: URLSearchParams): Promise<Response> {
    if (TERMINAL.has(call.status)) {
      return fail({ status: 400, code: 21220, message: "Call is not in-progress. Cannot redirect." });
    }
    const status = form.get("Status");
    if (status !== null) {
      if (status !== "completed" && status !== "canceled") {
        return fail({
          status: 400,
          code: 20001,
          message: `Invalid Status: ${status}. Must be one of: canceled, completed.`,
        });
      }
      // Twilio documents that `canceled` leaves an answered call alone rather than rejecting the request.
      if (status === "canceled" && !CANCELABLE.has(call.status)) return json(resource(call), 200);
      setStatus(call, status);
      twimlRuns.set(call.sid, (twimlRuns.get(call.sid) ?? 0) + 1);
      // Hanging up ends the media stream the way Twilio does: a stop message, then the socket closes.
      if (media.get(call.sid)?.isOpen()) media.get(call.sid)!.stop();
      if (sendCallbacksOnUpdate && call.statusCallback) {
        // Sent after the reply is on its way, so a server that handles the callback by looking at
        // its own pending REST request cannot deadlock against us.
        const sid = call.sid;
        if (opts.callbackBeforeReply) await driver.sendStatus(sid, status);
        else background(() => driver.sendStatus(sid, status));
      }
      return json(resource(call), 200);
    }
    for (const key of ["Url", "Method", "Twiml"]) {
      const v = form.get(key);
      if (v !== null) call.params[key] = v;
    }
    const url = form.get("Url");
    if (url) call.url = url;
    const m = meta.get(call.sid);
    if (m) m.updated = new Date();
    const twiml = form.get("Twiml");
    if (auto && twiml !== null) {
      // New TwiML replaces the running document, which ends a <Connect><Stream>.
      const run = (twimlRuns.get(call.sid) ?? 0) + 1;
      twimlRuns.set(call.sid, run);
      if (media.get(call.sid)?.isOpen()) media.get(call.sid)!.stop();
      background(() => runTwiml(call, twiml, run));
    }
    return json(resource(call), 200);
  }

  /** Reports a status the way Twilio would: a callback only for the events the call asked for. */
  async function progress(call: CarrierCall, status: string): Promise<void> {
    if (stopping) return;
    const event = EVENT_FOR[status] ?? "completed";
    const asked = call.statusCallbackEvents.length ? call.statusCallbackEvents : ["completed"];
    if (call.statusCallback && asked.includes(event)) await driver.sendStatus(call.sid, status).catch(() => undefined);
    else setStatus(call, status);
  }

  /** Who picks up this call to `number`, counting it as one more call to that number. */
  function answerAs(number: string): Persona {
    const attempt = (attempts.get(number) ?? 0) + 1;
    attempts.set(number, attempt);
    return personaOnAttempt(number, attempt);
  }

  /** An outbound call from creation to hang-up, as the callee's persona would have it go. */
  async function playCall(call: CarrierCall): Promise<void> {
    const persona = answerAs(call.to);
    meta.get(call.sid)!.persona = persona;
    await sleep(50);
    await progress(call, "initiated");
    await sleep(250);
    if (TERMINAL.has(call.status)) return;
    await progress(call, "ringing");
    if (persona === "busy") {
      await sleep(RING_MS);
      if (!TERMINAL.has(call.status)) await progress(call, "busy");
      return;
    }
    await sleep(persona === "no-answer" ? Math.min((call.timeout ?? 60) * 1000, NO_ANSWER_MAX_MS) : RING_MS);
    if (TERMINAL.has(call.status)) return;
    if (persona === "no-answer") return progress(call, "no-answer");
    const run = (twimlRuns.get(call.sid) ?? 0) + 1;
    twimlRuns.set(call.sid, run);
    auto?.onAnswer?.(persona);
    const voice = await driver.sendVoice(call.sid).catch(() => null);
    await progress(call, "in-progress");
    // A voice URL that fails is error 11200 at Twilio: the call ends.
    await runTwiml(call, voice?.ok ? await voice.text() : HANGUP_TWIML, run);
  }

  /**
   * Executes a TwiML document; a newer document for the same call (an update) stops this one. `line` is the
   * callee's end of the call when this document follows a `<Connect action>`: its new stream goes on with them.
   */
  async function runTwiml(call: CarrierCall, xml: string, run: number, line?: CallLine): Promise<void> {
    const current = () => twimlRuns.get(call.sid) === run && !TERMINAL.has(call.status);
    for (const verb of parseTwiml(xml)) {
      if (!current()) return;
      if (verb.verb === "Hangup" || verb.verb === "Reject") break;
      if (verb.verb === "Say") await sleep(Math.max(800, verb.text.length * 60));
      if (verb.verb === "Pause") await sleep(verb.seconds * 1000);
      if (verb.verb === "Stream") {
        const callee = line ?? calleeLine(call);
        const hungUp = await stream(call, verb, callee, () => current() && verb.action !== undefined);
        // With an action, what it answers replaces the rest of this document, as at Twilio; not once the
        // callee hung up, or the call ended or took other TwiML meanwhile.
        if (verb.action && current() && !hungUp)
          return runTwiml(call, await connectAction(call, verb.action), run, callee);
      }
      if (verb.verb === "Dial") {
        const leg = await dialLeg(call, verb);
        if (!current()) return;
        // With an action, what it answers replaces the rest of this document, as at Twilio.
        if (leg.action) return runTwiml(call, await dialAction(call, leg), run);
      }
    }
    if (current()) await progress(call, "completed");
  }

  /** A new callee's end for a call's stream (the first, or the one after a `<Dial>` nobody took). */
  function calleeLine(call: CarrierCall): CallLine {
    const line = createCallLine(speed);
    lines.set(call.sid, line);
    return line;
  }

  /**
   * <Connect><Stream>: Twilio opens the WebSocket, the person on the line does their part (once per callee's end,
   * whatever the streams). Resolves when the stream ends: true if the callee hung up. `resumable` says, as it
   * ends, whether the call may go on on another stream.
   */
  async function stream(
    call: CarrierCall,
    verb: Extract<Verb, { verb: "Stream" }>,
    callee: CallLine,
    resumable: () => boolean,
  ): Promise<boolean> {
    const client = await connectMediaStream({
      url: rewrite(verb.url),
      signature: twilioSignature(authToken, verb.url, {}),
      accountSid,
      callSid: call.sid,
      customParameters: verb.parameters,
      speed,
      record: auto?.record,
      probe: auto?.probe,
    }).catch(() => null);
    // A failed upgrade is error 31920: the stream never starts and TwiML goes on (or its action is asked).
    if (!client) return false;
    media.set(call.sid, client);
    // A stream that opened while the carrier was stopping missed its close in stop().
    if (stopping) client.close();
    const first = callee.streams.length === 0;
    callee.attach(client);
    if (first) startCallee(call, callee);
    await client.closed;
    callee.detach(client, !callee.hungUp && resumable());
    return callee.hungUp;
  }

  /** The persona on the callee's end, and answering machine detection listening to it. */
  function startCallee(call: CarrierCall, callee: CallLine): void {
    const m = meta.get(call.sid);
    const persona = m?.persona ?? personaFor(call.to);
    const acted = runPersona(persona, callee, auto!.script);
    void acted.then(async () => {
      if (persona === "hangs-up" && !TERMINAL.has(call.status)) await progress(call, "completed");
    });
    if (m && !m.detecting && amdRequested(call)) {
      m.detecting = true;
      background(() => detectMachine(call, persona, callee, acted));
    }
  }

  /** Tells `<Connect action>` the stream ended; what it answers is the TwiML the call goes on with. */
  async function connectAction(call: CarrierCall, action: string): Promise<string> {
    const res = await post(action, { ...baseParams(call), CallStatus: call.status }).catch(() => null);
    // An action URL that fails is error 11200 at Twilio: the call ends.
    return res?.ok ? await res.text() : HANGUP_TWIML;
  }

  /** Twilio runs AMD in the background only when the create asked for detection, async, with a callback. */
  function amdRequested(call: CarrierCall): boolean {
    const p = call.params;
    const mode = p.MachineDetection;
    return (mode === "Enable" || mode === "DetectMessageEnd") && p.AsyncAmd === "true" && !!p.AsyncAmdStatusCallback;
  }

  /**
   * Listens to the callee as AMD does and posts the verdict, timed in stream time from the answer. A
   * machine in DetectMessageEnd mode is judged once its greeting and beep have played; anyone else (and a
   * machine in Enable mode) after AMD_HUMAN_MS. A call that ended first gets no verdict.
   */
  async function detectMachine(call: CarrierCall, persona: Persona, line: MediaClient, acted: Promise<void>) {
    const machine = persona === "voicemail";
    const messageEnd = call.params.MachineDetection === "DetectMessageEnd";
    if (machine && messageEnd) await acted;
    else await line.wait(AMD_HUMAN_MS);
    if (stopping || TERMINAL.has(call.status)) return;
    const answeredBy =
      MACHINE_VERDICTS[persona] ?? (!machine ? "human" : messageEnd ? "machine_end_beep" : "machine_start");
    meta.get(call.sid)!.answeredBy = answeredBy;
    await post(call.params.AsyncAmdStatusCallback!, {
      AccountSid: accountSid,
      CallSid: call.sid,
      AnsweredBy: answeredBy,
      MachineDetectionDuration: String(line.framesSent * FRAME_MS),
    });
  }

  /**
   * <Dial>: the dialled number answers as its persona would. Busy and no-answer end it unanswered;
   * anyone else talks for DIAL_TALK_MS and hangs up. Returns the leg once it has ended.
   */
  async function dialLeg(call: CarrierCall, verb: Extract<Verb, { verb: "Dial" }>): Promise<CarrierDial> {
    const leg: CarrierDial = {
      callSid: call.sid,
      to: verb.number,
      callerId: verb.callerId,
      timeout: verb.timeout,
      action: verb.action,
      method: verb.method,
      dialCallSid: `CA${hex(16)}`,
    };
    dials.push(leg);
    const persona = answerAs(verb.number);
    if (persona === "busy") await sleep(RING_MS);
    else if (persona === "no-answer") await sleep(Math.min(verb.timeout * 1000, NO_ANSWER_MAX_MS));
    else await sleep(RING_MS + DIAL_TALK_MS);
    leg.status = persona === "busy" || persona === "no-answer" ? persona : "completed";
    leg.duration = leg.status === "completed" ? DIAL_TALK_MS / 1000 : 0;
    return leg;
  }

  /** Tells `<Dial action>` how the dialled leg ended; what it answers is the TwiML the call goes on with. */
  async function dialAction(call: CarrierCall, leg: CarrierDial): Promise<string> {
    const res = await post(leg.action!, {
      ...baseParams(call),
      CallStatus: call.status,
      DialCallStatus: leg.status!,
      DialCallSid: leg.dialCallSid,
      DialCallDuration: String(leg.duration ?? 0),
    }).catch(() => null);
    // An action URL that fails is error 11200 at Twilio: the call ends.
    return res?.ok ? await res.text() : HANGUP_TWIML;
  }

  /** Where a webhook or stream URL is actually sent: the configured origin, same path and query. */
  function rewrite(url: string): string {
    if (!driver.deliverTo) return url;
    const u = new URL(url);
    const target = new URL(driver.deliverTo);
    const scheme = u.protocol.startsWith("ws") ? target.protocol.replace("http", "ws") : target.protocol;
    return `${scheme}//${target.host}${u.pathname}${u.search}`;
  }

  async function handle(req: Request): Promise<Response> {
    const u = new URL(req.url);
    const path = u.pathname;
    const body = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
    const form =
      req.method === "GET" || req.method === "HEAD" ? new URLSearchParams(u.search) : new URLSearchParams(body);
    const creds = parseBasic(req.headers.get("authorization"));
    const pathAccount = /^\/2010-04-01\/Accounts\/([^/]+?)(?:\.json)?(?:\/|$)/.exec(path)?.[1];
    const authorized =
      creds !== null && creds.user === accountSid && creds.pass === authToken && pathAccount === accountSid;
    requests.push({ method: req.method, path, form, authorized });

    const operation = restOperation(req.method, path, callsPrefix);
    const fault = operation ? driver.faults[operation] : undefined;
    if (fault) return faultResponse(fault, held);
    const injected = failures.shift();
    if (injected) return fail(injected);

    if (pathAccount === undefined) return notFound(path);
    if (!authorized) {
      return fail(
        { status: 401, code: 20003, message: "Authenticate" },
        { "WWW-Authenticate": 'Basic realm="Twilio API"' },
      );
    }

    if (path === `${callsPrefix}.json`) {
      return req.method === "POST" ? createCall(form) : notFound(path);
    }
    const sid = path.startsWith(`${callsPrefix}/`)
      ? /^([^/]+)\.json$/.exec(path.slice(callsPrefix.length + 1))?.[1]
      : undefined;
    if (sid === undefined || (req.method !== "GET" && req.method !== "POST")) return notFound(path);
    const call = calls.get(sid);
    if (!call) return notFound(path);
    return req.method === "GET" ? json(resource(call), 200) : updateCall(call, form);
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) =>
      handle(req).catch((e: unknown) =>
        fail({
          status: 500,
          code: 20500,
          message: `simulated carrier internal error: ${e instanceof Error ? e.message : String(e)}`,
        }),
      ),
  });

  function mustCall(callSid: string): CarrierCall {
    const call = calls.get(callSid);
    if (!call) throw new Error(`sim carrier: unknown call ${callSid}`);
    return call;
  }

  async function post(
    url: string,
    params: Record<string, string>,
    o: { signature?: string | null } = {},
  ): Promise<Response> {
    const signature = o.signature === undefined ? twilioSignature(authToken, url, params) : o.signature;
    const headers: Record<string, string> = {
      "Content-Type": "application/x-www-form-urlencoded",
      "User-Agent": "TwilioProxy/1.1",
      Accept: "*/*",
    };
    if (signature !== null) headers["X-Twilio-Signature"] = signature;
    if (opts.freshConnections) headers.Connection = "close";
    const record: SentWebhook = { url, params: { ...params }, signature, status: 0 };
    try {
      const res = await fetch(rewrite(url), { method: "POST", headers, body: new URLSearchParams(params) });
      record.status = res.status;
      return res;
    } catch (e) {
      record.error = e instanceof Error ? e.message : String(e);
      throw e;
    } finally {
      sent.push(record);
    }
  }

  function baseParams(call: CarrierCall): Record<string, string> {
    return {
      AccountSid: accountSid,
      ApiVersion: API_VERSION,
      CallSid: call.sid,
      Direction: meta.get(call.sid)?.direction ?? "outbound-api",
      From: call.from,
      To: call.to,
    };
  }

  const driver: Carrier = {
    url: `http://127.0.0.1:${server.port}`,
    accountSid,
    authToken,
    phoneNumber,
    calls,
    requests,
    sent,
    dials,
    failNext(err) {
      failures.push(err);
    },
    price: (callSid) => priceOf(mustCall(callSid)),
    faults: { ...opts.faults },
    media,
    lines,
    dropStream(callSid) {
      const client = media.get(callSid);
      if (!client?.isOpen()) return false;
      client.close();
      return true;
    },
    deliverTo: opts.deliverTo,
    async flush() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async stop() {
      stopping = true;
      for (const release of held) release();
      held.clear();
      for (const line of media.values()) if (line.isOpen()) line.close();
      await driver.flush();
      await server.stop(true);
    },
    sign(url, params) {
      return twilioSignature(authToken, url, params);
    },
    post,
    async sendStatus(callSid, status, extra = {}) {
      const call = mustCall(callSid);
      if (!call.statusCallback) throw new Error(`sim carrier: call ${callSid} has no StatusCallback`);
      setStatus(call, status);
      const params: Record<string, string> = {
        ...baseParams(call),
        CallStatus: status,
        CallbackSource: "call-progress-events",
        SequenceNumber: String(call.sequence++),
        Timestamp: rfc2822(new Date()),
      };
      const m = meta.get(callSid);
      if (TERMINAL.has(status)) params.CallDuration = String(m ? talkSeconds(m, speed) : 0);
      // Once AMD has its verdict, Twilio reports it on status callbacks too.
      if (m?.answeredBy) params.AnsweredBy = m.answeredBy;
      return post(call.statusCallback, { ...params, ...extra });
    },
    async sendVoice(callSid, extra = {}) {
      const call = mustCall(callSid);
      if (!call.url) throw new Error(`sim carrier: call ${callSid} has no Url (created with Twiml?)`);
      // Twilio fetches the voice URL of an outbound call when it is answered.
      if (!TERMINAL.has(call.status)) setStatus(call, "in-progress");
      return post(call.url, { ...baseParams(call), CallStatus: "in-progress", ...extra });
    },
    async sendInbound(voiceUrl, p) {
      const callSid = `CA${hex(16)}`;
      const now = new Date();
      const call: CarrierCall = {
        sid: callSid,
        to: p.to ?? phoneNumber,
        from: p.from,
        status: "ringing",
        url: voiceUrl,
        statusCallback: "",
        statusCallbackEvents: [],
        params: {},
        sequence: 0,
      };
      // Registered so tests can hang up inbound calls through the REST API, as with real Twilio.
      calls.set(callSid, call);
      meta.set(callSid, { direction: "inbound", created: now, updated: now });
      const response = await post(voiceUrl, { ...baseParams(call), CallStatus: "ringing", ...p.extra });
      return { callSid, response };
    },
  };
  return driver;
}
