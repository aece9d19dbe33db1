// src/http/ is the edge: the route table and error mapper (this file), the API, Twilio's webhooks, the media
// socket and the console. It calls into calls/ and the store; it must not import workers/ or cli/.
import type { Server } from "bun";
import type { AppContext } from "../app.ts";
import { CallError, type FailureKind } from "../calls/errors.ts";
import { createRateLimiter } from "../runtime/ratelimit.ts";
import { TWILIO_PATHS } from "../twilio/urls.ts";
import { health, listCalls, postCall, postEnd, showCall, showTranscript } from "./api.ts";
import { authorize } from "./auth.ts";
import { consoleRoutes } from "./console.ts";
import { countedRoutes, UNMATCHED_ROUTE } from "./counted.ts";
import { listEvents, retryEvent } from "./events.ts";
import { guardRoutes } from "./guard.ts";
import { createMcpEndpoint } from "./mcp.ts";
import { type MediaSocketData, mediaSocketHandler, upgradeMedia } from "./media.ts";
import { getMetrics } from "./metrics.ts";
import { openApiEndpoint } from "./openapi.ts";
import { showRecording } from "./recording.ts";
import { createSignatureRejections, type RejectSignature } from "./rejections.ts";
import { failure, HttpError, rateLimited, STORAGE_UNAVAILABLE, storageUnavailable } from "./respond.ts";
import type { Handler, RouteTable } from "./routes.ts";
import { createLiveStreams } from "./stream.ts";
import { postAmd, postDialStatus, postStatus, postStreamEnded, postVoice } from "./twilio.ts";

const STATUS_FOR: Record<FailureKind, number> = {
  invalid: 400,
  not_found: 404,
  limit: 429,
  twilio_refused: 502,
  twilio_unreachable: 503,
  not_configured: 503,
  draining: 503,
};

const clientAddress = (req: Request, server: Server<MediaSocketData>) => server.requestIP(req)?.address ?? "unknown";

function errorMapper(ctx: AppContext) {
  return (handler: Handler): Handler =>
    async (req, server) => {
      try {
        return await handler(req, server);
      } catch (e) {
        if (e instanceof HttpError) return failure(e.status, e.message, e.headers);
        if (e instanceof CallError) return failure(STATUS_FOR[e.kind], e.message);
        ctx.log.error("request failed", { path: new URL(req.url).pathname, error: e });
        if (storageUnavailable(e)) return failure(503, STORAGE_UNAVAILABLE);
        return failure(500, "Internal server error");
      }
    };
}

