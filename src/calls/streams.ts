// Media streams and the bridges they attach to: which stream may open which call's model session.

import { promptWithIdentity, promptWithReportSchema, transferFailedDirective } from "../agent/lines.ts";
import type { AppContext } from "../app.ts";
import { type Bridge, createBridge } from "../bridge/bridge.ts";
import type { GatekeeperEvent } from "../bridge/gatekeeper.ts";
import { callTools } from "../bridge/tools/all.ts";
import type { BridgeStore } from "../bridge/turns.ts";
import { sendCallSignal } from "../cluster/signals.ts";
import { providerKey } from "../model/protocol.ts";
import { createRecorder, type Recorder } from "../recording/recorder.ts";
import type { CallRow } from "../store/store.ts";
import type { StartMessage } from "../twilio/media.ts";
import { verifyStreamToken } from "../twilio/stream-token.ts";
import { callConsult, consultSettings } from "./consult.ts";
import { enqueueEvent, eventRows } from "./events.ts";
import { apologizeAndHangUp, endCall } from "./hangup.ts";
import { type CallOptions, callOptions } from "./options.ts";
import { recordAgentOutcome } from "./report.ts";
import { resumedLine, takeResumedCall } from "./resume.ts";
import { iso } from "./time.ts";
import { transferCall } from "./transfer.ts";

/** Opens the model session for a call before its media stream arrives, so the greeting is ready at once. */
export function prepareBridge(ctx: AppContext, call: CallRow, opening?: string): Bridge {
  const existing = ctx.bridges.get(call.id);
  if (existing) return existing;
  const options = callOptions(ctx.config, call.options);
  const settings = consultSettings(ctx, options);
  const consult = settings ? callConsult(ctx, call, settings) : null;
  const bridge = createBridge({
    config: ctx.config,
    log: ctx.log.child({ call_id: call.id }),
    store: bridgeStore(ctx, call),
    tools: ctx.tools,
    call: {
      id: call.id,
      direction: call.direction,
      prompt: promptWithIdentity(
        promptWithReportSchema(call.prompt, call.report_schema),
        options.caller_identity ?? null,
      ),
      tools: callTools({ transfer: options.transfer_to !== null, consult: consult !== null }),
      silence: { repromptMs: options.silence.reprompt_s * 1000, hangupMs: options.silence.hangup_s * 1000 },
      gatekeepers: gatekeeperPolicy(options),
      voicemail: { policy: options.voicemail, message: options.voicemail_message },
      opening,
      model: { provider: options.provider, model: options.model },
      voice: options.voice,
      language: options.language,
      resumed: resumedLine(call),
    },
    gatekeeper: (event) =>
      void recordGatekeeper(ctx, call.id, event).catch((error: unknown) =>
        ctx.log.warn("recording a gatekeeper failed", { call_id: call.id, error }),
      ),
    recordOutcome: (outcome) => recordAgentOutcome(ctx, call, outcome),
    recorder: options.record ? recorderFor(ctx, call.id) : null,
    ticks: ctx.ticks,
    consult: (question) =>
      consult?.(question) ?? Promise.resolve({ ok: false, reason: "error", detail: "consulting is off for this call" }),
    hangup: (reason) => (reason === "transferred" ? transferCall(ctx, call.id) : endCall(ctx, call.id, reason)),
    apologize: (reason) => apologizeAndHangUp(ctx, call.id, reason),
    onClosed: () => {
      // In the same tick as leaving ctx.bridges, where a scrape reads live calls' counts, so none is counted twice.
      ctx.metrics.bridgeClosed(bridge.metrics());
      if (ctx.bridges.get(call.id) === bridge) ctx.bridges.delete(call.id);
    },
  });
  ctx.bridges.set(call.id, bridge);
  return bridge;
}

/** Which gatekeepers the bridge looks for; calls stored before they existed look for none. */
function gatekeeperPolicy(options: CallOptions) {
  return {
    screeningWaitS: options.screening === false ? null : (options.screening?.wait_s ?? null),
    holdMaxS: options.hold === false ? null : (options.hold?.max_s ?? null),
  };
}

/** The call's recording, streamed to its file as the call goes; one that cannot be opened leaves the call unrecorded. */
function recorderFor(ctx: AppContext, callId: string): Recorder | null {
  const log = ctx.log.child({ call_id: callId });
  const onError = (error: unknown) => log.error("recording the call failed; it goes on unrecorded", { error });
  try {
    return createRecorder(ctx.recordings.open(callId), onError);
  } catch (e) {
    onError(e);
    return null;
  }
}

