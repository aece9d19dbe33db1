// The `server` command: run the HTTP API and webhooks until SIGINT/SIGTERM, optionally against simulators.
//
// A start listens as soon as the app's core is open (the config, the store, the metrics: core.ts) and answers
// /health from it; the call service, the route handlers and the background work load right after (after-listen.ts).
// A request that needs them before then waits for them.
import type { Server } from "bun";
import type { Env } from "../config/env.ts";
import { ConfigError } from "../config/error.ts";
import { ownNumbers } from "../config/numbers.ts";
import type { Config } from "../config/schema.ts";
import { type AppCore, openCore } from "../core.ts";
import type { MediaSocketData } from "../http/media-socket.ts";
import { listen } from "../http/server.ts";
import { createLogger, type Logger } from "../log.ts";
import { providerVoiceProblem } from "../model/voices.ts";
import { startupOver } from "../runtime/jit-policy.ts";
import { nodePath } from "../runtime/node-modules.ts";
import { once } from "../runtime/once.ts";
import type { Simulators } from "../sim/simulators.ts";
import { VERSION } from "../version.ts";
import type { Opened, Stop } from "./after-listen.ts";

/**
 * How long after listening the rest of the start begins: a readiness probe that was waiting for the port is answered
 * first, and the first request that needs the rest sooner starts it itself.
 */
const REST_AFTER_MS = 20;

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

/**
 * `env` decides where a simulation listens (HOST); the CLI passes the environment it loaded config from,
 * .env included; without it, the process environment.
 */
export async function runServer(config: Config, simulate: boolean, env: Env = process.env): Promise<void> {
  requireModelVoices(config);
  const log = createLogger();
  const sim = simulate ? await startSimulation(config, env) : null;
  const core = await openAppCore(sim?.config ?? config, log);
  const opened = once(() => import("./after-listen.ts").then((rest) => rest.openApp(core)));
  const { server, load } = listen(core, () => opened().then((o) => o.ctx));
  log.info("agenticai listening", {
    // Not server.url: the first URL object a process makes costs ~0.5 ms, which the first /health would wait for.
    url: listeningUrl(server),
    version: VERSION,
    instance_id: core.instanceId,
    database: core.store.kind,
    data_dir: core.config.server.data_dir,
  });
  if (sim) announceSimulation(core, sim.sims, server.port);
  const started = once(() => completeStart(opened(), load, server, sim?.sims ?? null));
  setTimeout(() => void started().catch((error: unknown) => failedToStart(log, error)), REST_AFTER_MS);
  stopOnSignals(core, started);
}

/** Once the app is open and the route handlers made: the background work, and what a stop signal does. */
async function completeStart(
  opening: Promise<Opened>,
  load: () => Promise<unknown>,
  server: Server<MediaSocketData>,
  sims: Simulators | null,
): Promise<Stop> {
  const [rest, opened] = await Promise.all([import("./after-listen.ts"), opening]);
  await load();
  const stop = rest.startRest(opened, server, sims);
  startupOver();
  return stop;
}

/** Without its app context or handlers the server cannot take a call: it stops, as a start that failed earlier. */
function failedToStart(log: Logger, error: unknown): never {
  log.error("starting the server failed", { error });
  process.exit(1);
}

function listeningUrl(server: Server<MediaSocketData>): string {
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  return `${server.protocol}://${host}:${server.port}/`;
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
async function openAppCore(config: Config, log: Logger): Promise<AppCore> {
  try {
    return await openCore(config, log);
  } catch (e) {
    if (isDataDirError(e, config.server.data_dir)) throw unwritableDataDir(config.server.data_dir, e);
    throw e;
  }
}

/** An fs error about the data dir or a file in it, or a SQLite one (it names no path: the database is there). */
function isDataDirError(e: unknown, dataDir: string): e is Error & { code: string } {
  const { code, path } = (e ?? {}) as { code?: unknown; path?: unknown };
  if (typeof code !== "string" || !UNWRITABLE.test(code)) return false;
  const { relative, resolve } = nodePath();
  return typeof path !== "string" || !relative(resolve(dataDir), resolve(path)).startsWith("..");
}

function unwritableDataDir(dataDir: string, cause: Error & { code: string }): ConfigError {
  const dir = nodePath().resolve(dataDir);
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

function announceSimulation(ctx: AppCore, sims: Simulators, port: number | undefined): void {
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

/** The first signal drains; a second one hurries the drain (the calls are still hung up and recorded). */
function stopOnSignals(core: AppCore, started: () => Promise<Stop>): void {
  const hurry = new AbortController();
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      core.log.info("second signal: hanging up the calls still active now", { signal });
      hurry.abort();
      return;
    }
    stopping = true;
    // At once, even before the rest of the start has loaded: /health says so, and no new call starts here.
    core.state.draining = true;
    started()
      .then((stop) => stop(signal, hurry.signal))
      .catch((error: unknown) => {
        core.log.error("shutting down failed", { error });
        process.exit(1);
      });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
