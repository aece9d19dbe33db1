// What a server does once it listens (serve.ts): it completes the app context, listens to the other instances, starts
// the background work, and on a stop signal hands its calls over or drains them. Loaded after the first /health, so
// none of it, nor the call service it reaches, is on a cold start's way to listening.
import { statSync } from "node:fs";
import type { Server } from "bun";
import { type AppContext, completeApp } from "../app.ts";
import { voicemailHere } from "../calls/amd.ts";
import { destinationRefusal, loadNumberingPlan } from "../calls/destinations.ts";
import { drain } from "../calls/drain.ts";
import { releaseMovedBridge } from "../calls/streams.ts";
import { handOver } from "../cluster/handover.ts";
import { listenForCallSignals, liveOthers } from "../cluster/signals.ts";
import type { AppCore } from "../core.ts";
import { isLoopback } from "../http/auth.ts";
import type { MediaSocketData } from "../http/media-socket.ts";
import type { Logger } from "../log.ts";
import { startGcPacer } from "../runtime/gc-pacer.ts";
import type { Simulators } from "../sim/simulators.ts";
import { shareChanges } from "../store/shared-changes.ts";
import { type Background, startBackground } from "../workers/background.ts";
import { reconcile } from "../workers/reconcile.ts";

/** Off the first /health, which an orchestrator's readiness probe waits on. */
const NUMBERING_PLAN_WARMUP_DELAY_MS = 750;
/** Once its calls are handed over, an instance is gone within this, whatever its background work is doing. */
const HANDED_OVER_EXIT_MS = 5_000;

/** The app context, complete, and how to stop listening to the other instances: what the route handlers wait for. */
export interface Opened {
  ctx: AppContext;
  unlisten: () => Promise<void>;
}

/** Stops a started server: drains or hands over its calls, then exits. */
export type Stop = (signal: string, hurry: AbortSignal) => Promise<void>;

/** What a shutdown has to stop; everything else goes with the process. */
interface Running extends Opened {
  server: Server<MediaSocketData>;
  sims: Simulators | null;
  stopGcPacer: () => void;
  background: Background;
}

export async function openApp(core: AppCore): Promise<Opened> {
  // Alive before the first call is admitted (the handlers wait for this), so no other instance takes this one's calls
  // for orphans.
  await core.store.heartbeat(core.instanceId, core.now());
  const ctx = await completeApp(core);
  // Before the first call: a change another instance makes from then on reaches this one's live views.
  return { ctx, unlisten: await listenToOthers(ctx) };
}

/** The rest of a start, once the app is open; returns what stops it. */
export function startRest({ ctx, unlisten }: Opened, server: Server<MediaSocketData>, sims: Simulators | null): Stop {
  const stopGcPacer = startGcPacer(() => ctx.bridges.size);
  warnWithoutTwilio(ctx);
  warnAboutSetup(ctx);
  warmUpDestinations(ctx);
  reconcile(ctx).catch((e) => ctx.log.error("reconciling calls after restart failed", { error: e }));
  const background = startBackground(ctx);
  const running: Running = { ctx, unlisten, server, sims, stopGcPacer, background };
  return (signal, hurry) => shutdown(running, signal, hurry);
}

/**
 * The signals of the other instances sharing the database: their changes for the live views (PostgreSQL only:
 * alone, there are none), and what they ask of this instance's calls.
 */
async function listenToOthers(ctx: AppContext): Promise<() => Promise<void>> {
  const onError = (error: unknown) => ctx.log.warn("telling the other instances of a change failed", { error });
  try {
    const unshare =
      ctx.store.kind === "postgres" ? await shareChanges(ctx.store, ctx.changes, ctx.instanceId, onError) : null;
    const unsignal = await listenForCallSignals(ctx, {
      stream_taken: (s) => releaseMovedBridge(ctx, s.call_id, s.by),
      voicemail: (s) => (s.to === ctx.instanceId ? voicemailHere(ctx, s.call_id) : undefined),
    });
    return async () => {
      await unshare?.();
      await unsignal();
    };
  } catch (error) {
    // A pooler in transaction mode (PgBouncer's) refuses LISTEN: calls still work, each instance on its own.
    ctx.log.error("cannot listen to the other instances (LISTEN refused): live views and signals stay local", {
      error,
    });
    return async () => {};
  }
}

