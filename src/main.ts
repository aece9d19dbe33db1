#!/usr/bin/env bun
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createApp } from "./app.ts";
import { reconcile } from "./calls/service.ts";
import * as client from "./cli/client.ts";
import { USAGE } from "./cli/usage.ts";
import { type Env, mergeDotenv, parseDotenv } from "./config/env.ts";
import { ConfigError, loadConfig } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import { startServer } from "./http/server.ts";
import { createLogger, writeLine } from "./log.ts";
import { startGcPacer } from "./runtime/gc-pacer.ts";
import { loadTwilio } from "./twilio/sdk.ts";
import { VERSION } from "./version.ts";

const EXIT_USAGE = 2;
const TWILIO_WARMUP_DELAY_MS = 500;
const fail = (message: string, code = 1): never => {
  process.stderr.write(`agenticai: ${message}\n`);
  process.exit(code);
};

function readEnv(): Env {
  const env: Env = { ...process.env };
  return existsSync(".env") ? mergeDotenv(env, parseDotenv(readFileSync(".env", "utf8"))) : env;
}

function readConfig(configPath: string | undefined, env: Env): Config {
  try {
    return loadConfig({ path: configPath, env });
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, EXIT_USAGE);
    throw e;
  }
}

async function runServer(configPath: string | undefined, env: Env, simulate: boolean): Promise<void> {
  let config = readConfig(configPath, env);
  const log = createLogger();
  // The simulators are loaded only when asked for, so a production start never pays for them.
  const sims = simulate ? await (await import("./sim/simulators.ts")).startSimulators() : null;
  if (sims) config = (await import("./sim/simulators.ts")).simulatedConfig(config, sims);
  const ctx = createApp(config, log);
  const server = startServer(ctx);
  const stopGcPacer = startGcPacer(() => ctx.bridges.size);
  log.info("agenticai listening", { url: server.url.href, version: VERSION, data_dir: config.server.data_dir });
  if (sims) {
    const local = `http://127.0.0.1:${server.port}`;
    // Webhooks for any public URL (even the seed's ngrok example) come back here, signed as given.
    sims.carrier.deliverTo = local;
    ctx.config.server.public_url ??= local;
    log.info(
      "simulation mode: Twilio and OpenAI are simulated on loopback; numbers +1555010000[1-7] pick a callee persona",
      {
        carrier: sims.carrier.url,
        model: sims.model.httpBaseUrl,
      },
    );
  }
  // The SDK blocks the event loop for ~50 ms while it evaluates, even from bytecode. Loading it a little
  // after start-up keeps that off the first /health (an orchestrator's readiness probe), and a call
  // placed before then loads it itself.
  if (ctx.twilio) setTimeout(() => void loadTwilio(), TWILIO_WARMUP_DELAY_MS).unref();
  else log.warn(`Twilio is not configured: set ${ctx.missingTwilio.join(", ")}; POST /api/call answers 503 until then`);
  if (!config.twilio.validate_signatures)
    log.warn("Twilio signature validation is OFF: anyone can post webhooks; use this for local development only");
  if (!config.server.api_token) log.info("AGENTICAI_API_TOKEN is not set: /api/* answers loopback clients only");
  if (!config.server.public_url)
    log.info("no public URL set: calls need webhook_url in the request (or AGENTICAI_WEBHOOK_URL / NGROK_URL)");
  reconcile(ctx).catch((e) => log.error("reconciling calls after restart failed", { error: e }));

  const shutdown = async (signal: string) => {
    log.info("shutting down", { signal, active_bridges: ctx.bridges.size });
    // Media sockets would keep a graceful stop waiting; a bridge cannot outlive the process anyway.
    for (const bridge of ctx.bridges.values()) bridge.close("server_shutdown");
    stopGcPacer();
    await server.stop(true);
    await sims?.stop();
    ctx.store.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] && !argv[0].startsWith("-") ? argv[0] : "server";
  const rest = command === argv[0] ? argv.slice(1) : argv;
  if (!Object.hasOwn(USAGE, command) || command === "main")
    fail(`unknown command '${command}'\n\n${USAGE.main}`, EXIT_USAGE);

  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
        config: { type: "string", short: "c" },
        json: { type: "boolean" },
        "server-url": { type: "string" },
        to: { type: "string" },
        prompt: { type: "string" },
        "webhook-url": { type: "string" },
        metadata: { type: "string" },
        simulate: { type: "boolean" },
        speed: { type: "string" },
      },
    });
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${USAGE[command]}`, EXIT_USAGE);
  }
  const { values, positionals } = parsed;
  if (values.version) return writeLine(VERSION);
  if (values.help)
    return writeLine(argv.length && command !== "server" ? USAGE[command]! : `${USAGE.main}\n\n${USAGE.server}`);

  const env = readEnv();
  if (command === "server") return runServer(values.config, env, values.simulate ?? false);
  if (command === "demo") {
    const speed = Number(values.speed ?? 1);
    if (!(speed >= 0.5 && speed <= 50)) return fail("--speed must be a number from 0.5 to 50", EXIT_USAGE);
    const { runDemo } = await import("./sim/demo.ts");
    const result = await runDemo({ speed, dataDir: readConfig(values.config, env).server.data_dir, out: writeLine });
    if (!result.ok) fail(`the demo call ended with ${result.call.end_reason ?? "no end reason"}`);
    return;
  }

  const opts: client.ClientOptions = {
    serverUrl: values["server-url"] || env.AGENTICAI_SERVER_URL || `http://127.0.0.1:${env.PORT || 8080}`,
    token: env.AGENTICAI_API_TOKEN || undefined,
    json: values.json ?? false,
    out: writeLine,
  };
  const expected = command === "show" || command === "end" ? 1 : 0;
  if (positionals.length > expected)
    fail(`unexpected argument '${positionals[expected]}'\n\n${USAGE[command]}`, EXIT_USAGE);
  const id = () => positionals[0] ?? fail(`missing CALL_ID\n\n${USAGE[command]}`, EXIT_USAGE);
  try {
    switch (command) {
      case "call": {
        if (!values.to) return fail(`missing --to\n\n${USAGE.call}`, EXIT_USAGE);
        let metadata: unknown;
        if (values.metadata !== undefined) {
          try {
            metadata = JSON.parse(values.metadata);
          } catch {
            return fail('--metadata must be a JSON object, e.g. \'{"customer_id":"42"}\'', EXIT_USAGE);
          }
        }
        return await client.placeCall(opts, {
          to: values.to,
          prompt: values.prompt,
          webhook_url: values["webhook-url"],
          metadata,
        });
      }
      case "calls":
        return await client.listCalls(opts);
      case "show":
        return await client.showCall(opts, id());
      case "end":
        return await client.endCall(opts, id());
      case "status":
        return await client.serverStatus(opts);
    }
  } catch (e) {
    if (e instanceof client.CliError) fail(e.message);
    throw e;
  }
}

await main(process.argv.slice(2));
