// The commands that run in this process rather than against a running server: the server itself, the demo and
// `events secret`. commands.ts imports this module only when one of them runs, since it loads the config schema,
// the store and the server.
import type { Env } from "../config/env.ts";
import { ConfigError } from "../config/error.ts";
import { loadCheckedConfig } from "../config/remembered.ts";
import type { Config } from "../config/schema.ts";
import { writeLine } from "../log.ts";
import { DEMO_SCENARIOS, demoScenario } from "../sim/scenarios.ts";
import { openStorage } from "../store/open.ts";
import { EXIT_USAGE, fail } from "./exit.ts";
import { runServer } from "./serve.ts";

function usageOnConfigError(e: unknown): never {
  if (e instanceof ConfigError) fail(e.message, EXIT_USAGE);
  throw e;
}

/** The schema is loaded only by the commands that check a config every time: the server may not need it. */
async function readConfig(configPath: string | undefined, env: Env): Promise<Config> {
  const { loadConfig } = await import("../config/load.ts");
  try {
    return loadConfig({ path: configPath, env });
  } catch (e) {
    return usageOnConfigError(e);
  }
}

/** The secret the server signs events with; made and kept in its database as the server would, if it is not yet. */
async function serverEventsSecret(config: Config): Promise<string> {
  if (config.events.secret) return config.events.secret;
  const [{ eventsSecret }, store] = await Promise.all([import("../core.ts"), openStorage(config)]);
  try {
    return await eventsSecret(config, store);
  } finally {
    await store.close();
  }
}

/** The server remembers the config it checked last, so a restart with the same one checks nothing (remembered.ts). */
export async function runServerCommand(configPath: string | undefined, simulate: boolean, env: Env): Promise<void> {
  const config = await loadCheckedConfig({ path: configPath, env }).catch(usageOnConfigError);
  return runServer(config, simulate, env);
}

export async function printEventsSecret(configPath: string | undefined, env: Env, json: boolean): Promise<void> {
  const secret = await serverEventsSecret(await readConfig(configPath, env));
  writeLine(json ? JSON.stringify({ secret }, null, 2) : secret);
}

export async function runDemoCommand(
  values: { speed?: string; scenario?: string; config?: string; provider?: string },
  env: Env,
): Promise<void> {
  const speed = Number(values.speed ?? 1);
  if (!(speed >= 0.5 && speed <= 50)) return fail("--speed must be a number from 0.5 to 50", EXIT_USAGE);
  const provider = values.provider ?? "openai";
  if (provider !== "openai" && provider !== "google") return fail("--provider must be openai or google", EXIT_USAGE);
  // Loaded only for the demo, so the server never pays for the simulators.
  const { runDemo } = await import("../sim/demo.ts");
  const scenario = demoScenario(values.scenario ?? "conversation");
  if (!scenario) return fail(`--scenario must be one of: ${DEMO_SCENARIOS.map((s) => s.name).join(", ")}`, EXIT_USAGE);
  const config = await readConfig(values.config, env);
  // A receiver set up for the server checks the demo's events with the same secret.
  const events = config.events.url ? { url: config.events.url, secret: await serverEventsSecret(config) } : undefined;
  const result = await runDemo({ speed, dataDir: config.server.data_dir, out: writeLine, events, scenario, provider });
  if (!result.ok) fail(`the demo call ended with ${result.call.end_reason ?? "no end reason"}`);
}
