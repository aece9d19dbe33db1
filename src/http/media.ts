// The media-stream WebSocket: Twilio's side of <Connect><Stream>. The upgrade must carry a valid
// X-Twilio-Signature over the public wss:// URL; the socket must then send a valid `start` naming a
// live call with its stream token within 5 s. Until then no model session is touched.
import type { Server, ServerWebSocket } from "bun";
import type { AppContext } from "../app.ts";
import { acceptStream } from "../calls/streams.ts";
import { mediaUpgradeSignedByTwilio } from "../calls/trust.ts";
import { readTwilioMessage, type StartMessage, type TwilioHandlers } from "../twilio/media.ts";
import { TWILIO_PATHS } from "../twilio/urls.ts";
import { type MediaSocketData, POLICY_VIOLATION } from "./media-socket.ts";
import type { RejectSignature } from "./rejections.ts";
import { failure } from "./respond.ts";

const HANDING_OVER = "This instance is handing its calls over to the others; connect to another";

export async function upgradeMedia(
  ctx: AppContext,
  req: Request,
  server: Server<MediaSocketData>,
  reject: RejectSignature,
): Promise<Response | undefined> {
  if (!(await mediaUpgradeSignedByTwilio(ctx, req.headers.get("x-twilio-signature")))) {
    const e = reject(TWILIO_PATHS.media, "rejected a media stream upgrade with an invalid Twilio signature");
    return failure(e.status, e.message, e.headers);
  }
  // A balancer retries a 503 to the upgrade on another instance (nginx's proxy_next_upstream http_503).
  if (ctx.state.handingOver) return failure(503, HANDING_OVER);
  const data: MediaSocketData = {
    bridge: null,
    line: null,
    startTimer: null,
    held: null,
    closed: false,
    onStart: readStart(ctx),
  };
  if (server.upgrade(req, { data })) return undefined;
  return failure(426, "Expected a WebSocket upgrade");
}

function refuse(ctx: AppContext, ws: ServerWebSocket<MediaSocketData>, reason: string): void {
  ctx.log.warn("media stream refused", { reason });
  ws.close(POLICY_VIOLATION, reason);
}

/**
 * Admits the stream its `start` names. What arrives meanwhile is held and handed to the bridge after the
 * start, as it would have been had the admission not waited for the database.
 */
async function admit(ctx: AppContext, ws: ServerWebSocket<MediaSocketData>, start: StartMessage): Promise<void> {
  const held: string[] = [];
  ws.data.held = held;
  const result = await acceptStream(ctx, start).finally(() => {
    ws.data.held = null;
  });
  if (typeof result === "string") return refuse(ctx, ws, result);
  if (ws.data.startTimer) clearTimeout(ws.data.startTimer);
  ws.data.startTimer = null;
  ws.data.bridge = result;
  ws.data.line = result.line;
  result.attach(ws, start);
  for (const message of held) result.line.read(result.line, message);
  if (ws.data.closed) result.onTwilioClosed();
}

/** Before its `start`, a socket is waiting to be admitted: only a valid start for a live call opens its bridge. */
function awaitingStart(ctx: AppContext, ws: ServerWebSocket<MediaSocketData>): TwilioHandlers {
  const ignore = () => {};
  return {
    start(start) {
      admit(ctx, ws, start).catch((error: unknown) => {
        ctx.log.error("admitting a media stream failed", { error });
        refuse(ctx, ws, "admission failed");
      });
    },
    invalid(event) {
      if (event === "start") refuse(ctx, ws, "malformed start message");
    },
    media: ignore,
    mark: ignore,
    dtmf: ignore,
    stop: ignore,
  };
}

/** What a socket does with its messages until its `start` is admitted. */
const readStart =
  (ctx: AppContext) =>
  (ws: ServerWebSocket<MediaSocketData>, text: string): void =>
    readTwilioMessage(text, awaitingStart(ctx, ws));
