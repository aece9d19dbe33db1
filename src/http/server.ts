// src/http/ is the edge: the route table and error mapper (this file), the API, Twilio's webhooks, the media
// socket and the console. It calls into calls/ and the store; it must not import workers/ or cli/.
import type { Server } from "bun";
import type { AppContext } from "../app.ts";
import { CallError, type FailureKind } from "../calls/errors.ts";
import type { AppCore } from "../core.ts";
import { createRateLimiter, type RateLimiter } from "../runtime/ratelimit.ts";
import { TWILIO_PATHS } from "../twilio/urls.ts";
import { authorize } from "./auth.ts";
import { consoleRoutes } from "./console.ts";
import { counted, UNMATCHED_ROUTE } from "./counted.ts";
import { guarded } from "./guard.ts";
import type { Handlers } from "./handlers.ts";
import { health } from "./health.ts";
import { type MediaSocketData, mediaSocketHandler } from "./media-socket.ts";
import { failure, HttpError, rateLimited, STORAGE_UNAVAILABLE, storageUnavailable } from "./respond.ts";
import { clientAddress, type Handler, type Req, type RouteTable } from "./routes.ts";

const STATUS_FOR: Record<FailureKind, number> = {
  invalid: 400,
  not_found: 404,
  limit: 429,
  twilio_refused: 502,
  twilio_unreachable: 503,
  not_configured: 503,
  draining: 503,
};

function errorMapper(core: AppCore) {
  return (handler: Handler): Handler =>
    async (req, server) => {
      try {
        return await handler(req, server);
      } catch (e) {
        if (e instanceof HttpError) return failure(e.status, e.message, e.headers);
        if (e instanceof CallError) return failure(STATUS_FOR[e.kind], e.message);
        core.log.error("request failed", { path: new URL(req.url).pathname, error: e });
        if (storageUnavailable(e)) return failure(503, STORAGE_UNAVAILABLE);
        return failure(500, "Internal server error");
      }
    };
}

type Srv = Server<MediaSocketData>;

/**
 * The handlers, made once: on the first request that needs them, or when the start asks (after listening). A request
 * that comes before they are made waits for them.
 */
function loader(make: () => Promise<Handlers>): () => Handlers | Promise<Handlers> {
  let loaded: Handlers | null = null;
  let loading: Promise<Handlers> | null = null;
  return () => {
    if (loaded) return loaded;
    loading ??= make().then((handlers) => {
      loaded = handlers;
      return handlers;
    });
    return loading;
  };
}

/** A route to the named handler, which runs at once when the handlers are made and after them when not. */
function via(load: () => Handlers | Promise<Handlers>) {
  return <K extends keyof Handlers>(name: K) =>
    (req: Req, server: Srv): ReturnType<Handlers[K]> => {
      const run = (handlers: Handlers) =>
        (handlers[name] as (req: Req, server: Srv) => ReturnType<Handlers[K]>)(req, server);
      const handlers = load();
      return (handlers instanceof Promise ? handlers.then(run) : run(handlers)) as ReturnType<Handlers[K]>;
    };
}

function routeTable(core: AppCore, load: () => Handlers | Promise<Handlers>, apiLimiter: RateLimiter): RouteTable {
  const errors = errorMapper(core);
  const to = via(load);
  /** /api/*: rate limit by client address first (it also slows token guessing), then authenticate. */
  const api = (handler: Handler): Handler =>
    errors((req, server) => {
      const address = clientAddress(req, server);
      const wait = apiLimiter.take(address);
      if (wait > 0) throw rateLimited(wait);
      const denied = authorize(core.config.server.api_token, req.headers.get("authorization"), address, req.headers);
      if (denied) return failure(401, denied, { "WWW-Authenticate": "Bearer" });
      return handler(req, server);
    });

  return {
    "/health": { GET: () => health(core) },
    "/openapi.json": { GET: errors(to("openApi")) },
    "/metrics": { GET: errors(to("metrics")) },
    "/api/call": { POST: api(to("postCall")) },
    "/api/calls": { GET: api(to("listCalls")) },
    "/api/calls/:id": { GET: api(to("showCall")) },
    "/api/calls/:id/end": { POST: api(to("postEnd")) },
    "/api/calls/:id/transcript": { GET: api(to("showTranscript")) },
    "/api/calls/:id/recording": { GET: api(to("showRecording")) },
    "/api/events": { GET: api(to("listEvents")) },
    "/api/stream": { GET: api(to("liveStream")) },
    "/mcp": { POST: api(to("mcp")) },
    ...Object.fromEntries(Object.entries(consoleRoutes).map(([path, serve]) => [path, { GET: errors(serve) }])),
    "/api/events/:id/retry": { POST: api(to("retryEvent")) },
    [TWILIO_PATHS.media]: to("media"),
    [TWILIO_PATHS.voice]: { POST: errors(to("voice")) },
    [TWILIO_PATHS.status]: { POST: errors(to("status")) },
    [TWILIO_PATHS.amd]: { POST: errors(to("amd")) },
    [TWILIO_PATHS.dialStatus]: { POST: errors(to("dialStatus")) },
    [TWILIO_PATHS.streamEnded]: { POST: errors(to("streamEnded")) },
  };
}

