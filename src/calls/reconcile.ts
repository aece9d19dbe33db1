// Restart reconciliation: what became of the calls a previous run left active.
import type { AppContext } from "../app.ts";
import { isPreAnswer } from "../twilio/status.ts";
import { requestEnd } from "./hangup.ts";
import { applyReport, remoteReport } from "./reports.ts";

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
      ctx.signals.callEnded();
      ctx.log.warn("call ended by restart", { call_id: call.id, status: call.status });
    }
  }
  if (stale.length) ctx.log.info("reconciled calls left active by the previous run", { count: stale.length });
}
