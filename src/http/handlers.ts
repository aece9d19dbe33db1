// What the route table's paths do (server.ts names them): made once the app context is complete. This module and the
// call service it reaches are loaded after the server listens, so a start answers /health before they exist.
import type { Server } from "bun";
import type { AppContext } from "../app.ts";
import type { RateLimiter } from "../runtime/ratelimit.ts";
import { listCalls, postCall, postEnd, showCall, showTranscript } from "./api.ts";
import { listEvents, retryEvent } from "./events.ts";
import { createMcpEndpoint } from "./mcp.ts";
import { upgradeMedia } from "./media.ts";
import type { MediaSocketData } from "./media-socket.ts";
import { getMetrics } from "./metrics.ts";
import { openApiEndpoint } from "./openapi.ts";
import { showRecording } from "./recording.ts";
import { createSignatureRejections, type RejectSignature } from "./rejections.ts";
import { clientAddress, type Req } from "./routes.ts";
import { createLiveStreams } from "./stream.ts";
import { postAmd, postDialStatus, postStatus, postStreamEnded, postVoice } from "./twilio.ts";

type Srv = Server<MediaSocketData>;

/**
 * `apiLimiter` is the route table's own (it is taken before any handler runs); `routedMethods` lists the table's
 * methods and paths, which GET /openapi.json describes.
 */
export function createHandlers(ctx: AppContext, apiLimiter: RateLimiter, routedMethods: () => [string, string][]) {
  const liveStream = createLiveStreams(ctx);
  const mcp = createMcpEndpoint(ctx);
  const describeApi = openApiEndpoint(routedMethods);
  const rejections = createSignatureRejections(ctx.log, () => ctx.now());
  const rejectFrom =
    (req: Request, server: Srv): RejectSignature =>
    (path, msg, fields) =>
      rejections.reject(clientAddress(req, server), path, msg, fields);
  const callBudget = (req: Request, server: Srv) => {
    const address = clientAddress(req, server);
    return { address, take: () => ctx.callBudget.take(address), refund: () => ctx.callBudget.refund(address) };
  };
  return {
    openApi: () => describeApi(),
    metrics: (req: Req, server: Srv) => getMetrics(ctx, req, clientAddress(req, server), apiLimiter),
    postCall: (req: Req, server: Srv) => postCall(ctx, req, callBudget(req, server)),
    listCalls: (req: Req) => listCalls(ctx, req),
    showCall: (req: Req) => showCall(ctx, req.params.id!),
    postEnd: (req: Req) => postEnd(ctx, req.params.id!),
    showTranscript: (req: Req) => showTranscript(ctx, req.params.id!),
    showRecording: (req: Req) => showRecording(ctx, req.params.id!, req),
    listEvents: (req: Req) => listEvents(ctx, req),
    retryEvent: (req: Req) => retryEvent(ctx, req.params.id!),
    liveStream,
    mcp: (req: Req, server: Srv) => mcp(req, server, callBudget(req, server)),
    media: (req: Req, server: Srv) => upgradeMedia(ctx, req, server, rejectFrom(req, server)),
    voice: (req: Req, server: Srv) => postVoice(ctx, req, rejectFrom(req, server)),
    status: (req: Req, server: Srv) => postStatus(ctx, req, rejectFrom(req, server)),
    amd: (req: Req, server: Srv) => postAmd(ctx, req, rejectFrom(req, server)),
    dialStatus: (req: Req, server: Srv) => postDialStatus(ctx, req, rejectFrom(req, server)),
    streamEnded: (req: Req, server: Srv) => postStreamEnded(ctx, req, rejectFrom(req, server)),
  };
}

export type Handlers = ReturnType<typeof createHandlers>;
