// Trying a call again: an attempt that ends busy, unanswered or failed is kept in the call's attempts and,
// if the call's retry policy allows another, the call waits for it instead of ending. The wait is stored
// (next_attempt_at), so a restart keeps it; the retry worker dials when it is due.
import type { AppContext } from "../app.ts";
import type { CallRow, EndReason } from "../store/store.ts";
import type { CallStatus } from "../twilio/status.ts";
import { enqueueEvent } from "./events.ts";
import { addHistory } from "./history.ts";
import { callOptions, type RetryOn } from "./options.ts";
import { withinWindow } from "./schedule.ts";
import type { Report } from "./status.ts";
import { END_REASON } from "./status.ts";
import { iso } from "./time.ts";

const RETRY_ON: Partial<Record<CallStatus, RetryOn>> = { busy: "busy", "no-answer": "no_answer", failed: "failed" };

/** How long until the next attempt, when this status ends an attempt the policy tries again; else null. */
export function retryDelayMs(ctx: AppContext, call: CallRow, status: CallStatus): number | null {
  const on = RETRY_ON[status];
  if (!on || call.direction !== "outbound" || call.answered_at !== null || call.end_requested_at !== null) return null;
  const { retry } = callOptions(ctx.config, call.options);
  if (call.attempt >= retry.max_attempts || !retry.on.includes(on)) return null;
  return retry.delay_s * 1000;
}

/**
 * Whether one more call may wait for its next attempt: fewer than calls.max_waiting do. Call inside
 * applyReport's transaction: counted under the admission lock, so two attempts ending at once, on any
 * instance, cannot both take the last place.
 */
export async function roomToWait(ctx: AppContext): Promise<boolean> {
  await ctx.store.lockAdmission();
  return (await ctx.store.countWaiting()) < ctx.config.calls.max_waiting;
}

/** The error of a call that would have been tried again but found calls.max_waiting calls waiting: it ends. */
export function notRetried(ctx: AppContext, call: CallRow, report: Report): string {
  const max = ctx.config.calls.max_waiting;
  ctx.log.warn("an attempt ended unanswered with no room to wait for a retry; the call ends", {
    call_id: call.id,
    attempt: call.attempt,
    max_waiting: max,
  });
  const why = `not tried again: ${max} calls were waiting for a retry already (calls.max_waiting)`;
  return report.error ? `${report.error}; ${why}` : why;
}

/** Keeps the attempt that ended and sets the call waiting for the next; call inside applyReport's transaction. */
export async function scheduleRetry(
  ctx: AppContext,
  call: CallRow,
  report: Report,
  delayMs: number,
  at: number,
): Promise<CallRow> {
  await ctx.store.addAttempt({
    call_id: call.id,
    attempt: call.attempt,
    call_sid: call.call_sid,
    status: report.status,
    end_reason: END_REASON[report.status] ?? report.status,
    error: report.error ?? null,
    started_at: call.attempt_started_at ?? call.created_at,
    ended_at: at,
  });
  // An attempt that would fall outside the call's window moves to its next opening.
  const retryAt = withinWindow(callOptions(ctx.config, call.options).call_window, at + delayMs);
  const row = await ctx.store.updateCall(
    call.id,
    { status: "queued", call_sid: null, last_sequence: -1, next_attempt_at: retryAt, error: null },
    at,
  );
  await enqueueEvent(ctx, row, "call.retry_scheduled", at, {
    attempt: call.attempt,
    attempt_status: report.status,
    next_attempt: call.attempt + 1,
    retry_at: iso(retryAt),
  });
  ctx.signals.retryScheduled();
  ctx.log.info("call will be tried again", { call_id: call.id, attempt: call.attempt, status: report.status });
  return row;
}

/**
 * Ends a call waiting for its next attempt, or for its time (scheduled, which ends `canceled`): nothing is up at
 * Twilio, so it is over at once, without asking it. Returns the call as it is: not ended when the retry worker
 * dialled it first (then it is ended like any other).
 */
export async function cancelRetry(ctx: AppContext, call: CallRow, reason: EndReason): Promise<CallRow> {
  const at = ctx.now();
  let canceled = false;
  const row = await ctx.store.transaction(async () => {
    const current = (await ctx.store.getCall(call.id))!;
    if (current.next_attempt_at === null || current.ended_at !== null) return current;
    canceled = true;
    const endReason = current.status === "scheduled" ? "canceled" : reason;
    await addHistory(ctx, { callId: call.id, callSid: null, status: "canceled", source: "api", verdict: "apply", at });
    return ctx.store.updateCall(
      call.id,
      { status: "canceled", ended_at: at, end_requested_at: at, end_reason: endReason, next_attempt_at: null },
      at,
    );
  });
  if (!canceled) return row;
  ctx.signals.callEnded();
  ctx.log.info("call ended while waiting for its next attempt", { call_id: call.id, reason });
  return row;
}
