// The `server` command: run the HTTP API and webhooks until SIGINT/SIGTERM, optionally against simulators.
import { statSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { Server } from "bun";
import { type AppContext, createApp } from "../app.ts";
import { voicemailHere } from "../calls/amd.ts";
import { destinationRefusal, loadNumberingPlan } from "../calls/destinations.ts";
import { drain } from "../calls/drain.ts";
import { releaseMovedBridge } from "../calls/streams.ts";
import { handOver } from "../cluster/handover.ts";
import { listenForCallSignals, liveOthers } from "../cluster/signals.ts";
import type { Env } from "../config/env.ts";
import { ConfigError } from "../config/error.ts";
import { ownNumbers } from "../config/numbers.ts";
import type { Config } from "../config/schema.ts";
import { isLoopback } from "../http/auth.ts";
import type { MediaSocketData } from "../http/media.ts";
import { startServer } from "../http/server.ts";
import { createLogger, type Logger } from "../log.ts";
import { providerVoiceProblem } from "../model/protocol.ts";
import { startGcPacer } from "../runtime/gc-pacer.ts";
import type { Simulators } from "../sim/simulators.ts";
import { shareChanges } from "../store/shared-changes.ts";
import { loadTwilio } from "../twilio/sdk.ts";
import { VERSION } from "../version.ts";
import { type Background, startBackground } from "../workers/background.ts";
import { reconcile } from "../workers/reconcile.ts";

const TWILIO_WARMUP_DELAY_MS = 500;
/** After Twilio's, so the two never block the event loop in the same turn. */
const NUMBERING_PLAN_WARMUP_DELAY_MS = 750;
/** Once its calls are handed over, an instance is gone within this, whatever its background work is doing. */
const HANDED_OVER_EXIT_MS = 5_000;

/**
 * The voices in config.yaml are checked against the model's at start: a typo stops the server, not each call.
 * A number's voice is one of agent.provider's, which its calls use.
 */
export function requireModelVoices(config: Config): void {
  const numbers = Object.entries(config.twilio.numbers ?? {});
  const voices: [string, "openai" | "google", string | undefined][] = [
    ["openai.voice", "openai", config.openai.voice],
    ["gemini.voice", "google", config.gemini.voice],
    ...numbers.map(([number, line]): [string, "openai" | "google", string | undefined] => [
      `twilio.numbers.${number}.voice`,
      config.agent.provider,
      line.voice,
    ]),
  ];
  for (const [key, provider, voice] of voices) {
    const problem = voice === undefined ? null : providerVoiceProblem(provider, voice);
    if (problem) throw new ConfigError(`config: ${key}: ${problem}`);
  }
}

/** What a shutdown has to stop; everything else goes with the process. */
interface Running {
  ctx: AppContext;
  server: Server<MediaSocketData>;
  sims: Simulators | null;
  stopGcPacer: () => void;
  background: Background;
  /** Stops listening to the other instances sharing the database. */
  unlisten: () => Promise<void>;
}

/**
 * `env` decides where a simulation listens (HOST); the CLI passes the environment it loaded config from,
 * .env included; without it, the process environment.
 */
export async function runServer(config: Config, simulate: boolean, env: Env = process.env): Promise<void> {
  requireModelVoices(config);
  const log = createLogger();
  const sim = simulate ? await startSimulation(config, env) : null;
  const ctx = await openApp(sim?.config ?? config, log);
  // Alive before the first call is admitted, so no other instance takes this one's calls for orphans.
  await ctx.store.heartbeat(ctx.instanceId, ctx.now());
  // Before the first request: a change another instance makes from then on reaches this one's live views.
  const unlisten = await listenToOthers(ctx);
  const server = startServer(ctx);
  const stopGcPacer = startGcPacer(() => ctx.bridges.size);
  log.info("agenticai listening", {
    // Not server.url: the first URL object a process makes costs ~0.5 ms, which the first /health would wait for.
    url: listeningUrl(server),
    version: VERSION,
    instance_id: ctx.instanceId,
    database: ctx.store.kind,
    data_dir: ctx.config.server.data_dir,
  });
  if (sim) announceSimulation(ctx, sim.sims, server.port);
  warmUpTwilio(ctx);
  warmUpDestinations(ctx);
  warnAboutSetup(ctx);
  reconcile(ctx).catch((e) => log.error("reconciling calls after restart failed", { error: e }));
  const background = startBackground(ctx);
  stopOnSignals({ ctx, server, sims: sim?.sims ?? null, stopGcPacer, background, unlisten });
}

function listeningUrl(server: Server<MediaSocketData>): string {
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  return `${server.protocol}://${host}:${server.port}/`;
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

/**
 * Hand the calls over on a stop only where they can go on: PostgreSQL, another instance up to take them, and calls
 * allowed to resume at all. Otherwise they drain here as before.
 */
async function handsOver(ctx: AppContext): Promise<boolean> {
  if (ctx.store.kind !== "postgres" || ctx.config.calls.max_resumes === 0) return false;
  return (await liveOthers(ctx).catch(() => [])).length > 0;
}

/** A data dir path that is, or runs through, something other than a directory. */
const NOT_A_DIR = new Set(["ENOTDIR", "EEXIST"]);
/** Errors of a data dir that cannot be made or written: from mkdir/open, then SQLite's own (extended codes too). */
const UNWRITABLE = /^(EACCES|EPERM|EROFS|ENOTDIR|EEXIST|SQLITE_(CANTOPEN|READONLY|PERM)\w*)$/;

/**
 * The app opens its database in the data dir first. One this user cannot write (most often a root-owned
 * bind mount in a container) would end the start in a stack trace; it is a setting to fix, so it is
 * reported as one.
 */
async function openApp(config: Config, log: Logger): Promise<AppContext> {
  try {
    return await createApp(config, log);
  } catch (e) {
    if (isDataDirError(e, config.server.data_dir)) throw unwritableDataDir(config.server.data_dir, e);
    throw e;
  }
}

/** An fs error about the data dir or a file in it, or a SQLite one (it names no path: the database is there). */
function isDataDirError(e: unknown, dataDir: string): e is Error & { code: string } {
  const { code, path } = (e ?? {}) as { code?: unknown; path?: unknown };
  if (typeof code !== "string" || !UNWRITABLE.test(code)) return false;
  return typeof path !== "string" || !relative(resolve(dataDir), resolve(path)).startsWith("..");
}

function unwritableDataDir(dataDir: string, cause: Error & { code: string }): ConfigError {
  const dir = resolve(dataDir);
  const [uid, gid] = [process.getuid?.(), process.getgid?.()];
  const reason = cause.code.startsWith("SQLITE_") ? `${cause.code}: ${cause.message}` : cause.message;
  const fix = NOT_A_DIR.has(cause.code)
    ? "set AGENTICAI_DATA_DIR (or server.data_dir) to a directory"
    : `chown -R ${uid}:${gid} it (for a bind mount, the host directory), use a named volume, ` +
      "or set AGENTICAI_DATA_DIR to a directory this user can write";
  return new ConfigError(`cannot write the data dir ${dir} as uid ${uid} (${reason.split("\n")[0]}): ${fix}`);
}

async function startSimulation(config: Config, env: Env): Promise<{ sims: Simulators; config: Config }> {
  // Loaded only when asked for, so a production start never pays for the simulators.
  const simulators = await import("../sim/simulators.ts");
  const sims = await simulators.startSimulators({ phoneNumbers: ownNumbers(config), followPersonas: true });
  const simulated = simulators.simulatedConfig(config, sims);
  return { sims, config: { ...simulated, server: { ...simulated.server, host: simulationHost(env) } } };
}

/**
 * A simulation is a laptop tool: it listens on loopback unless HOST asks otherwise for this run. A
 * config file's server.host is not honoured here, since it describes the real deployment (0.0.0.0 in a
 * container), and a copy of it should not put a simulation on the network unasked.
 */
export function simulationHost(env: Env): string {
  return env.HOST || "127.0.0.1";
}

function announceSimulation(ctx: AppContext, sims: Simulators, port: number | undefined): void {
  const local = `http://127.0.0.1:${port}`;
  // Webhooks for any public URL (even the README's ngrok example) come back here, signed as given.
  sims.carrier.deliverTo = local;
  ctx.config.server.public_url ??= local;
  ctx.log.info(
    "simulation mode: Twilio and OpenAI are simulated on loopback; numbers +15550100001 to +15550100012 pick a callee persona",
    {
      carrier: sims.carrier.url,
      model: sims.model.httpBaseUrl,
    },
  );
}

function warmUpTwilio(ctx: AppContext): void {
  // The SDK blocks the event loop for tens of milliseconds while it evaluates, even from bytecode. Loading it a little
  // after start-up keeps that off the first /health (an orchestrator's readiness probe), and a call
  // placed before then loads it itself.
  if (ctx.twilio) setTimeout(() => void loadTwilio(), TWILIO_WARMUP_DELAY_MS).unref();
  else
    ctx.log.warn(
      `Twilio is not configured: set ${ctx.missingTwilio.join(", ")}; POST /api/call answers 503 until then`,
    );
}

/**
 * The toll-fraud guard's numbering plan is loaded on first use, like the Twilio SDK; loading it a little after
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

function warnAboutSetup({ config, log }: { config: Config; log: Logger }): void {
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

/** The first signal drains; a second one hurries the drain (the calls are still hung up and recorded). */
function stopOnSignals(running: Running): void {
  const hurry = new AbortController();
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      running.ctx.log.info("second signal: hanging up the calls still active now", { signal });
      hurry.abort();
      return;
    }
    stopping = true;
    shutdown(running, signal, hurry.signal).catch((error: unknown) => {
      running.ctx.log.error("shutting down failed", { error });
      process.exit(1);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
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
