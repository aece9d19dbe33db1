// The media-stream WebSocket: Twilio's side of <Connect><Stream>. The upgrade must carry a valid
// X-Twilio-Signature over the public wss:// URL; the socket must then send a valid `start` naming a
// live call with its stream token within 5 s. Until then no model session is touched.
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import type { AppContext } from "../app.ts";
import type { Bridge } from "../bridge/bridge.ts";
import { acceptStream } from "../calls/voice.ts";
import { StartMessage } from "../twilio/media.ts";
import { mediaStreamUrl } from "../twilio/urls.ts";
import { failure } from "./respond.ts";
import { signedByTwilio } from "./twilio.ts";

export interface MediaSocketData {
  bridge: Bridge | null;
  startTimer: ReturnType<typeof setTimeout> | null;
}

const START_TIMEOUT_MS = 5_000;
/** Twilio's frames are a few hundred bytes; anything near this is not Twilio. */
export const MAX_MEDIA_MESSAGE = 64 * 1024;
const POLICY_VIOLATION = 1008;

/** The wss:// URLs of every live public base: the upgrade names no call, its `start` does. */
function streamUrls(ctx: AppContext): string[] {
  const bases = new Set(ctx.store.activeWebhookBases());
  if (ctx.config.server.public_url) bases.add(ctx.config.server.public_url);
  // openai-agents-js found Twilio sometimes signs the URL with a trailing slash.
  return [...bases].flatMap((base) => [mediaStreamUrl(base), `${mediaStreamUrl(base)}/`]);
}

export function upgradeMedia(ctx: AppContext, req: Request, server: Server<MediaSocketData>): Response | undefined {
  if (!signedByTwilio(ctx, req, streamUrls(ctx))) {
    ctx.log.warn("rejected a media stream upgrade with an invalid Twilio signature");
    return failure(403, "Invalid Twilio signature");
  }
  if (server.upgrade(req, { data: { bridge: null, startTimer: null } })) return undefined;
  return failure(426, "Expected a WebSocket upgrade");
}

function onStart(ctx: AppContext, ws: ServerWebSocket<MediaSocketData>, text: string): void {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return;
  }
  if ((raw as { event?: unknown })?.event !== "start") return;
  const start = StartMessage.safeParse(raw);
  const result = start.success ? acceptStream(ctx, start.data) : "malformed start message";
  if (typeof result === "string") {
    ctx.log.warn("media stream refused", { reason: result });
    ws.close(POLICY_VIOLATION, result);
    return;
  }
  if (ws.data.startTimer) clearTimeout(ws.data.startTimer);
  ws.data.startTimer = null;
  ws.data.bridge = result;
  result.attach(ws, start.data!);
}

export function mediaSocketHandler(ctx: AppContext): WebSocketHandler<MediaSocketData> {
  return {
    maxPayloadLength: MAX_MEDIA_MESSAGE,
    // Backpressure is handled per call by dropping audio, not by Bun closing the socket.
    backpressureLimit: 16 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    open(ws) {
      ws.data.startTimer = setTimeout(() => ws.close(POLICY_VIOLATION, "no valid start message"), START_TIMEOUT_MS);
    },
    message(ws, message) {
      // Twilio sends text frames only; a binary frame is not Twilio and carries nothing to act on.
      if (typeof message !== "string") return;
      if (ws.data.bridge) ws.data.bridge.onTwilioText(message);
      else onStart(ctx, ws, message);
    },
    drain(ws) {
      ws.data.bridge?.onTwilioDrain();
    },
    close(ws) {
      if (ws.data.startTimer) clearTimeout(ws.data.startTimer);
      ws.data.bridge?.onTwilioClosed();
      ws.data.bridge = null;
    },
  };
}
