// Applying what Twilio reports about a call: status callbacks, the voice webhook's status, and the
// state Twilio gives back when asked.
import type { AppContext } from "../app.ts";
import type { CallPatch, CallRow, EventSource, Verdict } from "../store/store.ts";
import type { RemoteCall } from "../twilio/rest.ts";
import { isCallStatus, isTerminal } from "../twilio/status.ts";
import { StatusWebhook } from "../twilio/webhook.ts";
import { statusEvent } from "./events.ts";
import { addHistory } from "./history.ts";
import { notRetried, retryDelayMs, roomToWait, scheduleRetry } from "./retry-schedule.ts";
import { END_REASON, judge, type Report } from "./status.ts";

/** What a report changes on a call, given the verdict; terminal duplicates may still bring CallDuration. */
function patchFor(call: CallRow, report: Report, verdict: Verdict, at: number): CallPatch | null {
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
  source: EventSource,
  at: number,
  params?: unknown,
): Promise<CallRow> {
  return ctx.store.transaction(async () => {
    const call = (await ctx.store.getCall(callId))!;
    const verdict = judge(call, report.status, report.sequence);
    await addHistory(ctx, {
      callId: call.id,
      callSid: call.call_sid,
      status: report.status,
      sequence: report.sequence,
      source,
      verdict,
      at,
      params,
    });
    const retryInMs = verdict === "apply" ? retryDelayMs(ctx, call, report.status) : null;
    if (retryInMs !== null && (await roomToWait(ctx))) return scheduleRetry(ctx, call, report, retryInMs, at);
    const patch = patchFor(call, report, verdict, at);
    if (retryInMs !== null && patch) patch.error = notRetried(ctx, call, report);
    const updated = patch ? await ctx.store.updateCall(call.id, patch, at) : call;
    if (verdict === "apply") await statusEvent(ctx, updated, at);
    if (patch?.ended_at) {
      ctx.signals.callEnded();
      ctx.log.info("call ended", { call_id: call.id, status: updated.status, end_reason: updated.end_reason });
      ctx.bridges.get(call.id)?.close("call_ended");
    }
    return updated;
  });
}

/** The report in what Twilio's REST API says of a call, if its status is one we know. */
export function remoteReport(remote: RemoteCall): Report | null {
  if (!isCallStatus(remote.status)) return null;
  return { status: remote.status, duration: remote.duration ?? undefined };
}

function statusReport(p: StatusWebhook): Report {
  const error = p.ErrorMessage ?? (p.ErrorCode ? `Twilio error ${p.ErrorCode}` : undefined);
  return { status: p.CallStatus, sequence: p.SequenceNumber, duration: p.CallDuration, error };
}

/** Status callbacks that raced ahead of the create reply were kept by CallSid; replay them in order now. */
export async function adoptOrphans(ctx: AppContext, call: CallRow): Promise<void> {
  const orphans = await ctx.store.takeOrphans(call.call_sid!);
  for (const event of orphans.sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0))) {
    const parsed = StatusWebhook.safeParse(JSON.parse(event.params ?? "{}"));
    if (parsed.success)
      await applyReport(ctx, call.id, statusReport(parsed.data), "status_callback", event.at, parsed.data);
  }
}

/**
 * The call a webhook is about: by its CallSid, or, for an outbound call whose CallSid was never stored
 * (the process died between Twilio's create and our commit), by the call id in the URL we gave Twilio.
 * While the create is still under way here, its reply will name the CallSid: the callback waits as an orphan.
 */
export async function callForWebhook(ctx: AppContext, callSid: string, callId: string | null): Promise<CallRow | null> {
  const known = await ctx.store.getCallBySid(callSid);
  if (known || !callId || ctx.dialing.has(callId)) return known;
  // An earlier attempt of a call that was tried again: its late callbacks must not claim the call.
  if (await ctx.store.callIdOfAttempt(callSid)) return null;
  const call = await ctx.store.getCall(callId);
  if (!call || call.call_sid !== null || call.direction !== "outbound" || call.ended_at !== null) return null;
  ctx.log.warn("found a call by the id in its webhook URL: its create reply was lost", { call_id: call.id });
  await adoptOrphans(ctx, await ctx.store.updateCall(call.id, { call_sid: callSid }, ctx.now()));
  return ctx.store.getCall(call.id);
}

/**
 * callForWebhook for a webhook that is answered about its call (the voice webhook, machine detection's result),
 * outside any transaction. Twilio can send one before this process has the create reply that names its CallSid: a
 * callee who answers at once, or a reply slowed on its way (in the load bench at 1000 calls on two cores, up to 5 % of
 * a run's calls). Such a webhook waits for the reply rather than finding no call and hanging up an answered one.
 */
export async function callForAnswer(ctx: AppContext, callSid: string, callId: string | null): Promise<CallRow | null> {
  const known = await callForWebhook(ctx, callSid, callId);
  const placing = callId === null ? undefined : ctx.dialing.get(callId);
  if (known || !placing) return known;
  await placing;
  return callForWebhook(ctx, callSid, callId);
}

/**
 * A callback for a CallSid no call knows yet is kept as an orphan, for adoptOrphans once the call is created.
 * One transaction, as storing a new CallSid is (recordPlaced): no orphan is kept after its call took its CallSid.
 */
export function handleStatusCallback(ctx: AppContext, p: StatusWebhook, callId: string | null = null): Promise<void> {
  const at = ctx.now();
  return ctx.store.transaction(async () => {
    const call = await callForWebhook(ctx, p.CallSid, callId);
    if (call) {
      await applyReport(ctx, call.id, statusReport(p), "status_callback", at, p);
      return;
    }
    const pastAttemptOf = await ctx.store.callIdOfAttempt(p.CallSid);
    await addHistory(ctx, {
      callId: pastAttemptOf,
      callSid: p.CallSid,
      status: p.CallStatus,
      sequence: p.SequenceNumber,
      source: "status_callback",
      verdict: pastAttemptOf ? "after_terminal" : "orphan",
      at,
      params: p,
    });
  });
}