function warnAboutSetup({ config, log }: AppContext): void {
  if (!config.twilio.validate_signatures)
    log.warn("Twilio signature validation is OFF: anyone can post webhooks; use this for local development only");
  if (!config.server.api_token) log.info("AGENTICAI_API_TOKEN is not set: /api/* answers loopback clients only");
  // A same-host proxy that drops the forwarding headers makes every client look local: say it loudly.
  if (!config.server.api_token && !listensOnLoopbackOnly(config.server.host))
    log.warn(
      "the API answers only loopback clients, but the server is reachable from the network: set AGENTICAI_API_TOKEN",
      { host: config.server.host },
    );
  warnAboutDataDir(config.server.data_dir, log);
  if (!config.server.public_url)
    log.info("no public URL set: calls need webhook_url in the request (or AGENTICAI_WEBHOOK_URL / NGROK_URL)");
}

function listensOnLoopbackOnly(host: string): boolean {
  return host === "localhost" || isLoopback(host.replace(/^\[(.*)\]$/, "$1"));
}

/**
 * The database holds stream secrets, prompts and transcripts. A data dir this server creates is 700;
 * one that already existed is the operator's to change, so it is only pointed out.
 */
function warnAboutDataDir(dataDir: string, log: Logger): void {
  const mode = statSync(dataDir).mode & 0o777;
  if (mode & 0o077)
    log.warn("the data dir is open to other users: it holds prompts, transcripts and secrets; chmod 700 it", {
      data_dir: dataDir,
      mode: mode.toString(8),
    });
}

/**
 * Hand the calls over on a stop only where they can go on: PostgreSQL, another instance up to take them, and calls
 * allowed to resume at all. Otherwise they drain here as before.
 */
async function handsOver(ctx: AppContext): Promise<boolean> {
  if (ctx.store.kind !== "postgres" || ctx.config.calls.max_resumes === 0) return false;
  return (await liveOthers(ctx).catch(() => [])).length > 0;
}

function warnWithoutTwilio(ctx: AppContext): void {
  if (!ctx.twilio)
    ctx.log.warn(
      `Twilio is not configured: set ${ctx.missingTwilio.join(", ")}; POST /api/call answers 503 until then`,
    );
}

/**
 * The toll-fraud guard's numbering plan is loaded on first use; loading it a little after
 * start-up keeps it off the first /health, and checks the configured transfer target, which every outbound call
 * names unless its request gives another.
 */
function warmUpDestinations({ config, log }: AppContext): void {
  const check = async () => {
    await loadNumberingPlan();
    const target = config.calls.transfer_to;
    const refused = target && (await destinationRefusal(config, target, "calls.transfer_to"));
    if (refused) log.error("outbound calls will be refused until calls.transfer_to is allowed", { reason: refused });
  };
  setTimeout(() => {
    check().catch((e) => log.error("loading the numbering plan failed", { error: e }));
  }, NUMBERING_PLAN_WARMUP_DELAY_MS).unref();
}

async function shutdown(running: Running, signal: string, hurry: AbortSignal): Promise<void> {
  const { ctx, server, sims, stopGcPacer, background, unlisten } = running;
  // At once, whichever way the calls go: /health says so, and no new call starts here.
  ctx.state.draining = true;
  const handover = await handsOver(ctx);
  ctx.log.info("shutting down", {
    signal,
    active_bridges: ctx.bridges.size,
    active_calls: await ctx.store.countActive(),
    calls: handover ? "handed over" : "drained",
  });
  if (handover) {
    await handOver(ctx, hurry);
    setTimeout(() => {
      ctx.log.warn("stopping took too long after the handover; exiting now");
      process.exit(0);
    }, HANDED_OVER_EXIT_MS).unref();
  } else await drain(ctx, hurry);
  await unlisten().catch((error: unknown) => ctx.log.warn("leaving the other instances' signals failed", { error }));
  // Media sockets would keep the server's stop waiting; a bridge cannot outlive the process anyway.
  for (const bridge of ctx.bridges.values()) bridge.close("server_shutdown");
  stopGcPacer();
  await server.stop(true);
  await background.stop();
  await sims?.stop();
  ctx.facts.close();
  await ctx.store.close();
  process.exit(0);
}
