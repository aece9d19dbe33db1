// What a web page could otherwise make the control surface do through a visitor's browser: post a call as a
// "simple" cross-site request (text/plain or a form needs no CORS preflight), or, with a name it rebinds to
// 127.0.0.1, read and drive a server that trusts loopback clients without a token (DNS rebinding).
import type { Server } from "bun";
import type { Config } from "../config/schema.ts";
import type { MediaSocketData } from "./media-socket.ts";
import { failure } from "./respond.ts";
import type { Req } from "./routes.ts";

/** The paths that act on requests: the API, and the MCP endpoint by its path whenever it is routed. */
const CONTROL_PATH = /^\/(?:api|mcp)(?:\/|$)/;

/** application/json; the one parameter it may carry is charset=utf-8, which JSON is anyway (RFC 8259). */
const JSON_TYPE = /^application\/json[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*(?:utf-8|"utf-8")[ \t]*)?$/i;

export const BAD_HOST = "Bad request: the Host header is not a valid host";
export const NOT_JSON = "Unsupported media type: send the body as JSON with 'Content-Type: application/json'";
export const FOREIGN_ORIGIN =
  "Forbidden: this request comes from a page on another origin; list that origin in server.allowed_origins (AGENTICAI_ALLOWED_ORIGINS) to allow it";
export const MISDIRECTED =
  "Misdirected request: without AGENTICAI_API_TOKEN the API answers only requests addressed to localhost, a loopback address or the host of server.public_url";

/** A request without Content-Length (or with 0) and without Transfer-Encoding has no body to act on. */
function hasBody(headers: Headers): boolean {
  const length = headers.get("content-length");
  return headers.has("transfer-encoding") || (length !== null && length.trim() !== "0");
}

/** Bodies are read only as JSON; a bodiless POST (…/end, …/retry) needs no type at all. */
function bodyTypeAccepted(headers: Headers): boolean {
  return !hasBody(headers) || JSON_TYPE.test(headers.get("content-type")?.trim() ?? "");
}

/**
 * The request's URL, whose host is the Host header as Bun read it (IPv4 in any spelling comes out dotted,
 * names lowercased); null when Host is missing, repeated or no valid host: Bun then leaves a URL no handler
 * could parse.
 */
function requestUrl(req: Request): URL | null {
  if (!URL.canParse(req.url) || (req.headers.get("host") ?? ",").includes(",")) return null;
  return new URL(req.url);
}

const hostOf = (url: string | undefined) => (url && URL.canParse(url) ? new URL(url).hostname : null);

/** localhost, *.localhost, 127.0.0.0/8 and [::1] are this machine whatever DNS says; a rebinding page has none of them. */
function loopbackOrPublicHost(hostname: string, publicUrl: string | undefined): boolean {
  const name = hostname.replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost") || name === "[::1]") return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return true;
  return name === hostOf(publicUrl);
}

const originOf = (url: string) => {
  const parsed = URL.canParse(url) ? new URL(url) : null;
  return parsed && /^https?:$/.test(parsed.protocol) ? parsed.origin : null;
};

/** No Origin (curl, SDKs, same-origin GETs) is fine; otherwise it must be this server's, as reached or as published, or listed. */
function originAccepted(origin: string | null, own: URL, config: Config["server"]): boolean {
  if (origin === null) return true;
  const given = originOf(origin);
  if (given === null) return false;
  const accepted = [own.origin, config.public_url, ...(config.allowed_origins ?? [])];
  return accepted.some((o) => o !== undefined && originOf(o) === given);
}

type Refusal = (req: Req, url: URL) => Response | null;

function controlRefusal(config: Config): Refusal {
  return (req, url) => {
    if (!config.server.api_token && !loopbackOrPublicHost(url.hostname, config.server.public_url))
      return failure(421, MISDIRECTED);
    if (!originAccepted(req.headers.get("origin"), url, config.server)) return failure(403, FOREIGN_ORIGIN);
    if (!bodyTypeAccepted(req.headers)) return failure(415, NOT_JSON);
    return null;
  };
}

/** /metrics leans on the API's loopback trust only while neither token is set, and only then can rebinding read it. */
function metricsRefusal(config: Config): Refusal {
  return (_req, url) =>
    !config.server.api_token && !config.metrics.token && !loopbackOrPublicHost(url.hostname, config.server.public_url)
      ? failure(421, MISDIRECTED)
      : null;
}

function refusalFor(config: Config, route: string): Refusal {
  if (CONTROL_PATH.test(route)) return controlRefusal(config);
  if (route === "/metrics") return metricsRefusal(config);
  return () => null;
}

type AnyHandler = (req: Req, server: Server<MediaSocketData>) => unknown;

/**
 * Puts the rules in front of a route by its path, so a route added under /api/ or at /mcp is covered
 * without doing anything. /health stays open to any Host: load balancers and container checks address the
 * instance by whatever name or address they reach it at, and it holds nothing to protect. Every other route
 * needs a valid Host first, since each handler reads its request's URL. `config` is read at each request.
 */
export function guarded<H extends AnyHandler>(config: Config, route: string, handler: H): H {
  if (route === "/health") return handler;
  const refusal = refusalFor(config, route);
  return ((req, server) => {
    const url = requestUrl(req);
    if (!url) return failure(400, BAD_HOST);
    return refusal(req, url) ?? handler(req, server);
  }) as H;
}