function routeTable(ctx: AppContext): RouteTable {
  const errors = errorMapper(ctx);
  const apiLimiter = createRateLimiter(ctx.config.limits.api_requests_per_minute);
  const liveStream = createLiveStreams(ctx);
  const mcp = createMcpEndpoint(ctx);
  const rejections = createSignatureRejections(ctx.log, () => ctx.now());
  const rejectFrom =
    (req: Request, server: Server<MediaSocketData>): RejectSignature =>
    (path, msg, fields) =>
      rejections.reject(clientAddress(req, server), path, msg, fields);

  /** /api/*: rate limit by client address first (it also slows token guessing), then authenticate. */
  const api = (handler: Handler): Handler =>
    errors((req, server) => {
      const address = clientAddress(req, server);
      const wait = apiLimiter.take(address);
      if (wait > 0) throw rateLimited(wait);
      const denied = authorize(ctx.config.server.api_token, req.headers.get("authorization"), address, req.headers);
      if (denied) return failure(401, denied, { "WWW-Authenticate": "Bearer" });
      return handler(req, server);
    });
  const callBudget = (req: Request, server: Server<MediaSocketData>) => {
    const address = clientAddress(req, server);
    return { address, take: () => ctx.callBudget.take(address), refund: () => ctx.callBudget.refund(address) };
  };

  const routes: RouteTable = {
    "/health": { GET: () => health(ctx) },
    "/openapi.json": { GET: errors(() => describeApi()) },
    "/metrics": { GET: errors((req, server) => getMetrics(ctx, req, clientAddress(req, server), apiLimiter)) },
    "/api/call": { POST: api((req, server) => postCall(ctx, req, callBudget(req, server))) },
    "/api/calls": { GET: api((req) => listCalls(ctx, req)) },
    "/api/calls/:id": { GET: api((req) => showCall(ctx, req.params.id!)) },
    "/api/calls/:id/end": { POST: api((req) => postEnd(ctx, req.params.id!)) },
    "/api/calls/:id/transcript": { GET: api((req) => showTranscript(ctx, req.params.id!)) },
    "/api/calls/:id/recording": { GET: api((req) => showRecording(ctx, req.params.id!, req)) },
    "/api/events": { GET: api((req) => listEvents(ctx, req)) },
    "/api/stream": { GET: api(liveStream) },
    "/mcp": { POST: api((req, server) => mcp(req, server, callBudget(req, server))) },
    ...Object.fromEntries(Object.entries(consoleRoutes).map(([path, serve]) => [path, { GET: errors(serve) }])),
    "/api/events/:id/retry": { POST: api((req) => retryEvent(ctx, req.params.id!)) },
    [TWILIO_PATHS.media]: (req, server) => upgradeMedia(ctx, req, server, rejectFrom(req, server)),
    [TWILIO_PATHS.voice]: { POST: errors((req, server) => postVoice(ctx, req, rejectFrom(req, server))) },
    [TWILIO_PATHS.status]: { POST: errors((req, server) => postStatus(ctx, req, rejectFrom(req, server))) },
    [TWILIO_PATHS.amd]: { POST: errors((req, server) => postAmd(ctx, req, rejectFrom(req, server))) },
    [TWILIO_PATHS.dialStatus]: { POST: errors((req, server) => postDialStatus(ctx, req, rejectFrom(req, server))) },
    [TWILIO_PATHS.streamEnded]: {
      POST: errors((req, server) => postStreamEnded(ctx, req, rejectFrom(req, server))),
    },
  };
  // Described from this table, so a route added here without its description fails (its test, and the request).
  const describeApi = openApiEndpoint(() => routedMethods(routes));
  return routes;
}

const routedMethods = (routes: RouteTable): [string, string][] =>
  Object.entries(routes).flatMap(([path, methods]) =>
    typeof methods === "function" ? [] : Object.keys(methods).map((method): [string, string] => [method, path]),
  );

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/**
 * A wrong method on a routed path is a 405 naming the right ones, answered by the route itself: Bun's router
 * matches the path as sent, while the URL a `fetch` fallback sees has its dot-segments resolved, so only the
 * router can tell `/api/calls` from `/x/../api/calls` (which is no route: 404).
 */
function withWrongMethods(routes: RouteTable): RouteTable {
  const entries = Object.entries(routes).map(([path, methods]) => {
    if (typeof methods === "function") return [path, methods];
    const declared = Object.keys(methods);
    // Bun answers HEAD wherever GET is routed.
    const allow = declared.includes("GET") ? [...declared, "HEAD"] : declared;
    const refuse = () => failure(405, `Method not allowed: use ${declared.join(" or ")}`, { Allow: allow.join(", ") });
    const missing = METHODS.filter((m) => !allow.includes(m)).map((m) => [m, refuse]);
    return [path, { ...methods, ...Object.fromEntries(missing) }];
  });
  return Object.fromEntries(entries) as RouteTable;
}

export function startServer(ctx: AppContext): Server<MediaSocketData> {
  const routes = countedRoutes(ctx, guardRoutes(ctx.config, withWrongMethods(routeTable(ctx))));
  const unrouted = () => {
    ctx.metrics.httpResponse(UNMATCHED_ROUTE, 404);
    return failure(404, "Not found");
  };
  return Bun.serve<MediaSocketData>({
    hostname: ctx.config.server.host,
    port: ctx.config.server.port,
    // Bun refuses a body over its own cap with a bare, empty 413 before any handler or the error hook runs,
    // which breaks the API's error shape; so its cap is off, and each reader applies its own limit as the
    // body streams in (readBody). Bun does not buffer a body nobody reads.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    routes,
    websocket: mediaSocketHandler(ctx),
    fetch: unrouted,
    error: (e) => {
      ctx.log.error("unhandled server error", { error: e });
      return failure(500, "Internal server error");
    },
  });
}
