// src/calls/ owns what happens to one call: placing it, Twilio's reports and webhooks, streams, hang-up,
// transfer, AMD, its options and its view. It must not import workers/, http/ or cli/ (they call into it).
//
// Placing outbound calls: where Twilio's webhooks go, whether there is room, and the create at Twilio.
import { v4 as uuidv4 } from "uuid";
import type { AppContext } from "../app.ts";
import { type LineDefaults, lineDefaults, ownNumbers } from "../config/numbers.ts";
import { z } from "../config/zod.ts";
import { callbackRefusal } from "../events/receiver-host.ts";
import type { Logger } from "../log.ts";
import { providerKey } from "../model/protocol.ts";
import { providerVoiceProblem } from "../model/voices.ts";
import type { NewCall } from "../store/store.ts";
import { TwilioError, type TwilioRest } from "../twilio/rest.ts";
import { TWILIO_PATHS, trimSlash, twilioUrl } from "../twilio/urls.ts";
import { destinationRefusal } from "./destinations.ts";
import { CallError, refuseWhileDraining, requireTwilio } from "./errors.ts";
import { enqueueEvent } from "./events.ts";
import { endCall } from "./hangup.ts";
import { addHistory } from "./history.ts";
import { type CallOptions, callOptions, resolveOptions } from "./options.ts";
import { adoptOrphans } from "./reports.ts";
import { type CallRequest, MISSING_WEBHOOK } from "./request.ts";
import { firstDue, requireWindowZone, scheduleCall, scheduledForText } from "./schedule.ts";

/** What placing a call answers, after `success`: the original API's response. */
export const createdCallShape = () => ({
  call_id: z.string().check(z.describe("the call's UUID: GET /api/calls/{id} and the events name it")),
  to: z.string(),
  webhook_url: z.string().check(z.describe("the public base URL Twilio's webhooks for this call go to")),
  scheduled_for: z.optional(
    z.iso.datetime().check(z.describe("only for a call placed for later: when it will be dialled")),
  ),
});
export type CreatedCall = z.output<z.ZodMiniObject<ReturnType<typeof createdCallShape>>>;

function resolveWebhookBase(ctx: AppContext, requested?: string): string {
  const base = requested ?? ctx.config.server.public_url;
  if (!base) throw new CallError("invalid", MISSING_WEBHOOK);
  return trimSlash(base);
}

/**
 * Runs `admitted` if calls.max_concurrent leaves room, in one transaction with the count and under the
 * admission lock, so two admissions, on any instance, never both take the last place; null if there is none.
 */
export function admit<T>(ctx: AppContext, admitted: () => Promise<T>): Promise<T | null> {
  return ctx.store.transaction(async () => {
    await ctx.store.lockAdmission();
    if ((await ctx.store.countActive()) >= ctx.config.calls.max_concurrent) return null;
    return admitted();
  });
}

/** What admitting a call with retries answers while calls.max_waiting calls wait already. */
const WAITING_FULL = Symbol("calls.max_waiting");

const tooManyWaiting = (ctx: AppContext) =>
  `Too many calls waiting for a retry: the limit is ${ctx.config.calls.max_waiting} (calls.max_waiting)`;

/**
 * The call is stored before Twilio is asked, so callbacks that race ahead of the reply have a call to wait for.
 * A call that may be retried is admitted only while fewer than calls.max_waiting calls wait, counted in the
 * admitting transaction, under the admission lock, like the active calls.
 */
async function insertQueuedCall(ctx: AppContext, req: CallRequest, call: NewCall): Promise<NewCall> {
  const at = ctx.now();
  const mayWait = (req.retry?.max_attempts ?? 1) > 1;
  const inserted = await admit(ctx, async () => {
    if (mayWait && (await ctx.store.countWaiting()) >= ctx.config.calls.max_waiting) return WAITING_FULL;
    await ctx.store.insertCall(call, at);
    await addHistory(ctx, { callId: call.id, callSid: null, status: "queued", source: "api", verdict: "apply", at });
    return call;
  });
  if (!inserted) {
    throw new CallError(
      "limit",
      `Too many active calls: the limit is ${ctx.config.calls.max_concurrent} (calls.max_concurrent)`,
    );
  }
  if (inserted === WAITING_FULL) throw new CallError("limit", tooManyWaiting(ctx));
  return inserted;
}

