// Handing a call to a person: Twilio's call is updated with a <Dial> to the call's transfer target, which
// ends the media stream (and so the bridge) while the call goes on with the person. The call keeps
// end_reason `transferred`; the dialled leg's outcome arrives at /twilio/dial-status (dial-status.ts).
import type { AppContext } from "../app.ts";
import type { CallRow } from "../store/store.ts";
import { dial } from "../twilio/twiml.ts";
import { TWILIO_PATHS, twilioUrl } from "../twilio/urls.ts";
import { destinationRefusal } from "./destinations.ts";
import { getCall, requireTwilio } from "./errors.ts";
import { enqueueEvent } from "./events.ts";
import { endCall } from "./hangup.ts";
import { callOptions } from "./options.ts";

/** Twilio's longest call. */
const MAX_TIME_LIMIT_S = 14_400;

/** Transfers the call to its target; a call with none (or one no longer allowed) is ended instead. */
export async function transferCall(ctx: AppContext, id: string): Promise<CallRow> {
  const call = await getCall(ctx, id);
  const log = ctx.log.child({ call_id: id });
  const target = callOptions(ctx.config, call.options).transfer_to;
  const refusal = target
    ? await destinationRefusal(ctx.config, target, "'transfer_to'")
    : "the call has no transfer target";
  if (!target || refusal || !call.call_sid || call.ended_at !== null) {
    log.warn("cannot transfer the call; ending it instead", { reason: refusal ?? "not live" });
    return endCall(ctx, id, "agent_hangup");
  }
  const at = ctx.now();
  const updated = await ctx.store.transaction(async () => {
    const row = await requestTransfer(ctx, call.id, target, at);
    await enqueueEvent(ctx, row, "call.transferred", at, { transferred_to: target });
    return row;
  });
  const { transfer_ring_s, transfer_max_duration_s } = ctx.config.calls;
  const twiml = dial({
    to: target,
    // Twilio accepts only its own numbers (or verified ones) as caller ID: the number of ours the call is on.
    callerId: ourNumber(call) ?? ctx.config.twilio.phone_number ?? "",
    timeoutS: transfer_ring_s,
    timeLimitS: transfer_max_duration_s,
    action: `${twilioUrl(call.webhook_url, TWILIO_PATHS.dialStatus)}?call_id=${call.id}`,
  });
  // The call's own limit was set for the agent's part and counts from its start: the person gets theirs on top.
  const elapsedS = Math.ceil((at - (call.answered_at ?? call.created_at)) / 1000);
  const timeLimit = Math.min(MAX_TIME_LIMIT_S, elapsedS + transfer_ring_s + transfer_max_duration_s);
  await requireTwilio(ctx).updateCall(call.call_sid, { twiml, timeLimit });
  log.info("call transferred", { to: target });
  return updated;
}

/** Our side of the call: what an outbound call was placed from, the number an inbound one called. */
const ourNumber = (call: CallRow) => (call.direction === "outbound" ? call.from_number : call.to_number);

/** Unlike a hang-up the call stays up, so only the reason and the target are recorded; call inside a transaction. */
async function requestTransfer(ctx: AppContext, id: string, target: string, at: number): Promise<CallRow> {
  const call = (await ctx.store.getCall(id))!;
  return ctx.store.updateCall(
    id,
    { end_reason: call.end_reason ?? "transferred", transferred_to: target, transfer_status: null },
    at,
  );
}
