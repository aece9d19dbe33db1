// The route table's shape, as Bun.serve takes it: a path pattern to one handler per method, or to one
// handler for every method (the media stream's upgrade, which may answer with no Response).
import type { Server } from "bun";
import type { MediaSocketData } from "./media.ts";

export type Req = Request & { params: Record<string, string> };
export type Handler = (req: Req, server: Server<MediaSocketData>) => Response | Promise<Response>;
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS";
export type RouteTable = Record<
  string,
  Partial<Record<Method, Handler>> | Bun.Serve.Handler<Req, Server<MediaSocketData>, Response | undefined>
>;