/** Where the call goes, as whom and how: the row stored before it is dialled, now or when it is due. */
interface Placement {
  webhookUrl: string;
  clientAddress: string | null;
  from: string | null;
  line: LineDefaults;
  options: CallOptions;
}

function newOutboundCall(ctx: AppContext, req: CallRequest, p: Placement): NewCall {
  return {
    id: uuidv4(),
    direction: "outbound",
    from_number: p.from,
    to_number: req.to,
    status: "queued",
    prompt: req.prompt ?? p.line.prompt ?? ctx.config.agent.default_prompt,
    metadata: JSON.stringify(req.metadata),
    webhook_url: p.webhookUrl,
    report_schema: req.report_schema === undefined ? null : JSON.stringify(req.report_schema),
    callback_url: req.callback_url ?? null,
    notify: req.notify ? 1 : 0,
    options: JSON.stringify(p.options),
    owner: ctx.instanceId,
    client_address: p.clientAddress,
  };
}

/** What dialling needs of a call: it is stored already, as a new row or one waiting for its next attempt. */
export type Dialable = Pick<NewCall, "id" | "to_number" | "from_number" | "webhook_url" | "options">;

/** Asks Twilio to dial, then catches up on what happened meanwhile: early callbacks, an early end request. */
export async function dial(ctx: AppContext, twilio: TwilioRest, call: Dialable, log: Logger): Promise<void> {
  // The call id rides in our own URLs (Twilio signs them whole), so a call whose create reply was lost
  // to a crash is still found when its callbacks come: see callForWebhook.
  const url = (path: string) => `${twilioUrl(call.webhook_url, path)}?call_id=${call.id}`;
  const detectMachines = callOptions(ctx.config, call.options ?? null).voicemail !== "continue";
  const placed = Promise.withResolvers<void>();
  ctx.dialing.set(call.id, placed.promise);
  try {
    const remote = await twilio.createCall({
      to: call.to_number,
      from: call.from_number ?? undefined,
      voiceUrl: url(TWILIO_PATHS.voice),
      statusUrl: url(TWILIO_PATHS.status),
      timeoutS: ctx.config.calls.ring_timeout_s,
      timeLimitS: ctx.config.calls.max_duration_s,
      amdUrl: detectMachines ? url(TWILIO_PATHS.amd) : undefined,
    });
    await recordPlaced(ctx, call.id, remote.sid);
    log.info("call created", { call_sid: remote.sid, to: call.to_number });
  } finally {
    // Until the CallSid is stored, a callback naming it is kept as an orphan, for recordPlaced to apply, and the
    // voice webhook waits (callForAnswer).
    ctx.dialing.delete(call.id);
    placed.resolve();
  }
  if ((await ctx.store.getCall(call.id))!.end_requested_at !== null) {
    endCall(ctx, call.id).catch((e) =>
      log.warn("ending a call that was ended while being created failed", { error: e }),
    );
  }
}

/**
 * Stores the CallSid Twilio gave the call, announces it, and applies the callbacks that came before it, in
 * one transaction: a status callback (handled in one too) lands wholly before it, as an orphan, or after it.
 */
async function recordPlaced(ctx: AppContext, callId: string, sid: string): Promise<void> {
  const at = ctx.now();
  await ctx.store.transaction(async () => {
    const placed = await ctx.store.updateCall(callId, { call_sid: sid }, at);
    await enqueueEvent(ctx, placed, "call.initiated", at, { attempt: placed.attempt });
    await adoptOrphans(ctx, placed);
  });
}

/** Ends a call Twilio would not create as failed (`twilio_error`), and words the error for the client. */
export async function failCreate(ctx: AppContext, callId: string, e: unknown, log: Logger): Promise<CallError> {
  const err = e instanceof TwilioError ? e : new TwilioError("unreachable", String(e));
  const message =
    err.kind === "refused" ? `Unable to create record: ${err.message}` : `Unable to reach Twilio: ${err.message}`;
  const now = ctx.now();
  await ctx.store.transaction(async () => {
    await ctx.store.updateCall(
      callId,
      { status: "failed", ended_at: now, end_reason: "twilio_error", error: message },
      now,
    );
    await addHistory(ctx, { callId, callSid: null, status: "failed", source: "api", verdict: "apply", at: now });
  });
  ctx.signals.callEnded();
  log.warn("creating the call at Twilio failed", { kind: err.kind, code: err.code, error: err.message });
  return new CallError(err.kind === "refused" ? "twilio_refused" : "twilio_unreachable", message);
}

