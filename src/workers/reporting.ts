// Makes each ended call's report and announces the end with it. It works from the database (calls
// that ended with their report still due), so a report interrupted by a restart is made after it.
import type { AppContext } from "../app.ts";
import { enqueueEvent } from "../calls/events.ts";
import { callOptions } from "../calls/options.ts";
import { type CallReport, fallbackReport, stamp, withCallFacts } from "../calls/report.ts";
import { attemptsView } from "../calls/view.ts";
import type { ChatUsage } from "../cost/pricing.ts";
import type { EndedCall } from "../metrics/registry.ts";
import { accountHeaders } from "../model/chat.ts";
import { draftReport, REPORT_MODEL_TRIES } from "../model/report.ts";
import type { CallRow } from "../store/store.ts";
import { type Worker, workerLoop } from "./loop.ts";
import { notifyOpenClaw } from "./notify.ts";
import { firstCost } from "./prices.ts";

const POLL_MS = 1_000;
const MAX_IN_FLIGHT = 4;
/** A report still being made at a stop is made again after the restart; a stop waits this long at most. */
const STOP_WAIT_MS = 1_000;
/** Beyond the model's own time (REPORT_MODEL_TRIES × report.timeout_ms): reading the call, storing the report. */
const REPORT_LEASE_SLACK_MS = 60_000;

/**
 * How long a claimed report is this worker's before another may take it: longer than making one can take,
 * so only a worker that died (or stopped) leaves a report to another, once the claim lapses.
 */
const reportLeaseMs = (ctx: AppContext) => REPORT_MODEL_TRIES * ctx.config.report.timeout_ms + REPORT_LEASE_SLACK_MS;

export function startReporting(ctx: AppContext): Worker {
  const inFlight = new Map<string, Promise<void>>();
  const pump = async () => {
    const now = ctx.now();
    const room = MAX_IN_FLIGHT - inFlight.size;
    if (room <= 0) return;
    for (const call of await ctx.store.claimReports(now, now + reportLeaseMs(ctx), room)) {
      if (inFlight.has(call.id)) continue;
      const run = report(ctx, call, () => loop.stopped)
        .catch((e) => ctx.log.error("making a call report failed", { call_id: call.id, error: e }))
        .finally(() => {
          inFlight.delete(call.id);
          // A freed slot takes the next due report now: after a burst of ended calls, waiting for the poll
          // would hold the reports (and their call.ended events) to MAX_IN_FLIGHT a second.
          loop.wake();
        });
      inFlight.set(call.id, run);
    }
  };
  const loop = workerLoop(
    POLL_MS,
    pump,
    () => Promise.race([Promise.allSettled(inFlight.values()), Bun.sleep(STOP_WAIT_MS)]),
    (e) => ctx.log.error("looking for calls awaiting their report failed", { error: e }),
  );
  return loop;
}

async function report(ctx: AppContext, call: CallRow, stopped: () => boolean): Promise<void> {
  const reportUsage: ChatUsage[] = [];
  const made = withCallFacts(await makeReport(ctx, call, reportUsage), call, await ctx.store.transcript(call.id));
  // The row as it is now: the bridge's last metrics (its token usage) are stored by the time the report is made.
  const { cost, price } = await firstCost(ctx, (await ctx.store.getCall(call.id)) ?? call, reportUsage);
  // After a stop the store may be closed; the report is still due, so the next start makes it.
  if (stopped()) return;
  const at = ctx.now();
  const reported = await ctx.store.transaction(async () => {
    // Made and stored by another worker meanwhile (its claim had lapsed): announced once, by that one.
    if (!(await ctx.store.getCall(call.id))?.report_due) return null;
    const stored = { report: JSON.stringify(made), report_due: 0, cost: JSON.stringify(cost), ...price };
    const ended = await ctx.store.updateCall(call.id, stored, at);
    await enqueueEvent(ctx, ended, "call.ended", at, {
      report: made,
      duration_s: ended.duration_s,
      end_reason: ended.end_reason,
      metadata: JSON.parse(ended.metadata),
      answered_by: ended.answered_by,
      screened: ended.screened === 1,
      hold_s: ended.hold_s,
      transferred_to: ended.transferred_to,
      attempts: attemptsView(ended, await ctx.store.attempts(ended.id)),
      cost,
    });
    await notifyOpenClaw(ctx, ended, made, at);
    return ended;
  });
  if (!reported) return;
  ctx.metrics.callEnded(endedCall(reported));
  // Counted once settled: now, or when the price worker has Twilio's price (or stops asking).
  if (price.price_due_at === null) ctx.metrics.callCost(cost);
  ctx.log.info("call report made", { call_id: call.id, outcome: made.outcome, source: made.source });
}

/**
 * Calls are counted for /metrics here, as their report is committed: ended_at is set in several places, but
 * every ended call passes this point exactly once, a call that ended before a restart included, and by
 * now a CallDuration that came after the end has been stored.
 */
function endedCall(call: CallRow): EndedCall {
  const { answered_at: answered, ended_at: end } = call;
  const talkedS = answered === null ? null : (call.duration_s ?? Math.max(0, ((end ?? answered) - answered) / 1000));
  return { direction: call.direction, endReason: call.end_reason ?? call.status, durationS: talkedS };
}

/** `usage` is told the report model's token usage, for the call's cost. */
async function makeReport(ctx: AppContext, call: CallRow, usage: ChatUsage[]): Promise<CallReport> {
  // The agent recorded the outcome itself during the call: that is the report.
  if (call.report) return JSON.parse(call.report) as CallReport;
  if (call.answered_at === null) return fallbackReport(call, null, ctx.now(), await ctx.store.attempts(call.id));
  // Voicemail needs no model to say what happened: the policy did it.
  if (call.end_reason === "voicemail") return fallbackReport(call, null, ctx.now());
  const { api_key, base_url } = ctx.config.openai;
  if (!api_key) return fallbackReport(call, "No report was made: OPENAI_API_KEY is not set.", ctx.now());
  try {
    const draft = await draftReport(
      {
        prompt: call.prompt,
        transcript: await ctx.store.transcript(call.id),
        status: call.status,
        endReason: call.end_reason,
        durationS: call.duration_s,
        schema: call.report_schema ? (JSON.parse(call.report_schema) as Record<string, unknown>) : null,
        language: callOptions(ctx.config, call.options).language,
      },
      {
        apiKey: api_key,
        baseUrl: base_url,
        model: ctx.config.report.model,
        timeoutMs: ctx.config.report.timeout_ms,
        headers: accountHeaders(ctx.config.openai),
        onUsage: (u) => usage.push(u),
      },
      ctx.facts.check,
    );
    return stamp(draft, "model", ctx.now());
  } catch (e) {
    ctx.log.warn("the report model failed twice; storing a report made without it", { call_id: call.id, error: e });
    return fallbackReport(call, `No report was made: the report model failed (${(e as Error).message}).`, ctx.now());
  }
}
