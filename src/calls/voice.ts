// Twilio's voice webhook: which calls get connected to the model, and which new inbound calls are admitted.

import { v4 as uuidv4 } from "uuid";
import { MODEL_MISSING_APOLOGY } from "../agent/lines.ts";
import type { AppContext } from "../app.ts";
import { lineDefaults } from "../config/numbers.ts";
import { providerKey } from "../model/protocol.ts";
import type { CallRow } from "../store/store.ts";
import { isCallStatus } from "../twilio/status.ts";
import { streamToken } from "../twilio/stream-token.ts";
import { connectStream, reject, sayAndHangup } from "../twilio/twiml.ts";
import { mediaStreamUrl, trimSlash } from "../twilio/urls.ts";
import type { StreamEndedWebhook, VoiceWebhook } from "../twilio/webhook.ts";
import { refuseWhileDraining } from "./errors.ts";
import { statusEvent } from "./events.ts";
import { addHistory } from "./history.ts";
import { callOptions, resolveOptions } from "./options.ts";
import { admit } from "./outbound.ts";
import { applyReport, callForAnswer } from "./reports.ts";
import { callAfterStream, streamEndedUrl } from "./resume.ts";
import { prepareBridge } from "./streams.ts";

/** Connects the call to a bridge; `opening` replaces the greeting, for an agent coming back to a call. */
export async function streamTwiml(ctx: AppContext, call: CallRow, opening?: string): Promise<string> {
  const { provider } = callOptions(ctx.config, call.options);
  if (!providerKey(ctx.config, provider)) {
    const key = provider === "google" ? "GEMINI_API_KEY" : "OPENAI_API_KEY";
    ctx.log.error(`${key} is not set: the call cannot be connected to the model`, { call_id: call.id, provider });
    await ctx.store.updateCall(call.id, { end_reason: call.end_reason ?? "model_unavailable" }, ctx.now());
    return sayAndHangup(MODEL_MISSING_APOLOGY);
  }
  // An instance handing its calls over opens no session here: the stream is to land on another.
  if (!ctx.state.handingOver) prepareBridge(ctx, call, opening);
  return connectStream({
    streamUrl: mediaStreamUrl(call.webhook_url),
    parameters: { call_id: call.id, stream_token: streamToken(ctx.streamSecret, call.id) },
    // Resuming turned off (calls.max_resumes: 0): a call whose stream ends is over, as Twilio ends it.
    action: ctx.config.calls.max_resumes > 0 ? streamEndedUrl(ctx, call) : undefined,
  });
}

/** `<Connect action>`: a new stream for a call whose stream dropped, or the hang-up of one that is over. */
export async function twimlAfterStream(
  ctx: AppContext,
  p: StreamEndedWebhook,
  callId: string | null,
  token: string | null,
): Promise<string> {
  const call = await callAfterStream(ctx, p, callId, token);
  return call ? streamTwiml(ctx, call) : sayAndHangup();
}

/** A call we placed (or admitted) was answered: connect it, unless it is already ending. */
async function twimlForKnownCall(ctx: AppContext, known: CallRow, p: VoiceWebhook, at: number): Promise<string> {
  if (known.ended_at !== null || known.end_requested_at !== null) return sayAndHangup();
  const call = isCallStatus(p.CallStatus)
    ? await applyReport(ctx, known.id, { status: p.CallStatus }, "voice_webhook", at, p)
    : known;
  return streamTwiml(ctx, call);
}

/** Whether inbound calls are open to this caller at all; whether there is room is asked on admission. */
function closedTo(ctx: AppContext, p: VoiceWebhook): boolean {
  const { enabled, allow_from } = ctx.config.inbound;
  return !enabled || (allow_from.length > 0 && !allow_from.includes(p.From));
}

/** Stores the new inbound call if there is room (calls.max_concurrent), counted and inserted in one transaction. */
function admitInboundCall(ctx: AppContext, p: VoiceWebhook, base: string, at: number): Promise<CallRow | null> {
  const status = isCallStatus(p.CallStatus) ? p.CallStatus : "ringing";
  // The number called picks the call's voice, language and prompt (twilio.numbers); a window is for dialling out.
  const line = lineDefaults(ctx.config, p.To);
  return admit(ctx, async () => {
    const row = await ctx.store.insertCall(
      {
        id: uuidv4(),
        call_sid: p.CallSid,
        direction: "inbound",
        from_number: p.From || null,
        to_number: p.To,
        status,
        prompt: line.prompt ?? ctx.config.agent.inbound_prompt,
        metadata: "{}",
        webhook_url: trimSlash(base),
        options: JSON.stringify(resolveOptions(ctx.config, { call_window: null }, line)),
        owner: ctx.instanceId,
      },
      at,
    );
    await addHistory(ctx, {
      callId: row.id,
      callSid: p.CallSid,
      status,
      source: "voice_webhook",
      verdict: "apply",
      at,
      params: p,
    });
    await statusEvent(ctx, row, at);
    return row;
  });
}

/** A new inbound call: admitted and connected if inbound is open to this caller and there is room, else refused. */
async function twimlForInbound(ctx: AppContext, p: VoiceWebhook, at: number): Promise<string> {
  // A 503 rather than a <Reject>: Twilio then tries the number's fallback URL, another instance.
  refuseWhileDraining(ctx);
  const base = ctx.config.server.public_url;
  if (closedTo(ctx, p)) return refuseInbound(ctx, p, "rejected");
  // Without a public URL no admission is tried; a full server still says busy.
  if (!base)
    return refuseInbound(ctx, p, (await ctx.store.countActive()) >= ctx.config.calls.max_concurrent ? "busy" : null);
  const call = await admitInboundCall(ctx, p, base, at);
  if (!call) return refuseInbound(ctx, p, "busy");
  ctx.log.info("inbound call accepted", { call_id: call.id, call_sid: p.CallSid, from: p.From });
  return streamTwiml(ctx, call);
}

/** Turns the call away: `refusal`, or null when there is no public URL to stream it to. */
function refuseInbound(ctx: AppContext, p: VoiceWebhook, refusal: "rejected" | "busy" | null): string {
  if (!ctx.config.server.public_url)
    ctx.log.error("inbound call refused: no public URL configured (server.public_url or AGENTICAI_WEBHOOK_URL)");
  ctx.log.info("inbound call refused", { call_sid: p.CallSid, from: p.From, reason: refusal ?? "no_public_url" });
  return reject(refusal ?? "rejected");
}

/** The TwiML answering Twilio's voice webhook for a call, known or new. */
export async function twimlForVoiceWebhook(
  ctx: AppContext,
  p: VoiceWebhook,
  callId: string | null = null,
): Promise<string> {
  const at = ctx.now();
  const known = await callForAnswer(ctx, p.CallSid, callId);
  if (known) return twimlForKnownCall(ctx, known, p, at);
  if (p.Direction !== "inbound") {
    ctx.log.warn("voice webhook for an unknown call", { call_sid: p.CallSid, direction: p.Direction });
    return sayAndHangup();
  }
  return twimlForInbound(ctx, p, at);
}
