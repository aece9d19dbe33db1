import { v4 as uuidv4 } from "uuid";
import type { AppContext } from "../app.ts";
import { type RemoteCall, TwilioError } from "../twilio/rest.ts";
import { sayAndHangup } from "../twilio/twiml.ts";
import { TWILIO_PATHS, trimSlash, twilioUrl } from "../twilio/urls.ts";
import { StatusWebhook } from "../twilio/webhook.ts";
import { type CallRequest, MISSING_WEBHOOK } from "./request.ts";
import { type CallStatus, isCallStatus, isPreAnswer, isTerminal, judge } from "./status.ts";
import type { CallPatch, CallRow, NewCall } from "./store.ts";

export type FailureKind =
  | "invalid"
  | "not_found"
  | "limit"
  | "twilio_refused"
  | "twilio_unreachable"
  | "not_configured";

/** A request the service turns down; the HTTP edge maps `kind` to a status code and keeps `message` verbatim. */
export class CallError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

function requireTwilio(ctx: AppContext) {
  if (!ctx.twilio) {
    throw new CallError("not_configured", `Twilio is not configured: set ${ctx.missingTwilio.join(", ")}`);
  }
  return ctx.twilio;
}

export type Report = { status: CallStatus; sequence?: number; duration?: number; error?: string };
type Source = "api" | "status_callback" | "voice_webhook" | "reconcile";

const END_REASON: Record<string, string> = {
  completed: "completed",
  busy: "busy",
  "no-answer": "no_answer",
  failed: "failed",
  canceled: "canceled",
};

/** A status this server set itself (not a Twilio report to judge), kept in the history like any other. */
export function recordStatus(
  ctx: AppContext,
  callId: string,
  callSid: string | null,
  status: string,
  source: Source,
  at: number,
  params: unknown = null,
): void {
  ctx.store.addEvent({
    call_id: callId,
    call_sid: callSid,
    status,
    sequence: null,
    source,
    verdict: "apply",
    at,
    params: params === null ? null : JSON.stringify(params),
  });
}

/** What a report changes on a call, given the verdict; terminal duplicates may still bring CallDuration. */
function patchFor(call: CallRow, report: Report, verdict: string, at: number): CallPatch | null {
  if (verdict !== "apply") {
    const lateDuration = verdict === "duplicate" && report.duration !== undefined && call.duration_s === null;
    return lateDuration ? { duration_s: report.duration! } : null;
  }
  const patch: CallPatch = { status: report.status };
  if (report.sequence !== undefined) patch.last_sequence = report.sequence;
  if (report.status === "in-progress" && call.answered_at === null) patch.answered_at = at;
  if (isTerminal(report.status)) {
    if (call.ended_at === null) patch.ended_at = at;
    if (report.duration !== undefined) patch.duration_s = report.duration;
    patch.end_reason = call.end_reason ?? END_REASON[report.status]!;
    if (report.error) patch.error = report.error;
  }
  return patch;
}

/** Records a status report for a call (always, as an event) and applies it if it moves the call forward. */
export function applyReport(
  ctx: AppContext,
  callId: string,
  report: Report,
  source: Source,
  at: number,
  params?: unknown,
): CallRow {
  return ctx.store.transaction(() => {
    const call = ctx.store.getCall(callId)!;
    const verdict = judge(call, report.status, report.sequence);
    ctx.store.addEvent({
      call_id: call.id,
      call_sid: call.call_sid,
      status: report.status,
      sequence: report.sequence ?? null,
      source,
      verdict,
      at,
      params: params === undefined ? null : JSON.stringify(params),
    });
    const patch = patchFor(call, report, verdict, at);
    const updated = patch ? ctx.store.updateCall(call.id, patch, at) : call;
    if (patch?.ended_at) {
      ctx.log.info("call ended", { call_id: call.id, status: updated.status, end_reason: updated.end_reason });
      ctx.bridges.get(call.id)?.close("call_ended");
    }
    return updated;
  });
}

function remoteReport(remote: RemoteCall): Report | null {
  if (!isCallStatus(remote.status)) return null;
  return { status: remote.status, duration: remote.duration ?? undefined };
}

/** Status callbacks that raced ahead of the create reply were kept by CallSid; replay them in order now. */
function adoptOrphans(ctx: AppContext, call: CallRow): void {
  const orphans = ctx.store.takeOrphans(call.call_sid!);
  for (const event of orphans.sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0))) {
    const parsed = StatusWebhook.safeParse(JSON.parse(event.params ?? "{}"));
    if (parsed.success) applyReport(ctx, call.id, statusReport(parsed.data), "status_callback", event.at, parsed.data);
  }
}

