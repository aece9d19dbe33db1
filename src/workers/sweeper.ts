// Calls that stopped hearing from Twilio: a wrong public URL, a lost callback, a media stream that
// never came. Left alone they stay active forever and count against calls.max_concurrent. Each is
// checked with Twilio and settled: with its real status, hung up if it has no media here, or failed
// with `no_callbacks` and an error that names the URL Twilio could not reach.
import type { AppContext } from "../app.ts";
import { endCall } from "../calls/hangup.ts";
import { addHistory } from "../calls/history.ts";
import { applyReport, remoteReport } from "../calls/reports.ts";
import type { CallRow } from "../store/store.ts";
import { isPreAnswer, isTerminal } from "../twilio/status.ts";
import { mediaStreamUrl, TWILIO_PATHS, twilioUrl } from "../twilio/urls.ts";
import { reconcile } from "./reconcile.ts";

const SWEEP_MS = 15_000;
/** Quiet time allowed beyond the ring timeout, and after an answered call's media bridge closed. */
const GRACE_MS = 60_000;

export interface Sweeper {
  stop(): Promise<void>;
}

export function startSweeper(ctx: AppContext): Sweeper {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= sweep(ctx)
      .catch((e) => ctx.log.error("sweeping stale calls failed", { error: e }))
      .finally(() => {
        running = null;
      });
  }, SWEEP_MS);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Settles every active call that has been quiet too long; exported for tests that cannot wait a minute. */
export async function sweep(ctx: AppContext): Promise<void> {
  // First the calls of instances that died: this one holds them from here on.
  await reconcile(ctx);
  const now = ctx.now();
  for (const call of await ctx.store.listActive()) {
    // Another instance's calls are its own sweeper's: only it knows whether their bridge is up.
    if (call.owner === ctx.instanceId && isStale(ctx, call, now)) await settle(ctx, call);
  }
}

function isStale(ctx: AppContext, call: CallRow, now: number): boolean {
  // Waiting for its next attempt: nothing is up at Twilio, and the retry worker dials it when due.
  if (call.next_attempt_at !== null) return false;
  const quietMs = now - call.updated_at;
  if (isPreAnswer(call.status)) return quietMs > ctx.config.calls.ring_timeout_s * 1000 + GRACE_MS;
  // Answered but with no bridge here: its stream never started, or ended without Twilio's final callback.
  return !ctx.bridges.has(call.id) && quietMs > GRACE_MS;
}

async function settle(ctx: AppContext, call: CallRow): Promise<void> {
  const remote = call.call_sid && ctx.twilio ? await ctx.twilio.fetchCall(call.call_sid).catch(() => null) : null;
  const report = remote && remoteReport(remote);
  const log = ctx.log.child({ call_id: call.id });
  if (report && isTerminal(report.status)) {
    log.warn("settled a call whose final callback never arrived", { status: report.status });
    await applyReport(ctx, call.id, { ...report, error: noCallbacks(ctx, call) }, "sweeper", ctx.now());
    return;
  }
  // Still ringing at Twilio: its own timeout ends it, and the next sweep sees that.
  if (report && isPreAnswer(report.status)) return;
  // Handed to a person: the bridge is gone on purpose, and Twilio reports the end when they hang up.
  if (report?.status === "in-progress" && call.transferred_to !== null) return;
  if (report?.status === "in-progress") {
    log.warn("hanging up an answered call with no media stream here", { stream_url: mediaStreamUrl(call.webhook_url) });
    await endCall(ctx, call.id, "no_media");
    return;
  }
  await fail(ctx, call, noCallbacks(ctx, call));
}

function noCallbacks(ctx: AppContext, call: CallRow): string {
  const quiet = Math.round((ctx.now() - call.updated_at) / 1000);
  const status = twilioUrl(call.webhook_url, TWILIO_PATHS.status);
  return `No callbacks from Twilio for ${quiet} s: check that ${status} reaches this server (webhook_url, server.public_url)`;
}

/** Twilio cannot say what became of the call: it is recorded as failed, with the likely cause. */
async function fail(ctx: AppContext, call: CallRow, error: string): Promise<void> {
  const at = ctx.now();
  await ctx.store.transaction(async () => {
    const duration = call.answered_at === null ? null : Math.round((at - call.answered_at) / 1000);
    await ctx.store.updateCall(
      call.id,
      { status: "failed", ended_at: at, end_reason: call.end_reason ?? "no_callbacks", error, duration_s: duration },
      at,
    );
    await addHistory(ctx, {
      callId: call.id,
      callSid: call.call_sid,
      status: "failed",
      source: "sweeper",
      verdict: "apply",
      at,
    });
  });
  ctx.bridges.get(call.id)?.close("no_callbacks");
  ctx.signals.callEnded();
  ctx.log.warn("call failed: no callbacks from Twilio", { call_id: call.id, error });
}
