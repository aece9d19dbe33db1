// GET /health: an orchestrator's liveness and readiness probe. It answers from the app's core (core.ts), which a
// start opens before it listens, so a probe is answered before the call service has loaded.

import type { z } from "../config/zod.ts";
import type { AppCore } from "../core.ts";
import { VERSION } from "../version.ts";
import type { HealthSchema } from "./api.ts";
import { json } from "./respond.ts";

/**
 * Open without a token, for probes (load balancers, `agenticai status`): 503 while draining for a stop, or while the database cannot be
 * reached (nothing could be admitted or recorded), so new work goes to another instance.
 */
export async function health(ctx: AppCore): Promise<Response> {
  const counts = await ctx.store.ping().then(
    async () => ({ active: await ctx.store.countActive(), waiting: await ctx.store.countWaiting() }),
    (error) => {
      ctx.log.error("health check: the database cannot be reached", { error });
      return null;
    },
  );
  const status = ctx.state.draining ? "draining" : counts === null ? "database_unreachable" : "healthy";
  const body: z.output<typeof HealthSchema> = {
    status,
    active_calls: counts?.active ?? null,
    waiting_calls: counts?.waiting ?? null,
    version: VERSION,
    uptime_s: Math.floor((ctx.now() - ctx.startedAt) / 1000),
    instance_id: ctx.instanceId,
    database: counts === null ? "unreachable" : "ok",
  };
  return json(body, status === "healthy" ? 200 : 503);
}
