// A call whose media stream drops while it is up (its instance crashed or handed it over, the network cut it)
// goes on, on a new stream, on whichever instance that lands. Every stream's TwiML names a `<Connect action>`,
// signed by Twilio and bound to the call by a token; when the stream ends Twilio asks it what next. A call that
// did not end on purpose gets a new `<Connect><Stream>`, at most calls.max_resumes times; its new bridge restores
// what the old one left in the store (resumedLine), and the resume is kept in the call's history and sent as
// `call.resumed` with the gap in milliseconds once the new stream has taken the call.
import type { AppContext } from "../app.ts";
import type { Resumed } from "../bridge/deps.ts";
import { readLineState } from "../bridge/line-state.ts";
import { storedMetrics } from "../bridge/metrics.ts";
import type { CallRow } from "../store/store.ts";
import { isTerminal } from "../twilio/status.ts";
import { streamEndedToken, verifyStreamEndedToken } from "../twilio/stream-token.ts";
import { TWILIO_PATHS, twilioUrl } from "../twilio/urls.ts";
import type { StreamEndedWebhook } from "../twilio/webhook.ts";
import { enqueueEvent } from "./events.ts";
import { requestEnd } from "./hangup.ts";
import { addHistory } from "./history.ts";

/** The `<Connect action>` of a call's stream TwiML: its id, and the token only our TwiML for it carries. */
export function streamEndedUrl(ctx: AppContext, call: CallRow): string {
  const token = streamEndedToken(ctx.streamSecret, call.id);
  return `${twilioUrl(call.webhook_url, TWILIO_PATHS.streamEnded)}?call_id=${call.id}&token=${token}`;
}

/**
 * Everything a bridge restores when it takes over a call whose stream dropped, gathered from the call's row, in
 * one place so that any state added to a bridge is added here: when it dropped, the call's answer (for
 * max_duration_s), the metrics so far and the line state (silence, whether the agent was speaking). The transcript
 * the bridge reads itself, as its session is set up. Undefined for a call that is not waiting for a new stream.
 */
export function resumedLine(call: CallRow): Resumed | undefined {
  if (call.stream_lost_at === null) return undefined;
  return {
    droppedAt: call.stream_lost_at,
    answeredAt: call.answered_at,
    metrics: storedMetrics(call.metrics),
    line: readLineState(call.line_state),
  };
}

/** Hung up, being hung up, handed to a person, its voicemail left: a stream ending then is no drop. */
const endedOnPurpose = (call: CallRow) =>
  call.ended_at !== null || call.end_requested_at !== null || call.end_reason !== null || isTerminal(call.status);

type Verdict = { resume: true; call: CallRow } | { resume: false; why: string };

/**
 * Decides, in one transaction on the locked row, whether the call goes on: counts the resume and notes when the
 * stream was lost, or, past calls.max_resumes, records that the call is being ended (no_media).
 */
function judge(ctx: AppContext, id: string, at: number): Promise<Verdict> {
  return ctx.store.transaction(async (): Promise<Verdict> => {
    const call = (await ctx.store.getCall(id))!;
    if (endedOnPurpose(call)) return { resume: false, why: "the call ended" };
    if (call.resumes >= ctx.config.calls.max_resumes) {
      await requestEnd(ctx, id, "no_media");
      return { resume: false, why: `resumed ${call.resumes} times already (calls.max_resumes)` };
    }
    const resumed = await ctx.store.updateCall(id, { resumes: call.resumes + 1, stream_lost_at: at }, at);
    return { resume: true, call: resumed };
  });
}

/**
 * Twilio's `<Connect action>`: the call's stream ended. A bridge of the call still open here has lost its stream
 * (its socket has not said so yet): it is ended, and its writes committed, before a new one reads them.
 */
export async function callAfterStream(
  ctx: AppContext,
  p: StreamEndedWebhook,
  callId: string | null,
  token: string | null,
): Promise<CallRow | null> {
  const bound = callId !== null && token !== null && verifyStreamEndedToken(ctx.streamSecret, callId, token);
  const call = bound ? await ctx.store.getCall(callId) : null;
  if (!call || (call.call_sid !== null && call.call_sid !== p.CallSid)) {
    ctx.log.warn("stream action for an unknown call, or with a token not its own", { call_sid: p.CallSid });
    return null;
  }
  const stale = ctx.bridges.get(call.id);
  // One only prepared never had the stream: what it holds was never heard, and it writes nothing.
  if (stale && !stale.attached) stale.abandon();
  if (stale?.attached) {
    stale.close("stream_lost");
    await ctx.store.flush();
  }
  const verdict = await judge(ctx, call.id, ctx.now());
  const log = ctx.log.child({ call_id: call.id });
  if (!verdict.resume) {
    log.info("media stream ended; the call is not resumed", { why: verdict.why });
    return null;
  }
  log.info("media stream dropped; the call goes on on a new one", {
    resume: verdict.call.resumes,
    max_resumes: ctx.config.calls.max_resumes,
  });
  return verdict.call;
}

/**
 * A new stream has taken a call that was waiting for one: this instance holds it now, the wait is over, and the
 * resume is kept in the history and sent as `call.resumed` with the gap (the stream lost → taken), in one commit.
 */
export function takeResumedCall(ctx: AppContext, call: CallRow): Promise<CallRow> {
  const at = ctx.now();
  const gapMs = Math.max(0, at - (call.stream_lost_at ?? at));
  return ctx.store.transaction(async () => {
    const row = await ctx.store.updateCall(call.id, { owner: ctx.instanceId, stream_lost_at: null }, at);
    const detail = { resume: row.resumes, gap_ms: gapMs, instance_id: ctx.instanceId };
    await addHistory(ctx, {
      callId: row.id,
      callSid: row.call_sid,
      status: row.status,
      source: "resume",
      verdict: "apply",
      at,
      params: detail,
    });
    await enqueueEvent(ctx, row, "call.resumed", at, { resume: row.resumes, gap_ms: gapMs });
    ctx.log.info("call resumed on a new stream", { call_id: row.id, ...detail });
    return row;
  });
}
