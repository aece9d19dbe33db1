import type { Server } from "bun";
import type { AppContext } from "../app.ts";
import { CallError, type FailureKind } from "../calls/errors.ts";
import { TWILIO_PATHS } from "../twilio/urls.ts";
import { health, listCalls, postCall, postEnd, showCall, showTranscript } from "./api.ts";
import { authorize } from "./auth.ts";
import { listEvents, retryEvent } from "./events.ts";
import { type MediaSocketData, mediaSocketHandler, upgradeMedia } from "./media.ts";
import { createRateLimiter } from "./ratelimit.ts";
import { failure, HttpError } from "./respond.ts";
import { postStatus, postVoice } from "./twilio.ts";

const STATUS_FOR: Record<FailureKind, number> = {
  invalid: 400,
  not_found: 404,
  limit: 429,
  twilio_refused: 502,
  twilio_unreachable: 503,
  not_configured: 503,
  draining: 503,
};

type Handler = (
  req: Request & { params: Record<string, string> },
  server: Server<MediaSocketData>,
) => Response | Promise<Response>;

export function startServer(ctx: AppContext): Server<MediaSocketData> {
  const apiLimiter = createRateLimiter(ctx.config.limits.api_requests_per_minute);
  const callLimiter = createRateLimiter(ctx.config.limits.calls_per_minute);

  const errors =
    (handler: Handler): Handler =>
    async (req, server) => {
      try {
        return await handler(req, server);
      } catch (e) {
        if (e instanceof HttpError) return failure(e.status, e.message);
        if (e instanceof CallError) return failure(STATUS_FOR[e.kind], e.message);
        ctx.log.error("request failed", { path: new URL(req.url).pathname, error: e });
        return failure(500, "Internal server error");
      }
    };

  /** /api/*: rate limit by client address first (it also slows token guessing), then authenticate. */
  const api = (handler: Handler, limiter = apiLimiter): Handler =>
    errors((req, server) => {
      const address = server.requestIP(req)?.address;
      const wait = limiter.take(address ?? "unknown");
      if (wait > 0) return failure(429, `Rate limit exceeded: retry in ${wait} s`, { "Retry-After": String(wait) });
      const denied = authorize(ctx.config.server.api_token, req.headers.get("authorization"), address, req.headers);
      if (denied) return failure(401, denied, { "WWW-Authenticate": "Bearer" });
      return handler(req, server);
    });

  return Bun.serve<MediaSocketData>({
    hostname: ctx.config.server.host,
    port: ctx.config.server.port,
    // A hard cap below which each route applies its own, smaller limit.
    maxRequestBodySize: 1024 * 1024,
    routes: {
      "/health": { GET: () => health(ctx) },
      "/api/call": { POST: api((req) => postCall(ctx, req), callLimiter) },
      "/api/calls": { GET: api(() => listCalls(ctx)) },
      "/api/calls/:id": { GET: api((req) => showCall(ctx, req.params.id!)) },
      "/api/calls/:id/end": { POST: api((req) => postEnd(ctx, req.params.id!)) },
      "/api/calls/:id/transcript": { GET: api((req) => showTranscript(ctx, req.params.id!)) },
      "/api/events": { GET: api((req) => listEvents(ctx, req)) },
      "/api/events/:id/retry": { POST: api((req) => retryEvent(ctx, req.params.id!)) },
      [TWILIO_PATHS.media]: (req: Request, server: Server<MediaSocketData>) => upgradeMedia(ctx, req, server),
      [TWILIO_PATHS.voice]: { POST: errors((req) => postVoice(ctx, req)) },
      [TWILIO_PATHS.status]: { POST: errors((req) => postStatus(ctx, req)) },
    },
    websocket: mediaSocketHandler(ctx),
    fetch: () => failure(404, "Not found"),
    error: (e) => {
      ctx.log.error("unhandled server error", { error: e });
      return failure(500, "Internal server error");
    },
  });
}