/** The bridge's writes; with events.transcript on, each finished turn is announced in the same commit. */
function bridgeStore(ctx: AppContext, call: CallRow): BridgeStore {
  if (!ctx.config.events.transcript) return ctx.store;
  return {
    upsertTurn(turn) {
      const at = Date.now();
      const data = { role: turn.role, text: turn.text, at: iso(turn.started_at) };
      if (!turn.text) return ctx.store.upsertTurn(turn);
      ctx.store.upsertTurn(turn, eventRows(ctx, call, "call.transcript", data, at));
      // The delivery worker's read commits the pending batch, so the turn goes out without waiting for a poll.
      ctx.signals.eventsQueued();
    },
    saveMetrics: (id, metrics, at) => ctx.store.saveMetrics(id, metrics, at),
    saveLineState: (id, state, at) => ctx.store.saveLineState(id, state, at),
    transcript: (id) => ctx.store.transcript(id),
  };
}

/**
 * A media stream's `start` names its call in customParameters; only the stream token served in that
 * call's TwiML opens its bridge, and never for a call that has ended.
 */
export async function acceptStream(ctx: AppContext, start: StartMessage): Promise<Bridge | string> {
  const { call_id: callId, stream_token: token } = start.start.customParameters;
  if (!callId || !token || !verifyStreamToken(ctx.streamSecret, callId, token)) return "invalid stream token";
  // Refused, Twilio asks the call's <Connect action>, and the call resumes on an instance that stays.
  if (ctx.state.handingOver) return "this instance is handing its calls over";
  const call = await ctx.store.getCall(callId);
  if (!call || call.ended_at !== null || call.end_requested_at !== null) return "unknown or ended call";
  if (call.call_sid && call.call_sid !== start.start.callSid) return "stream belongs to another call";
  if (!providerKey(ctx.config, callOptions(ctx.config, call.options).provider)) return "model not configured";
  await dropStaleBridge(ctx, call.id);
  // The stream may land on another instance than the webhook that served its TwiML: this one holds the call
  // now, and what the agent opens with comes from the call row rather than from that instance's memory.
  const held =
    call.stream_lost_at !== null
      ? await takeResumedCall(ctx, call)
      : await ctx.store.updateCall(call.id, { owner: ctx.instanceId }, ctx.now());
  // Another instance that prepared a bridge for this stream lets it go now rather than after STREAM_WAIT_MS.
  sendCallSignal(ctx, { kind: "stream_taken", call_id: call.id, by: ctx.instanceId }).catch((error: unknown) =>
    ctx.log.warn("telling the other instances that the stream is here failed", { call_id: call.id, error }),
  );
  if (call.stream_lost_at === null) return prepareBridge(ctx, held, returnOpening(held));
  // A resumed call goes on from its conversation, whatever opened the stream before: its bridge is made from the
  // row as the resume found it (when the stream was lost), which taking the call over has just cleared.
  return prepareBridge(ctx, { ...held, stream_lost_at: call.stream_lost_at });
}

/**
 * A bridge of this call here that has a stream already lost it (a stream is the call's only one): it ends, and its
 * writes are committed before the new bridge reads them.
 */
async function dropStaleBridge(ctx: AppContext, callId: string): Promise<void> {
  const stale = ctx.bridges.get(callId);
  if (!stale?.attached) return;
  stale.close("stream_replaced");
  await ctx.store.flush();
}

/** An agent back on the line after a transfer nobody took opens by saying so (see dial-status.ts). */
function returnOpening(call: CallRow): string | undefined {
  const status = call.transfer_status;
  if (call.transferred_to === null || status === null || status === "completed" || status === "answered") return;
  return transferFailedDirective(status);
}

/** Another instance took this call's stream: a bridge of it here (prepared, or whose stream moved) ends at once. */
export function releaseMovedBridge(ctx: AppContext, callId: string, by: string): void {
  if (by === ctx.instanceId) return;
  const bridge = ctx.bridges.get(callId);
  if (!bridge) return;
  ctx.log.info("the call's stream is on another instance: its bridge here ends", { call_id: callId, instance: by });
  bridge.abandon();
}

/**
 * What the bridge met before it reached a person, kept on the call: a call screener (`screened`) and each hold
 * (`hold_s`, with call.hold_started / call.hold_ended events), counted in /metrics as it happens.
 */
async function recordGatekeeper(ctx: AppContext, callId: string, event: GatekeeperEvent): Promise<void> {
  const at = ctx.now();
  await ctx.store.transaction(async () => {
    const call = await ctx.store.getCall(callId);
    if (!call) return;
    if (event.type === "screened") {
      await ctx.store.updateCall(callId, { screened: 1 }, at);
      return;
    }
    if (event.type === "hold_started") {
      await enqueueEvent(ctx, call, "call.hold_started", at, {});
      return;
    }
    // Tenths of a second, so the sum of many holds does not show a float's noise.
    const holdS = Math.round((call.hold_s + event.seconds) * 10) / 10;
    const row = await ctx.store.updateCall(callId, { hold_s: holdS }, at);
    await enqueueEvent(ctx, row, "call.hold_ended", at, { seconds: event.seconds, hold_s: holdS });
  });
  if (event.type === "screened") ctx.metrics.gatekeeper({ screened: true });
  if (event.type === "hold_ended") ctx.metrics.gatekeeper({ holdS: event.seconds });
}