function resolveWebhookBase(ctx: AppContext, requested?: string): string {
  const base = requested ?? ctx.config.server.public_url;
  if (!base) throw new CallError("invalid", MISSING_WEBHOOK);
  return trimSlash(base);
}

export function checkCapacity(ctx: AppContext): boolean {
  return ctx.store.countActive() < ctx.config.calls.max_concurrent;
}

export interface CreatedCall {
  call_id: string;
  to: string;
  webhook_url: string;
}

export async function createOutboundCall(ctx: AppContext, req: CallRequest): Promise<CreatedCall> {
  const webhookUrl = resolveWebhookBase(ctx, req.webhook_url);
  const twilio = requireTwilio(ctx);
  if (!checkCapacity(ctx)) {
    throw new CallError(
      "limit",
      `Too many active calls: the limit is ${ctx.config.calls.max_concurrent} (calls.max_concurrent)`,
    );
  }
  const at = ctx.now();
  const call: NewCall = {
    id: uuidv4(),
    direction: "outbound",
    from_number: ctx.config.twilio.phone_number ?? null,
    to_number: req.to,
    status: "queued",
    prompt: req.prompt ?? ctx.config.agent.default_prompt,
    metadata: JSON.stringify(req.metadata),
    webhook_url: webhookUrl,
  };
  ctx.store.transaction(() => {
    ctx.store.insertCall(call, at);
    recordStatus(ctx, call.id, null, "queued", "api", at);
  });
  const log = ctx.log.child({ call_id: call.id });
  try {
    const remote = await twilio.createCall({
      to: req.to,
      voiceUrl: twilioUrl(webhookUrl, TWILIO_PATHS.voice),
      statusUrl: twilioUrl(webhookUrl, TWILIO_PATHS.status),
      timeoutS: ctx.config.calls.ring_timeout_s,
      timeLimitS: ctx.config.calls.max_duration_s,
    });
    const row = ctx.store.updateCall(call.id, { call_sid: remote.sid }, ctx.now());
    adoptOrphans(ctx, row);
    log.info("call created", { call_sid: remote.sid, to: req.to });
    if (ctx.store.getCall(call.id)!.end_requested_at !== null) {
      endCall(ctx, call.id).catch((e) =>
        log.warn("ending a call that was ended while being created failed", { error: e }),
      );
    }
    return { call_id: call.id, to: req.to, webhook_url: webhookUrl };
  } catch (e) {
    const err = e instanceof TwilioError ? e : new TwilioError("unreachable", String(e));
    const message =
      err.kind === "refused" ? `Unable to create record: ${err.message}` : `Unable to reach Twilio: ${err.message}`;
    const now = ctx.now();
    ctx.store.transaction(() => {
      ctx.store.updateCall(
        call.id,
        { status: "failed", ended_at: now, end_reason: "twilio_error", error: message },
        now,
      );
      recordStatus(ctx, call.id, null, "failed", "api", now);
    });
    log.warn("creating the call at Twilio failed", { kind: err.kind, code: err.code, error: err.message });
    throw new CallError(err.kind === "refused" ? "twilio_refused" : "twilio_unreachable", message);
  }
}

export function getCall(ctx: AppContext, id: string): CallRow {
  const call = ctx.store.getCall(id);
  if (!call) throw new CallError("not_found", "Call not found");
  return call;
}

/**
 * Records that the server is ending the call and why, before asking Twilio: the completed callback
 * that follows may land first, and a reason already recorded is the one it keeps.
 */
function requestEnd(ctx: AppContext, call: CallRow, reason: string): CallRow {
  const at = ctx.now();
  return ctx.store.updateCall(
    call.id,
    { end_requested_at: call.end_requested_at ?? at, end_reason: call.end_reason ?? reason },
    at,
  );
}

