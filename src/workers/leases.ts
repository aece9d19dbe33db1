// Which instance holds which call. Each instance beats a heartbeat into the database; the calls it owns
// (placed, admitted, or bridged here) are leased to it for as long as the heartbeat is fresh. When an
// instance dies its heartbeat goes stale, and the survivors' sweeper takes its calls over and settles
// them. On SQLite there is one instance per file, so every other owner is a previous run of this one.
import type { AppContext } from "../app.ts";
import { INSTANCE_LEASE_MS } from "../cluster/signals.ts";
import { type Worker, workerLoop } from "./loop.ts";

export const HEARTBEAT_MS = 5_000;
/** How long a heartbeat holds an instance's calls (calls/cluster.ts says why this long). */
export const LEASE_MS = INSTANCE_LEASE_MS;

/** Beats now and every HEARTBEAT_MS; stopping drops the heartbeat, so a clean stop leaves no lease to lapse. */
export function startHeartbeat(ctx: AppContext): Worker {
  let beating: Promise<void> | null = null;
  const beat = () => {
    beating ??= ctx.store
      .heartbeat(ctx.instanceId, ctx.now())
      .catch((error) => ctx.log.error("heartbeat failed", { error }))
      .finally(() => {
        beating = null;
      });
  };
  const loop = workerLoop(HEARTBEAT_MS, beat, async () => {
    await beating;
    await ctx.store.leave(ctx.instanceId).catch((error) => ctx.log.warn("leaving the cluster failed", { error }));
  });
  return loop;
}

/** The calls whose owner is gone, now this instance's: what start-up and each sweep settle. */
export function takeOverCalls(ctx: AppContext, limit: number) {
  return ctx.store.claimOrphans(ctx.instanceId, ctx.now(), LEASE_MS, limit);
}
