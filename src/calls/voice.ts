// Twilio's voice webhook and the media streams it leads to: which calls get a bridge to the model,
// and which stream may attach to which bridge.
import { v4 as uuidv4 } from "uuid";
import type { AppContext } from "../app.ts";
import { type Bridge, createBridge } from "../bridge/bridge.ts";
import type { StartMessage } from "../twilio/media.ts";
import { streamToken, verifyStreamToken } from "../twilio/stream-token.ts";
import { connectStream, reject, sayAndHangup } from "../twilio/twiml.ts";
import { mediaStreamUrl, trimSlash } from "../twilio/urls.ts";
import type { VoiceWebhook } from "../twilio/webhook.ts";
import { apologizeAndHangUp, applyReport, checkCapacity, endCall, recordStatus } from "./service.ts";
import { isCallStatus } from "./status.ts";
import type { CallRow } from "./store.ts";

/** Opens the model session for a call before its media stream arrives, so the greeting is ready at once. */
export function prepareBridge(ctx: AppContext, call: CallRow): Bridge {
  const existing = ctx.bridges.get(call.id);
  if (existing) return existing;
  const bridge = createBridge({
    config: ctx.config,
    log: ctx.log.child({ call_id: call.id }),
    store: ctx.store,
    call: { id: call.id, direction: call.direction, prompt: call.prompt },
    hangup: (reason) => endCall(ctx, call.id, reason),
    apologize: (reason) => apologizeAndHangUp(ctx, call.id, reason),
    onClosed: () => {
      if (ctx.bridges.get(call.id) === bridge) ctx.bridges.delete(call.id);
    },
  });
  ctx.bridges.set(call.id, bridge);
  return bridge;
}

function streamTwiml(ctx: AppContext, call: CallRow): Promise<string> {
  if (!ctx.config.openai.api_key) {
    ctx.log.error("OPENAI_API_KEY is not set: the call cannot be connected to the model", { call_id: call.id });
    ctx.store.updateCall(call.id, { end_reason: call.end_reason ?? "model_unavailable" }, ctx.now());
    return sayAndHangup("Sorry, the assistant is not available right now. Goodbye.");
  }
  prepareBridge(ctx, call);
  return connectStream({
    streamUrl: mediaStreamUrl(call.webhook_url),
    parameters: { call_id: call.id, stream_token: streamToken(ctx.streamSecret, call.id) },
  });
}

function inboundRefusal(ctx: AppContext, p: VoiceWebhook): "rejected" | "busy" | null {
  const { enabled, allow_from } = ctx.config.inbound;
  if (!enabled) return "rejected";
  if (allow_from.length > 0 && !allow_from.includes(p.From)) return "rejected";
  if (!checkCapacity(ctx)) return "busy";
  return null;
}

/** TwiML for Twilio's voice webhook: connect known calls to the media bridge, admit or refuse new inbound ones. */
export async function handleVoiceWebhook(ctx: AppContext, p: VoiceWebhook): Promise<string> {
  const at = ctx.now();
  const known = ctx.store.getCallBySid(p.CallSid);
  if (known) {
    if (known.ended_at !== null || known.end_requested_at !== null) return sayAndHangup();
    const call = isCallStatus(p.CallStatus)
      ? applyReport(ctx, known.id, { status: p.CallStatus }, "voice_webhook", at, p)
      : known;
    return streamTwiml(ctx, call);
  }
  if (p.Direction !== "inbound") {
    ctx.log.warn("voice webhook for an unknown call", { call_sid: p.CallSid, direction: p.Direction });
    return sayAndHangup();
  }
  const refusal = inboundRefusal(ctx, p);
  const base = ctx.config.server.public_url;
  if (refusal || !base) {
    if (!base)
      ctx.log.error("inbound call refused: no public URL configured (server.public_url or AGENTICAI_WEBHOOK_URL)");
    ctx.log.info("inbound call refused", { call_sid: p.CallSid, from: p.From, reason: refusal ?? "no_public_url" });
    return reject(refusal ?? "rejected");
  }
  const status = isCallStatus(p.CallStatus) ? p.CallStatus : "ringing";
  const call = ctx.store.transaction(() => {
    const row = ctx.store.insertCall(
      {
        id: uuidv4(),
        call_sid: p.CallSid,
        direction: "inbound",
        from_number: p.From || null,
        to_number: p.To,
        status,
        prompt: ctx.config.agent.inbound_prompt,
        metadata: "{}",
        webhook_url: trimSlash(base),
      },
      at,
    );
    recordStatus(ctx, row.id, p.CallSid, status, "voice_webhook", at, p);
    return row;
  });
  ctx.log.info("inbound call accepted", { call_id: call.id, call_sid: p.CallSid, from: p.From });
  return streamTwiml(ctx, call);
}

/**
 * A media stream's `start` names its call in customParameters; only the stream token served in that
 * call's TwiML opens its bridge, and never for a call that has ended.
 */
export function acceptStream(ctx: AppContext, start: StartMessage): Bridge | string {
  const { call_id: callId, stream_token: token } = start.start.customParameters;
  if (!callId || !token || !verifyStreamToken(ctx.streamSecret, callId, token)) return "invalid stream token";
  const call = ctx.store.getCall(callId);
  if (!call || call.ended_at !== null || call.end_requested_at !== null) return "unknown or ended call";
  if (call.call_sid && call.call_sid !== start.start.callSid) return "stream belongs to another call";
  if (!ctx.config.openai.api_key) return "model not configured";
  return prepareBridge(ctx, call);
}
