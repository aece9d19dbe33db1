// Ending calls from this side: on request, by the agent, or with an apology when the model is gone.
import { MODEL_LOST_APOLOGY } from "../agent/lines.ts";
import type { AppContext } from "../app.ts";
import type { CallRow, EndReason } from "../store/store.ts";
import { TwilioError } from "../twilio/rest.ts";
import { isPreAnswer, isTerminal } from "../twilio/status.ts";
import { sayAndHangup } from "../twilio/twiml.ts";
import { CallError, getCall, requireTwilio } from "./errors.ts";
import { applyReport, remoteReport } from "./reports.ts";
import { cancelRetry } from "./retry-schedule.ts";

/**
 * Records that the server is ending the call and why, before asking Twilio: the completed callback
 * that follows may land first, and a reason already recorded is the one it keeps (read in the same transaction).
 */
export function requestEnd(ctx: AppContext, id: string, reason: EndReason): Promise<CallRow> {
  const at = ctx.now();
  return ctx.store.transaction(async () => {
    const call = (await ctx.store.getCall(id))!;
    return ctx.store.updateCall(
      id,
      { end_requested_at: call.end_requested_at ?? at, end_reason: call.end_reason ?? reason },
      at,
    );
  });
}

/** Hangs up through Twilio. Idempotent: ending an ended call succeeds and changes nothing. */
export async function endCall(ctx: AppContext, id: string, reason: EndReason = "ended_by_api"): Promise<CallRow> {
  let call = await getCall(ctx, id);
  if (call.ended_at !== null || isTerminal(call.status)) return call;
  if (call.next_attempt_at !== null) {
    call = await cancelRetry(ctx, call, reason);
    if (call.ended_at !== null) return call;
  }
  call = await requestEnd(ctx, call.id, reason);
  // Not yet accepted by Twilio: createOutboundCall sees the request when Twilio answers and ends it then.
  const sid = call.call_sid;
  if (!sid) return call;
  const twilio = requireTwilio(ctx);
  try {
    // `canceled` is a no-op on a call answered in the meantime, so follow it with `completed` when needed.
    let remote = isPreAnswer(call.status) ? await twilio.updateCall(sid, { status: "canceled" }) : null;
    if (!remote || !isTerminal(remote.status)) remote = await twilio.updateCall(sid, { status: "completed" });
    const report = remoteReport(remote);
    if (report) call = await applyReport(ctx, call.id, report, "api", ctx.now());
  } catch (e) {
    if (!(e instanceof TwilioError)) throw e;
    if (e.kind === "unreachable") throw new CallError("twilio_unreachable", `Unable to reach Twilio: ${e.message}`);
    // Usually "not in progress": the call ended on Twilio's side first. Ask what it became.
    const remote = await twilio.fetchCall(sid).catch(() => null);
    const report = remote && remoteReport(remote);
    if (!report || !isTerminal(report.status))
      throw new CallError("twilio_refused", `Unable to end call: ${e.message}`);
    call = await applyReport(ctx, call.id, report, "api", ctx.now());
  }
  ctx.bridges.get(call.id)?.close(reason);
  ctx.log.info("call end requested", { call_id: call.id, status: call.status, reason });
  return call;
}

/** Replaces the call's TwiML with a short apology and a hang-up, recording why. */
export async function apologizeAndHangUp(ctx: AppContext, id: string, reason: EndReason): Promise<void> {
  const call = await requestEnd(ctx, (await getCall(ctx, id)).id, reason);
  if (!call.call_sid || !ctx.twilio || call.ended_at !== null) return;
  await ctx.twilio.updateCall(call.call_sid, {
    twiml: sayAndHangup(MODEL_LOST_APOLOGY),
  });
}
