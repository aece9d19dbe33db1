// When a call is dialled: at once, or later, when its not_before has passed and its calling window is open. A
// call for later is stored as `scheduled` with the time it is due (scheduled_for, next_attempt_at), and the retry
// worker dials it then, on whichever instance claims it; until then it holds no place under calls.max_concurrent.
import type { AppContext } from "../app.ts";
import { type CallWindow, nextOpening, zonedIso } from "../schedule/window.ts";
import type { CallRow, NewCall } from "../store/store.ts";
import { CallError } from "./errors.ts";
import { addHistory } from "./history.ts";
import type { CallOptions } from "./options.ts";
import type { CallRequest } from "./request.ts";
import { iso } from "./time.ts";

/** How far ahead a call may be placed: a leaked token must not leave calls waiting for months. */
export const MAX_DAYS_AHEAD = 30;
const DAY_MS = 86_400_000;

const never = (field: string) => `'${field}' never opens: its days have no time at which it is open`;

/** A window without a zone would be read in the server's; calls.timezone_required refuses that. */
export function requireWindowZone(ctx: AppContext, req: CallRequest): void {
  if (ctx.config.calls.timezone_required && req.call_window && req.call_window.timezone === undefined) {
    throw new CallError("invalid", "'call_window.timezone' is required (calls.timezone_required)");
  }
}

/** The first moment the window is open at or after `from`; the window always opens within a week or two. */
export function withinWindow(window: CallWindow | null, from: number): number {
  if (!window) return from;
  return nextOpening(window, from) ?? from;
}

/** When the call is first to be dialled, or null for now: after not_before, inside the call's window. */
export function firstDue(ctx: AppContext, req: CallRequest, window: CallWindow | null): number | null {
  const now = ctx.now();
  let from = now;
  if (req.not_before !== undefined) {
    const at = Date.parse(req.not_before);
    if (at > now + MAX_DAYS_AHEAD * DAY_MS) {
      throw new CallError("invalid", `'not_before' must be at most ${MAX_DAYS_AHEAD} days ahead`);
    }
    from = Math.max(now, at);
  }
  if (window) {
    const opens = nextOpening(window, from);
    if (opens === null) throw new CallError("invalid", never("call_window"));
    from = opens;
  }
  return from > now ? from : null;
}

/** `scheduled_for` as the API writes it: in the call window's zone when the call has one, else UTC. */
export function scheduledForText(at: number | null, options: Pick<CallOptions, "call_window"> | null): string | null {
  if (at === null) return null;
  return options?.call_window ? zonedIso(at, options.call_window.timezone) : iso(at);
}

const tooManyWaiting = (max: number) =>
  `Too many calls waiting for their time or a retry: the limit is ${max} (calls.max_waiting)`;

/**
 * Stores the call as scheduled for `due`. Scheduled calls wait as retries do, so they count against
 * calls.max_waiting, in the admitting transaction under the admission lock; calls.max_concurrent is asked
 * when they are dialled.
 */
export async function scheduleCall(ctx: AppContext, call: NewCall, due: number): Promise<CallRow> {
  const at = ctx.now();
  const row = await ctx.store.transaction(async () => {
    await ctx.store.lockAdmission();
    if ((await ctx.store.countWaiting()) >= ctx.config.calls.max_waiting) return null;
    const inserted = await ctx.store.insertCall(
      { ...call, status: "scheduled", scheduled_for: due, next_attempt_at: due },
      at,
    );
    await addHistory(ctx, { callId: call.id, callSid: null, status: "scheduled", source: "api", verdict: "apply", at });
    return inserted;
  });
  if (!row) throw new CallError("limit", tooManyWaiting(ctx.config.calls.max_waiting));
  ctx.log.info("call scheduled", { call_id: row.id, scheduled_for: iso(due) });
  return row;
}
