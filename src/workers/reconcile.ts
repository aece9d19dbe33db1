// Reconciliation: what became of the calls whose instance is gone, a previous run of this one (at start-up)
// or, sharing a database, another instance that died (each sweep).
import type { AppContext } from "../app.ts";
import { requestEnd } from "../calls/hangup.ts";
import { addHistory } from "../calls/history.ts";
import { applyReport, remoteReport } from "../calls/reports.ts";
import type { CallRow } from "../store/store.ts";
import { isPreAnswer, isTerminal } from "../twilio/status.ts";
import { takeOverCalls } from "./leases.ts";

const TAKEOVER_BATCH = 50;

/**
 * Calls left active by a crash: taken over (see leases.ts), then Twilio is asked what became of them; if it
 * can't say, they are ended with reason `server_restart` so they stop counting against limits. A call live
 * on another instance is never touched.
 */
export async function reconcile(ctx: AppContext): Promise<void> {
  let count = 0;
  for (;;) {
    const taken = await takeOverCalls(ctx, TAKEOVER_BATCH);
    for (const call of taken) await reconcileCall(ctx, call);
    count += taken.length;
    if (taken.length < TAKEOVER_BATCH) break;
  }
  if (count) ctx.log.info("reconciled calls whose instance is gone", { count });
}

async function reconcileCall(ctx: AppContext, stale: CallRow): Promise<void> {
  let call = stale;
  // Waiting for its next attempt: the retry worker dials it when due, restart or not.
  if (call.next_attempt_at !== null) return;
  // Placed, but its CallSid was never stored: Twilio may be dialling it, and its callbacks name it by the
  // call id in their URL. It is left for them, or for the stale-call sweeper if none comes.
  if (
    call.call_sid === null &&
    call.direction === "outbound" &&
    ctx.now() - (call.attempt_started_at ?? call.created_at) < sidGraceMs(ctx)
  )
    return;
  const remote = call.call_sid && ctx.twilio ? await ctx.twilio.fetchCall(call.call_sid).catch(() => null) : null;
  const report = remote && remoteReport(remote);
  if (report) call = await applyReport(ctx, call.id, report, "reconcile", ctx.now());
  // Still ringing: when it is answered, the voice webhook bridges it as usual.
  if (report && isPreAnswer(report.status)) return;
  // Handed to a person before the restart: that conversation is not ours to end.
  if (report?.status === "in-progress" && call.transferred_to !== null) return;
  // Answered: its media bridge died with the old process, so hang up rather than leave dead air.
  if (report?.status === "in-progress") call = await hangUp(ctx, call);
  if (call.ended_at === null) await endByRestart(ctx, call);
}

/** Hangs up through Twilio and applies what its reply says the call became, as ending it through the API does. */
async function hangUp(ctx: AppContext, call: CallRow): Promise<CallRow> {
  await requestEnd(ctx, call.id, "server_restart");
  const remote = await ctx.twilio!.updateCall(call.call_sid!, { status: "completed" }).catch(() => null);
  const report = remote && remoteReport(remote);
  // A completed callback may have landed during the await and ended the call already; applied again, the
  // reply is then only recorded, and may still bring the duration.
  if (report && isTerminal(report.status)) return applyReport(ctx, call.id, report, "reconcile", ctx.now());
  return (await ctx.store.getCall(call.id))!;
}

/**
 * Twilio could not say what became of the call (unreachable, not configured, or the call never reached
 * it): it is over as far as this server knows. Answered, it was `completed` by the restart, lasting until
 * now as the best estimate; never answered, it `failed`. The history names reconcile as the source.
 */
async function endByRestart(ctx: AppContext, call: CallRow): Promise<void> {
  const at = ctx.now();
  const answered = call.answered_at !== null || call.status === "in-progress";
  const status = answered ? "completed" : "failed";
  const duration = call.answered_at === null ? null : Math.max(0, Math.round((at - call.answered_at) / 1000));
  await ctx.store.transaction(async () => {
    await ctx.store.updateCall(
      call.id,
      {
        status,
        ended_at: at,
        end_reason: call.end_reason ?? "server_restart",
        duration_s: call.duration_s ?? duration,
      },
      at,
    );
    await addHistory(ctx, {
      callId: call.id,
      callSid: call.call_sid,
      status,
      source: "reconcile",
      verdict: "apply",
      at,
    });
  });
  ctx.signals.callEnded();
  ctx.log.warn("call ended by restart", { call_id: call.id, status, previous_status: call.status });
}

/** How long a placed call may wait for its first callback: its ring time plus the sweeper's grace. */
const sidGraceMs = (ctx: AppContext) => ctx.config.calls.ring_timeout_s * 1000 + 60_000;