const routedMethods = (routes: RouteTable): [string, string][] =>
  Object.entries(routes).flatMap(([path, methods]) =>
    typeof methods === "function" ? [] : Object.keys(methods).map((method): [string, string] => [method, path]),
  );

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

type Methods = Exclude<RouteTable[string], (...args: never[]) => unknown>;

/**
 * A path's methods as one function: the method's handler, or for a wrong one a 405 naming the right ones. HEAD goes
 * to GET's handler, as Bun's own method routing does (Bun sends its headers only). The route answers a wrong method
 * itself: Bun's router matches the path as sent, while the URL a `fetch` fallback sees has its dot-segments resolved,
 * so only the router can tell `/api/calls` from `/x/../api/calls` (which is no route: 404).
 */
function byMethod(methods: Methods): Handler {
  const declared = Object.keys(methods);
  const allow = declared.includes("GET") ? [...declared, "HEAD"] : declared;
  const refuse = () => failure(405, `Method not allowed: use ${declared.join(" or ")}`, { Allow: allow.join(", ") });
  const table = methods as Record<string, Handler | undefined>;
  return (req, server) => {
    const handler = table[req.method] ?? (req.method === "HEAD" ? table.GET : undefined) ?? refuse;
    return handler(req, server);
  };
}

/**
 * What Bun.serve is given: each path one function, its guard (guard.ts) and count (counted.ts) in front, made in one
 * pass, since a cold start waits for every closure made here. A method no route has (none of METHODS) is no route,
 * as Bun's method routing had it.
 */
function served(core: AppCore, table: RouteTable, unrouted: () => Response): RouteTable {
  const routes: RouteTable = {};
  for (const [path, methods] of Object.entries(table)) {
    const handler = counted(
      core,
      path,
      guarded(core.config, path, typeof methods === "function" ? methods : byMethod(methods)),
    );
    routes[path] =
      typeof methods === "function"
        ? handler
        : (req, server) => (METHODS.has(req.method) ? handler(req, server) : unrouted());
  }
  return routes;
}

export interface Listening {
  server: Server<MediaSocketData>;
  /** Makes the route handlers now, rather than on the first request that needs them. */
  load: () => Promise<unknown>;
}

/**
 * Listens with the whole route table. `app` completes the app context from `core` (app.ts): the route handlers are
 * made from it and wait for it, /health does not.
 */
export function listen(core: AppCore, app: () => Promise<AppContext>): Listening {
  const apiLimiter = createRateLimiter(core.config.limits.api_requests_per_minute);
  const load = loader(async () => {
    const [ctx, { createHandlers }] = await Promise.all([app(), import("./handlers.ts")]);
    // Described from the table, so a route added without its description fails (its test, and the request).
    return createHandlers(ctx, apiLimiter, () => routedMethods(table));
  });
  const table = routeTable(core, load, apiLimiter);
  const unrouted = () => {
    core.metrics.httpResponse(UNMATCHED_ROUTE, 404);
    return failure(404, "Not found");
  };
  const routes = served(core, table, unrouted);
  const server = Bun.serve<MediaSocketData>({
    hostname: core.config.server.host,
    port: core.config.server.port,
    // Bun refuses a body over its own cap with a bare, empty 413 before any handler or the error hook runs,
    // which breaks the API's error shape; so its cap is off, and each reader applies its own limit as the
    // body streams in (readBody). Bun does not buffer a body nobody reads.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    routes,
    websocket: mediaSocketHandler(),
    fetch: unrouted,
    error: (e) => {
      core.log.error("unhandled server error", { error: e });
      return failure(500, "Internal server error");
    },
  });
  return { server, load: async () => load() };
}

/** Listens for an app context that is complete already (the demo, the tests). */
export const startServer = (ctx: AppContext): Server<MediaSocketData> => listen(ctx, async () => ctx).server;
