// /twilio/dial-status: how a transfer's dialled leg ended, and what the caller hears next.
import { transferFailedDirective } from "../agent/lines.ts";
import type { AppContext } from "../app.ts";
import { sayAndHangup } from "../twilio/twiml.ts";
import type { DialStatusWebhook } from "../twilio/webhook.ts";
import { callForWebhook } from "./reports.ts";
import { streamTwiml } from "./voice.ts";

/**
 * How the dialled leg went. Once the person has talked and hung up, so does the call. If nobody took it,
 * the agent comes back on the line (a new media stream) to say so, rather than leaving the caller to silence.
 */
export async function handleDialStatus(ctx: AppContext, p: DialStatusWebhook, callId: string | null): Promise<string> {
  const found = await callForWebhook(ctx, p.CallSid, callId);
  if (!found) return sayAndHangup();
  const at = ctx.now();
  const call = await ctx.store.updateCall(found.id, { transfer_status: p.DialCallStatus }, at);
  ctx.log.info("transfer leg ended", { call_id: call.id, dial_status: p.DialCallStatus });
  const answered = p.DialCallStatus === "completed" || p.DialCallStatus === "answered";
  if (answered || call.ended_at !== null || call.end_requested_at !== null) return sayAndHangup();
  // Not transferred after all: the call's end is the agent's to decide again.
  const back = call.end_reason === "transferred" ? await ctx.store.updateCall(call.id, { end_reason: null }, at) : call;
  return streamTwiml(ctx, back, transferFailedDirective(p.DialCallStatus));
}
