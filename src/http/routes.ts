// The route table's shape, as Bun.serve takes it: a path pattern to one handler per method, or to one
// handler for every method (the media stream's upgrade, which may answer with no Response).
import type { Server } from "bun";
import type { MediaSocketData } from "./media-socket.ts";

export type Req = Request & { params: Record<string, string> };
export type Handler = (req: Req, server: Server<MediaSocketData>) => Response | Promise<Response>;
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS";
export type RouteTable = Record<
  string,
  Partial<Record<Method, Handler>> | Bun.Serve.Handler<Req, Server<MediaSocketData>, Response | undefined>
>;

/** The client's address as the socket gives it: rate limits and the loopback rule key on it. */
export const clientAddress = (req: Request, server: Server<MediaSocketData>) =>
  server.requestIP(req)?.address ?? "unknown";
