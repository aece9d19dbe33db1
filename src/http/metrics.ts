// GET /metrics: the Prometheus exposition, guarded like /api/* unless metrics.token gives it a token of its own.
import type { AppContext } from "../app.ts";
import type { Config } from "../config/schema.ts";
import { CONTENT_TYPE } from "../metrics/exposition.ts";
import type { RateLimiter } from "../runtime/ratelimit.ts";
import { VERSION } from "../version.ts";
import { authorize, tokenMatches } from "./auth.ts";
import { failure, rateLimited } from "./respond.ts";

/**
 * With metrics.token set only it opens /metrics, not the API token: a scraper's credential then reads
 * metrics and nothing else, and the API token need not be spread to monitoring.
 */
export function metricsDenial(config: Config, authHeader: string | null, address: string, headers: Headers) {
  const token = config.metrics.token;
  if (!token) return authorize(config.server.api_token, authHeader, address, headers);
  return tokenMatches(token, authHeader)
    ? null
    : "Unauthorized: send the header 'Authorization: Bearer <metrics.token>'";
}

/**
 * Scrapes are not rate-limited, so a Prometheus server behind the same address as API clients never eats
 * their budget; refusals are, from the API's budget, so /metrics is no faster a way to guess a token.
 */
export async function getMetrics(
  ctx: AppContext,
  req: Request,
  address: string,
  limiter: RateLimiter,
): Promise<Response> {
  const denied = metricsDenial(ctx.config, req.headers.get("authorization"), address, req.headers);
  if (denied) {
    const wait = limiter.take(address);
    if (wait > 0) throw rateLimited(wait);
    return failure(401, denied, { "WWW-Authenticate": "Bearer" });
  }
  const body = ctx.metrics.exposition({
    activeCalls: await ctx.store.countActive(),
    pendingEvents: await ctx.store.countPending(),
    live: [...ctx.bridges.values()].map((b) => b.metrics()),
    startedAt: ctx.startedAt,
    version: VERSION,
  });
  return new Response(body, { headers: { "Content-Type": CONTENT_TYPE, "Cache-Control": "no-store" } });
}