/** Every number the call may dial, the callee and a transfer target alike, is checked against toll fraud. */
async function requireAllowedDestinations(ctx: AppContext, req: CallRequest): Promise<void> {
  const target = req.transfer_to ?? ctx.config.calls.transfer_to;
  const refusal =
    (await destinationRefusal(ctx.config, req.to, "'to'")) ??
    (target ? await destinationRefusal(ctx.config, target, "'transfer_to'") : null);
  if (refusal) throw new CallError("invalid", refusal);
}

/** Each attempt is a call Twilio bills: a request may not have them follow closer than calls.retry_min_delay_s. */
function requireRetryDelay(ctx: AppContext, req: CallRequest): void {
  const min = ctx.config.calls.retry_min_delay_s;
  const delay = req.retry?.delay_s;
  if (delay !== undefined && delay < min) {
    throw new CallError("invalid", `'retry.delay_s' must be at least ${min} (calls.retry_min_delay_s)`);
  }
}

/** Caller ID is one of this server's own numbers (Twilio refuses others): `from`, else twilio.phone_number. */
function requireOwnNumber(ctx: AppContext, from: string | undefined): string | null {
  if (from === undefined) return ctx.config.twilio.phone_number ?? null;
  if (ownNumbers(ctx.config).includes(from)) return from;
  throw new CallError("invalid", `'from' ${from} is not one of this server's numbers (twilio.phone_numbers)`);
}

/** A call's own receiver must be on the public internet unless the operator allows private networks. */
async function requirePublicCallback(ctx: AppContext, req: CallRequest): Promise<void> {
  if (req.callback_url === undefined) return;
  const refusal = await callbackRefusal(req.callback_url, ctx.lookupHost, ctx.config.events.allow_private_networks);
  if (refusal) throw new CallError("invalid", refusal);
}

/**
 * The call's provider can be reached and speaks in its voice. A provider the request names, or Google as the
 * default, needs its key now; OpenAI as the default keeps the original API's answer (the call apologizes).
 */
function requireModel(ctx: AppContext, req: CallRequest, options: CallOptions): void {
  const { provider, voice } = options;
  if ((req.provider !== undefined || provider === "google") && !providerKey(ctx.config, provider)) {
    const key = provider === "google" ? "gemini.api_key (GEMINI_API_KEY)" : "openai.api_key (OPENAI_API_KEY)";
    throw new CallError("invalid", `'provider' ${provider} is not configured on this server: ${key} is not set`);
  }
  const problem = providerVoiceProblem(provider, voice);
  if (problem) throw new CallError("invalid", `'voice' ${problem}`);
}

/** `clientAddress`: who asked, whose limits.calls_per_minute the call's retries draw from too. */
export async function createOutboundCall(
  ctx: AppContext,
  req: CallRequest,
  clientAddress: string | null = null,
): Promise<CreatedCall> {
  refuseWhileDraining(ctx);
  const webhookUrl = resolveWebhookBase(ctx, req.webhook_url);
  const twilio = requireTwilio(ctx);
  const from = requireOwnNumber(ctx, req.from);
  await requireAllowedDestinations(ctx, req);
  requireRetryDelay(ctx, req);
  requireWindowZone(ctx, req);
  await requirePublicCallback(ctx, req);
  const line = lineDefaults(ctx.config, from);
  const options = resolveOptions(ctx.config, req, line);
  requireModel(ctx, req, options);
  const due = firstDue(ctx, req, options.call_window);
  const placed = newOutboundCall(ctx, req, { webhookUrl, clientAddress, from, line, options });
  if (due !== null) {
    const scheduled = await scheduleCall(ctx, placed, due);
    const scheduled_for = scheduledForText(scheduled.scheduled_for, options)!;
    return { call_id: scheduled.id, to: req.to, webhook_url: webhookUrl, scheduled_for };
  }
  const call = await insertQueuedCall(ctx, req, placed);
  const log = ctx.log.child({ call_id: call.id });
  try {
    await dial(ctx, twilio, call, log);
    return { call_id: call.id, to: req.to, webhook_url: webhookUrl };
  } catch (e) {
    throw await failCreate(ctx, call.id, e, log);
  }
}