/** Hangs up through Twilio. Idempotent: ending an ended call succeeds and changes nothing. */
export async function endCall(ctx: AppContext, id: string, reason = "ended_by_api"): Promise<CallRow> {
  let call = getCall(ctx, id);
  if (call.ended_at !== null || isTerminal(call.status)) return call;
  call = requestEnd(ctx, call, reason);
  // Not yet accepted by Twilio: createOutboundCall sees the request when Twilio answers and ends it then.
  const sid = call.call_sid;
  if (!sid) return call;
  const twilio = requireTwilio(ctx);
  try {
    // `canceled` is a no-op on a call answered in the meantime, so follow it with `completed` when needed.
    let remote = isPreAnswer(call.status) ? await twilio.updateCall(sid, { status: "canceled" }) : null;
    if (!remote || !isTerminal(remote.status)) remote = await twilio.updateCall(sid, { status: "completed" });
    const report = remoteReport(remote);
    if (report) call = applyReport(ctx, call.id, report, "api", ctx.now());
  } catch (e) {
    if (!(e instanceof TwilioError)) throw e;
    if (e.kind === "unreachable") throw new CallError("twilio_unreachable", `Unable to reach Twilio: ${e.message}`);
    // Usually "not in progress": the call ended on Twilio's side first. Ask what it became.
    const remote = await twilio.fetchCall(sid).catch(() => null);
    const report = remote && remoteReport(remote);
    if (!report || !isTerminal(report.status))
      throw new CallError("twilio_refused", `Unable to end call: ${e.message}`);
    call = applyReport(ctx, call.id, report, "api", ctx.now());
  }
  ctx.bridges.get(call.id)?.close(reason);
  ctx.log.info("call end requested", { call_id: call.id, status: call.status, reason });
  return call;
}

/** Replaces the call's TwiML with a short apology and a hang-up, recording why. */
export async function apologizeAndHangUp(ctx: AppContext, id: string, reason: string): Promise<void> {
  const call = requestEnd(ctx, getCall(ctx, id), reason);
  if (!call.call_sid || !ctx.twilio || call.ended_at !== null) return;
  await ctx.twilio.updateCall(call.call_sid, {
    twiml: await sayAndHangup("Sorry, the assistant is not available right now. Please try again later. Goodbye."),
  });
}

export function statusReport(p: StatusWebhook): Report {
  const error = p.ErrorMessage ?? (p.ErrorCode ? `Twilio error ${p.ErrorCode}` : undefined);
  return { status: p.CallStatus, sequence: p.SequenceNumber, duration: p.CallDuration, error };
}

export function handleStatusCallback(ctx: AppContext, p: StatusWebhook): void {
  const at = ctx.now();
  const call = ctx.store.getCallBySid(p.CallSid);
  if (call) {
    applyReport(ctx, call.id, statusReport(p), "status_callback", at, p);
    return;
  }
  ctx.store.addEvent({
    call_id: null,
    call_sid: p.CallSid,
    status: p.CallStatus,
    sequence: p.SequenceNumber ?? null,
    source: "status_callback",
    verdict: "orphan",
    at,
    params: JSON.stringify(p),
  });
}

/** Base URLs a webhook for this CallSid may have been signed against: the call's own, then the server's. */
export function signatureBases(ctx: AppContext, callSid: string | undefined): string[] {
  const bases = new Set<string>();
  const call = callSid ? ctx.store.getCallBySid(callSid) : null;
  if (call) bases.add(call.webhook_url);
  if (ctx.config.server.public_url) bases.add(trimSlash(ctx.config.server.public_url));
  return [...bases];
}

/**
 * Calls left active by a crash: ask Twilio what became of them; if Twilio can't say, end them with
 * reason `server_restart` so they stop counting against limits.
 */
export async function reconcile(ctx: AppContext): Promise<void> {
  const stale = ctx.store.listActive();
  for (let call of stale) {
    const remote = call.call_sid && ctx.twilio ? await ctx.twilio.fetchCall(call.call_sid).catch(() => null) : null;
    const report = remote && remoteReport(remote);
    if (report) call = applyReport(ctx, call.id, report, "reconcile", ctx.now());
    // Still ringing: when it is answered, the voice webhook bridges it as usual.
    if (report && isPreAnswer(report.status)) continue;
    // Answered: its media bridge died with the old process, so hang up rather than leave dead air.
    if (report?.status === "in-progress") {
      requestEnd(ctx, call, "server_restart");
      await ctx.twilio!.updateCall(call.call_sid!, { status: "completed" }).catch(() => null);
      // A completed callback may have landed during the await and ended the call already.
      call = ctx.store.getCall(call.id)!;
    }
    if (call.ended_at === null) {
      const at = ctx.now();
      ctx.store.updateCall(call.id, { ended_at: at, end_reason: "server_restart" }, at);
      ctx.log.warn("call ended by restart", { call_id: call.id, status: call.status });
    }
  }
  if (stale.length) ctx.log.info("reconciled calls left active by the previous run", { count: stale.length });
}
