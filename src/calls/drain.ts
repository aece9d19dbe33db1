// A graceful stop: no new calls, the calls up go on for a while, and those still up then hear the
// agent say goodbye and are hung up through Twilio, recorded as `shutdown`. A second signal skips the
// waiting; the calls are still hung up and recorded.
import type { AppContext } from "../app.ts";
import { endCall } from "./hangup.ts";

/** How long the agents' goodbyes may take before the calls are hung up anyway. */
const FAREWELL_MS = 8_000;
/** How long the hang-ups through Twilio may take once a second signal said to hurry. */
const HURRY_MS = 3_000;
const POLL_MS = 100;

/** Resolves once `done()` holds, `ms` have passed, or `hurry` is aborted. */
async function waitFor(done: () => boolean | Promise<boolean>, ms: number, hurry: AbortSignal): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done()) && Date.now() < deadline && !hurry.aborted) await Bun.sleep(POLL_MS);
}

/**
 * The calls this instance holds, under way (a call waiting for its next attempt stays scheduled: whichever
 * instance is up when it is due dials it). Sharing a database, the other instances' calls are theirs.
 */
async function ownCalls(ctx: AppContext) {
  const active = await ctx.store.listActive();
  return active.filter((call) => call.owner === ctx.instanceId && call.next_attempt_at === null);
}

export async function drain(ctx: AppContext, hurry: AbortSignal): Promise<void> {
  ctx.state.draining = true;
  const drainMs = ctx.config.shutdown.drain_s * 1000;
  ctx.log.info("draining: no new calls; active calls may go on", {
    active_calls: (await ownCalls(ctx)).length,
    drain_s: ctx.config.shutdown.drain_s,
  });
  await waitFor(async () => (await ownCalls(ctx)).length === 0, drainMs, hurry);
  if ((await ownCalls(ctx)).length === 0) return;
  if (!hurry.aborted) {
    for (const bridge of ctx.bridges.values()) bridge.farewell();
    await waitFor(() => ctx.bridges.size === 0, FAREWELL_MS, hurry);
  }
  const left = await ownCalls(ctx);
  ctx.log.info("hanging up the calls still active", { count: left.length });
  const hangups = Promise.allSettled(left.map((call) => endCall(ctx, call.id, "shutdown")));
  await Promise.race([hangups, hurried(hurry, HURRY_MS)]);
}

/** Resolves `ms` after the signal is aborted, and never if it is not. */
function hurried(hurry: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const later = () => setTimeout(resolve, ms);
    if (hurry.aborted) later();
    else hurry.addEventListener("abort", later, { once: true });
  });
}
