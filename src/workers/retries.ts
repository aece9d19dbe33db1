// The retry worker: dials each call whose next attempt is due, as a new Twilio call under the same call id, and
// each call placed for later (`scheduled`) when its time comes, as its first attempt. It works from the database,
// so what was scheduled before a restart is dialled after it, by whichever instance claims it.
import type { AppContext } from "../app.ts";
import { addHistory } from "../calls/history.ts";
import { callOptions } from "../calls/options.ts";
import { admit, dial, failCreate } from "../calls/outbound.ts";
import { withinWindow } from "../calls/schedule.ts";
import type { CallRow } from "../store/store.ts";
import { type Worker, workerLoop } from "./loop.ts";

const POLL_MS = 1_000;
const BATCH = 8;
/** A due attempt that finds no room (calls.max_concurrent) looks again this much later. */
const NO_ROOM_WAIT_MS = 5_000;
/**
 * How long a claimed attempt is this worker's before another may take it: the claim lasts only until the
 * attempt is admitted (or put off), a transaction away, so a minute is ample; a worker that died holding
 * one leaves it due again then.
 */
const RETRY_LEASE_MS = 60_000;
/** Whose calls_per_minute a call placed before client addresses were kept draws from: the edge's name for none. */
const UNKNOWN_CLIENT = "unknown";

export function startRetries(ctx: AppContext): Worker {
  const inFlight = new Set<Promise<void>>();
  const pump = async () => {
    if (ctx.state.draining) return;
    const now = ctx.now();
    for (const call of await ctx.store.claimRetries(now, now + RETRY_LEASE_MS, BATCH)) {
      const run = placeAttempt(ctx, call).catch((e) =>
        ctx.log.error("placing a call's next attempt failed", { call_id: call.id, error: e }),
      );
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    }
  };
  return workerLoop(
    POLL_MS,
    pump,
    () => Promise.allSettled(inFlight),
    (e) => ctx.log.error("looking for calls' next attempts failed", { error: e }),
  );
}

/**
 * Admits the claimed attempt and marks it under way (no longer waiting), or puts it off while there is no
 * room. Null when there is nothing to dial: the call was ended (or dialled) since it was claimed, or it waits.
 * Each attempt is a call Twilio bills, so it draws from limits.calls_per_minute of the client that placed the
 * call, as the request did; with that spent it waits until a call's worth is back (it is never dropped).
 */
function startAttempt(ctx: AppContext, call: CallRow, at: number): Promise<CallRow | null> {
  return ctx.store.transaction(async () => {
    const current = await ctx.store.getCall(call.id);
    if (!current || current.ended_at !== null || current.next_attempt_at === null) return null;
    if (await waitForWindow(ctx, current, at)) return null;
    const client = current.client_address ?? UNKNOWN_CLIENT;
    const budgetWaitS = ctx.callBudget.take(client);
    if (budgetWaitS > 0) {
      ctx.log.info("the call's next attempt waits for its client's calls_per_minute", {
        call_id: call.id,
        wait_s: budgetWaitS,
      });
      await ctx.store.updateCall(call.id, { next_attempt_at: at + budgetWaitS * 1000 }, at);
      return null;
    }
    const row = await admit(ctx, async () => {
      await addHistory(ctx, { callId: call.id, callSid: null, status: "queued", source: "api", verdict: "apply", at });
      // A scheduled call's first dial is its first attempt; a retry is the next one.
      const attempt = current.status === "scheduled" ? current.attempt : current.attempt + 1;
      return ctx.store.updateCall(
        call.id,
        { status: "queued", next_attempt_at: null, attempt, attempt_started_at: at },
        at,
      );
    });
    if (!row) {
      ctx.callBudget.refund(client);
      await ctx.store.updateCall(call.id, { next_attempt_at: at + NO_ROOM_WAIT_MS }, at);
    }
    return row;
  });
}

/**
 * A call is dialled only inside its calling window: one that comes due outside it (it waited for room, for its
 * client's calls_per_minute, or for this server to start) waits for the next opening. True when it waits.
 */
async function waitForWindow(ctx: AppContext, call: CallRow, at: number): Promise<boolean> {
  const opens = withinWindow(callOptions(ctx.config, call.options).call_window, at);
  if (opens <= at) return false;
  ctx.log.info("the call waits for its calling window to open", { call_id: call.id, opens_at: new Date(opens) });
  await ctx.store.updateCall(call.id, { next_attempt_at: opens }, at);
  return true;
}

/** Dials the claimed attempt, once admitted. */
async function placeAttempt(ctx: AppContext, call: CallRow): Promise<void> {
  const row = await startAttempt(ctx, call, ctx.now());
  if (!row) return;
  const log = ctx.log.child({ call_id: call.id });
  log.info("placing the call's next attempt", { attempt: row.attempt });
  try {
    if (!ctx.twilio) throw new Error(`Twilio is not configured: set ${ctx.missingTwilio.join(", ")}`);
    await dial(ctx, ctx.twilio, row, log);
  } catch (e) {
    await failCreate(ctx, call.id, e, log);
  }
}
