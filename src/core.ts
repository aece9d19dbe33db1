// The part of the app context a server opens before it listens: the config, the log, the store, the metrics and who
// this instance is. /health answers from it alone, so a start listens as soon as it exists;
// app.ts completes it with everything the calls need, after listening.
import type { Config } from "./config/schema.ts";
import type { Logger } from "./log.ts";
import { createMetricsRegistry, type MetricsRegistry } from "./metrics/registry.ts";
import { randomBytes, randomToken } from "./runtime/crypto.ts";
import { nodeOs } from "./runtime/node-modules.ts";
import { openStorage } from "./store/open.ts";
import type { Store } from "./store/store.ts";

export interface AppCore {
  config: Config;
  log: Logger;
  /** Until the app is complete, the store as opened: nothing writes through it before then (app.ts). */
  store: Store;
  /**
   * This process among the instances that share a database: `<hostname>-<pid>-<4 random hex digits>`, new at
   * every start (a restarted process is another instance). Recorded as the owner of the calls it takes.
   */
  instanceId: string;
  /**
   * What the process is doing as a whole: `draining` once a stop signal came, while calls finish; `handingOver`
   * when, with another instance up, the stop hands the calls to it rather than letting them finish here.
   */
  state: { draining: boolean; handingOver: boolean };
  /** What /metrics shows: counted since this process started. */
  metrics: MetricsRegistry;
  /** Signs the media streams' tokens (calls/trust.ts). */
  streamSecret: string;
  /** Signs event webhooks (Standard Webhooks): configured, or generated once and kept in the database. */
  eventsSecret: string;
  startedAt: number;
  now: () => number;
}

/**
 * The machine's name, as os.hostname() gives it (the kernel's, per UTS namespace). On Linux it is read from the
 * kernel's own file: node:os costs a cold start ~0.3 ms, and its name is all a start needs of it.
 */
async function machineName(): Promise<string> {
  const name = await Bun.file("/proc/sys/kernel/hostname")
    .text()
    .catch(() => "");
  return name.trim() || nodeOs().hostname();
}

/**
 * A secret kept in the database: the one there, or `make()`'s, stored unless another instance stored one first (both
 * agree on the stored one). Read first, so a restart writes nothing.
 */
async function keptSecret(store: Store, key: string, make: () => string | Promise<string>): Promise<string> {
  return (await store.meta(key)) ?? store.metaOnce(key, await make());
}

/**
 * The stream-token secret lives in the database so tokens in TwiML already served survive a restart, and
 * every instance sharing the database accepts the tokens any of them served.
 */
const streamSecret = (store: Store) => keptSecret(store, "stream_secret", () => randomToken(32));

/**
 * The configured secret, or the one kept in the database, made at the first start: receivers are set up once
 * and keep verifying across restarts and instances. A data dir from before carries it in a file: adopted. Made before
 * the server listens, so `agenticai events secret` and the receivers' setup find it from then on.
 */
export async function eventsSecret(config: Config, store: Store): Promise<string> {
  if (config.events.secret) return config.events.secret;
  return keptSecret(store, "events_secret", async () => {
    const { legacyEventsSecret, newSecret } = await import("./events/signing.ts");
    return legacyEventsSecret(config.server.data_dir) ?? newSecret();
  });
}

const newInstanceId = async () => `${await machineName()}-${process.pid}-${randomBytes(2).toString("hex")}`;

export async function openCore(config: Config, log: Logger): Promise<AppCore> {
  // Read while the store opens.
  const instanceId = newInstanceId();
  const store = await openStorage(config);
  return {
    config,
    log,
    store,
    instanceId: await instanceId,
    state: { draining: false, handingOver: false },
    metrics: createMetricsRegistry(),
    streamSecret: await streamSecret(store),
    eventsSecret: await eventsSecret(config, store),
    startedAt: Date.now(),
    now: Date.now,
  };
}
