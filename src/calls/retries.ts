// The retry worker: dials each call whose next attempt is due, as a new Twilio call under the same call id.
// It works from the database, so attempts scheduled before a restart are dialled after it.
import type { AppContext } from "../app.ts";
import { addHistory } from "./history.ts";
import { checkCapacity, dial, failCreate } from "./outbound.ts";
import type { CallRow } from "./store.ts";
import { type Worker, workerLoop } from "./worker.ts";

const POLL_MS = 1_000;
const BATCH = 8;
/** A due attempt that finds no room (calls.max_concurrent) looks again this much later. */
const NO_ROOM_WAIT_MS = 5_000;

export function startRetries(ctx: AppContext): Worker {
  const inFlight = new Set<Promise<void>>();
  const pump = () => {
    if (ctx.state.draining) return;
    for (const call of ctx.store.retriesDue(ctx.now(), BATCH)) {
      const run = placeAttempt(ctx, call).catch((e) =>
        ctx.log.error("placing a call's next attempt failed", { call_id: call.id, error: e }),
      );
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    }
  };
  return workerLoop(POLL_MS, pump, () => Promise.allSettled(inFlight));
}

/** Claims the due attempt (so no other pass dials it) and dials it, or puts it off while there is no room. */
async function placeAttempt(ctx: AppContext, call: CallRow): Promise<void> {
  const at = ctx.now();
  if (!checkCapacity(ctx)) {
    ctx.store.updateCall(call.id, { next_attempt_at: at + NO_ROOM_WAIT_MS }, at);
    return;
  }
  const attempt = call.attempt + 1;
  const row = ctx.store.transaction(() => {
    addHistory(ctx, { callId: call.id, callSid: null, status: "queued", source: "api", verdict: "apply", at });
    return ctx.store.updateCall(call.id, { next_attempt_at: null, attempt, attempt_started_at: at }, at);
  });
  const log = ctx.log.child({ call_id: call.id });
  log.info("placing the call's next attempt", { attempt });
  try {
    if (!ctx.twilio) throw new Error(`Twilio is not configured: set ${ctx.missingTwilio.join(", ")}`);
    await dial(ctx, ctx.twilio, row, log);
  } catch (e) {
    failCreate(ctx, call.id, e, log);
  }
}
