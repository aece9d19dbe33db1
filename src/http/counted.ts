// Counting every routed response for /metrics, labelled by the route's pattern.
import type { Server } from "bun";
import type { AppCore } from "../core.ts";
import type { MediaSocketData } from "./media-socket.ts";
import type { Req } from "./routes.ts";

/** Paths no route matches share one label, so probing random paths cannot make series without end. */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * Every routed response is counted here, labelled with its route's pattern rather than the path, which
 * holds call ids. A media stream's upgrade answers with no Response: 101. A throw becomes Bun's 500.
 */
export function counted<R extends Response | undefined>(
  ctx: AppCore,
  route: string,
  handler: (req: Req, server: Server<MediaSocketData>) => R | Promise<R>,
): (req: Req, server: Server<MediaSocketData>) => R | Promise<R> {
  const count = (res: R) => {
    ctx.metrics.httpResponse(route, res?.status ?? 101);
    return res;
  };
  const thrown = (e: unknown): never => {
    ctx.metrics.httpResponse(route, 500);
    throw e;
  };
  return (req, server) => {
    try {
      const res = handler(req, server);
      return res instanceof Promise ? res.then(count, thrown) : count(res);
    } catch (e) {
      return thrown(e);
    }
  };
}
