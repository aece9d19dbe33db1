// Twilio's answering machine detection result for an outbound call: kept on the call, announced, and
// acted on as the call's voicemail policy says. The result comes while the call is already bridged (AMD is
// asynchronous), after a machine's greeting has ended, so a message left then starts at the beep.
import type { AppContext } from "../app.ts";
import { liveOthers, sendCallSignal } from "../cluster/signals.ts";
import type { CallRow } from "../store/store.ts";
import type { AmdWebhook } from "../twilio/webhook.ts";
import { enqueueEvent } from "./events.ts";
import { endCall } from "./hangup.ts";
import { callOptions } from "./options.ts";
import { callForAnswer } from "./reports.ts";

/** Results that mean no person answered. */
const MACHINE = /^(machine_|fax$)/;

export async function handleAmd(ctx: AppContext, p: AmdWebhook, callId: string | null): Promise<void> {
  const found = await callForAnswer(ctx, p.CallSid, callId);
  if (!found) {
    ctx.log.warn("machine detection result for an unknown call", { call_sid: p.CallSid });
    return;
  }
  const at = ctx.now();
  const call = await ctx.store.transaction(async () => {
    const row = await ctx.store.updateCall(found.id, { answered_by: p.AnsweredBy }, at);
    await enqueueEvent(ctx, row, "call.answered_by", at, {
      answered_by: p.AnsweredBy,
      detection_ms: p.MachineDetectionDuration ?? null,
    });
    return row;
  });
  const log = ctx.log.child({ call_id: call.id });
  log.info("answering machine detection", { answered_by: p.AnsweredBy });
  if ((MACHINE.test(p.AnsweredBy) || p.AnsweredBy === "unknown") && call.ended_at === null) await onMachine(ctx, call);
}

async function onMachine(ctx: AppContext, call: CallRow): Promise<void> {
  const options = callOptions(ctx.config, call.options);
  const bridge = ctx.bridges.get(call.id);
  // A screener, a phone menu or a hold queue is a machine to AMD, and no voicemail: the bridge knows which. An
  // `unknown` verdict is no machine, but a hint that a screener may be talking.
  if (bridge && (await bridge.machineAnswered(call.answered_by ?? ""))) return;
  if (options.voicemail === "continue" || !MACHINE.test(call.answered_by ?? "")) return;
  // A fax cannot take a message, and without a live bridge nobody is there to speak one.
  if (options.voicemail === "leave_message" && call.answered_by !== "fax") {
    if (bridge) return bridge.leaveVoicemail(options.voicemail_message);
    // Sharing a database, the bridge may be on the instance that holds the call: that one leaves the message.
    if (await heldElsewhere(ctx, call)) {
      await sendCallSignal(ctx, { kind: "voicemail", call_id: call.id, to: call.owner! });
      return;
    }
  }
  await endCall(ctx, call.id, "voicemail");
}

const heldElsewhere = async (ctx: AppContext, call: CallRow) =>
  call.owner !== null && call.owner !== ctx.instanceId && (await liveOthers(ctx)).includes(call.owner);

/** Another instance heard the machine on a call whose bridge is here: the message is left (or the call ended). */
export async function voicemailHere(ctx: AppContext, callId: string): Promise<void> {
  const call = await ctx.store.getCall(callId);
  if (!call || call.ended_at !== null) return;
  const bridge = ctx.bridges.get(call.id);
  if (bridge) bridge.leaveVoicemail(callOptions(ctx.config, call.options).voicemail_message);
  else await endCall(ctx, call.id, "voicemail");
}
