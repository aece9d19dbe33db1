// The `server` command: run the HTTP API and webhooks until SIGINT/SIGTERM, optionally against simulators.
import type { Server } from "bun";
import { type AppContext, createApp } from "../app.ts";
import { type Background, startBackground } from "../calls/background.ts";
import { reconcile } from "../calls/reconcile.ts";
import type { Config } from "../config/schema.ts";
import type { MediaSocketData } from "../http/media.ts";
import { startServer } from "../http/server.ts";
import { createLogger, type Logger } from "../log.ts";
import { startGcPacer } from "../runtime/gc-pacer.ts";
import type { Simulators } from "../sim/simulators.ts";
import { loadTwilio } from "../twilio/sdk.ts";
import { VERSION } from "../version.ts";

const TWILIO_WARMUP_DELAY_MS = 500;

/** What a shutdown has to stop; everything else goes with the process. */
interface Running {
  ctx: AppContext;
  server: Server<MediaSocketData>;
  sims: Simulators | null;
  stopGcPacer: () => void;
  background: Background;
}

export async function runServer(config: Config, simulate: boolean): Promise<void> {
  const log = createLogger();
  const sim = simulate ? await startSimulation(config) : null;
  const ctx = createApp(sim?.config ?? config, log);
  const server = startServer(ctx);
  const stopGcPacer = startGcPacer(() => ctx.bridges.size);
  log.info("agenticai listening", { url: server.url.href, version: VERSION, data_dir: ctx.config.server.data_dir });
  if (sim) announceSimulation(ctx, sim.sims, server.port);
  warmUpTwilio(ctx);
  warnAboutSetup(ctx);
  reconcile(ctx).catch((e) => log.error("reconciling calls after restart failed", { error: e }));
  const background = startBackground(ctx);
  stopOnSignals({ ctx, server, sims: sim?.sims ?? null, stopGcPacer, background });
}

async function startSimulation(config: Config): Promise<{ sims: Simulators; config: Config }> {
  // Loaded only when asked for, so a production start never pays for the simulators.
  const simulators = await import("../sim/simulators.ts");
  const sims = await simulators.startSimulators();
  return { sims, config: simulators.simulatedConfig(config, sims) };
}

function announceSimulation(ctx: AppContext, sims: Simulators, port: number | undefined): void {
  const local = `http://127.0.0.1:${port}`;
  // Webhooks for any public URL (even the README's ngrok example) come back here, signed as given.
  sims.carrier.deliverTo = local;
  ctx.config.server.public_url ??= local;
  ctx.log.info(
    "simulation mode: Twilio and OpenAI are simulated on loopback; numbers +1555010000[1-7] pick a callee persona",
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

function warnAboutSetup({ config, log }: { config: Config; log: Logger }): void {
  if (!config.twilio.validate_signatures)
    log.warn("Twilio signature validation is OFF: anyone can post webhooks; use this for local development only");
  if (!config.server.api_token) log.info("AGENTICAI_API_TOKEN is not set: /api/* answers loopback clients only");
  if (!config.server.public_url)
    log.info("no public URL set: calls need webhook_url in the request (or AGENTICAI_WEBHOOK_URL / NGROK_URL)");
}

function stopOnSignals(running: Running): void {
  process.once("SIGINT", () => void shutdown(running, "SIGINT"));
  process.once("SIGTERM", () => void shutdown(running, "SIGTERM"));
}

async function shutdown({ ctx, server, sims, stopGcPacer, background }: Running, signal: string): Promise<void> {
  ctx.log.info("shutting down", { signal, active_bridges: ctx.bridges.size });
  // Media sockets would keep a graceful stop waiting; a bridge cannot outlive the process anyway.
  for (const bridge of ctx.bridges.values()) bridge.close("server_shutdown");
  stopGcPacer();
  await server.stop(true);
  await background.stop();
  await sims?.stop();
  ctx.store.close();
  process.exit(0);
}
