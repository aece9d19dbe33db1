// A stop with another instance up on the same database: the calls are handed over rather than drained here. The
// instance says it is draining (/health 503, no new calls) and waits shutdown.handover_delay_s, so the load
// balancer's health check stops sending it work; then it ends each bridge, commits what they wrote, and closes
// their streams. Twilio asks each call's <Connect action>, which the balancer sends to an instance that stays, and
// the call goes on there from where it was (resume.ts): no goodbye, no `shutdown` end reason.
import type { AppContext } from "../app.ts";

/** Twilio's stream ends as a server going away closes it. */
const GOING_AWAY = 1001;

/** Resolves after `ms`, or at once when `hurry` is aborted (a second signal). */
function pause(ms: number, hurry: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (hurry.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    hurry.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

export async function handOver(ctx: AppContext, hurry: AbortSignal): Promise<void> {
  ctx.state.draining = true;
  // From now on no stream is taken here and no bridge prepared: the calls are to go on elsewhere.
  ctx.state.handingOver = true;
  const delayS = ctx.config.shutdown.handover_delay_s;
  ctx.log.info("handing the calls over to the other instances", { bridges: ctx.bridges.size, delay_s: delayS });
  await pause(delayS * 1000, hurry);
  const sockets = [...ctx.bridges.values()].map((bridge) => bridge.handOver());
  // The bridge that takes a call over reads what this one wrote: committed before Twilio learns the stream is gone.
  await ctx.store.flush();
  for (const socket of sockets) socket?.close(GOING_AWAY, "handover");
  ctx.log.info("calls handed over: their streams are closed", { streams: sockets.filter(Boolean).length });
}
