import { hostname } from "node:os";
import type { Bridge } from "./bridge/bridge.ts";
import { createCallTools } from "./bridge/tools/all.ts";
import type { ToolRegistry } from "./bridge/tools.ts";
import type { Config } from "./config/schema.ts";
import { type Lookup, systemLookup } from "./events/receiver-host.ts";
import { legacyEventsSecret, newSecret } from "./events/signing.ts";
import type { Logger } from "./log.ts";
import { createMetricsRegistry, type MetricsRegistry } from "./metrics/registry.ts";
import { countedTwilio } from "./metrics/twilio.ts";
import { createFactsChecker, type FactsChecker } from "./model/facts-check.ts";
import { openRecordingStorage } from "./recording/open.ts";
import type { RecordingStorage } from "./recording/storage.ts";
import { randomBytes, randomToken } from "./runtime/crypto.ts";
import { createRateLimiter, type RateLimiter } from "./runtime/ratelimit.ts";
import { createTicks, type Ticks } from "./runtime/ticks.ts";
import { announcingStore, type ChangeFeed, createChangeFeed } from "./store/changes.ts";
import { openStorage } from "./store/open.ts";
import type { Store } from "./store/store.ts";
import { createTwilioRest, type TwilioRest } from "./twilio/rest.ts";

/** Everything a request handler may touch, created once in main and passed down; nothing else is shared. */
export interface AppContext {
  config: Config;
  log: Logger;
  store: Store;
  /** Which calls the store just changed, for live views; every write through `store` is announced here. */
  changes: ChangeFeed;
  /** null until TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER are all set. */
  twilio: TwilioRest | null;
  missingTwilio: string[];
  streamSecret: string;
  /** Where call recordings are written and served from: this instance's disk or a shared bucket. */
  recordings: RecordingStorage;
  /** Live audio bridges by call id: the only per-call state kept outside the database. */
  bridges: Map<string, Bridge>;
  /** Outbound calls whose create request to Twilio is under way in this process. */
  dialing: Set<string>;
  /** Checks report facts against a call's report_schema off the main thread (its patterns may backtrack). */
  facts: FactsChecker;
  /** The function tools each call's model is given. */
  tools: ToolRegistry;
  /** Signs event webhooks (Standard Webhooks): configured, or generated once and kept in the database. */
  eventsSecret: string;
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
  /** Repeating timers shared by all calls (each call's silence watch), so they cost one interval, not one per call. */
  ticks: Ticks;
  /** Background work to look at now rather than at its next poll; no-ops until it is started. */
  signals: Signals;
  /** What /metrics shows: counted since this process started. */
  metrics: MetricsRegistry;
  /**
   * limits.calls_per_minute, per client address: every dial draws from it, a request's first attempt and each
   * retry alike (charged to the address that placed the call), so retries cannot multiply a client's rate.
   */
  callBudget: RateLimiter;
  startedAt: number;
  now: () => number;
  /** Resolves a per-call receiver's host name (callback_url), when the call is requested and at each delivery. */
  lookupHost: Lookup;
}

export interface Signals {
  eventsQueued(): void;
  callEnded(): void;
  retryScheduled(): void;
}

export function missingTwilioSettings(config: Config): string[] {
  const { account_sid, auth_token, phone_number } = config.twilio;
  return [
    account_sid ? null : "TWILIO_ACCOUNT_SID",
    auth_token ? null : "TWILIO_AUTH_TOKEN",
    phone_number ? null : "TWILIO_PHONE_NUMBER",
  ].filter((n): n is string => n !== null);
}

/**
 * The stream-token secret lives in the database so tokens in TwiML already served survive a restart, and
 * every instance sharing the database accepts the tokens any of them served.
 */
const streamSecret = (store: Store) => store.metaOnce("stream_secret", randomToken(32));

/**
 * The configured secret, or the one kept in the database, made at the first start: receivers are set up once
 * and keep verifying across restarts and instances. A data dir from before carries it in a file: adopted.
 */
export function eventsSecret(config: Config, store: Store): Promise<string> {
  if (config.events.secret) return Promise.resolve(config.events.secret);
  return store.metaOnce("events_secret", legacyEventsSecret(config.server.data_dir) ?? newSecret());
}

const newInstanceId = () => `${hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`;

export async function createApp(config: Config, log: Logger): Promise<AppContext> {
  const changes = createChangeFeed((error) => log.error("change listener failed", { error }));
  const store = announcingStore(await openStorage(config), changes);
  const metrics = createMetricsRegistry();
  const missingTwilio = missingTwilioSettings(config);
  const { account_sid, auth_token, phone_number, api_base_url, request_timeout_ms } = config.twilio;
  const twilio = missingTwilio.length
    ? null
    : countedTwilio(
        createTwilioRest({
          accountSid: account_sid!,
          authToken: auth_token!,
          phoneNumber: phone_number!,
          apiBaseUrl: api_base_url,
          timeoutMs: request_timeout_ms,
        }),
        metrics,
      );
  return {
    config,
    log,
    store,
    changes,
    twilio,
    missingTwilio,
    streamSecret: await streamSecret(store),
    recordings: openRecordingStorage(config, log),
    bridges: new Map(),
    dialing: new Set(),
    tools: createCallTools(),
    facts: createFactsChecker(),
    eventsSecret: await eventsSecret(config, store),
    instanceId: newInstanceId(),
    state: { draining: false, handingOver: false },
    ticks: createTicks(),
    signals: { eventsQueued: () => {}, callEnded: () => {}, retryScheduled: () => {} },
    metrics,
    callBudget: createRateLimiter(config.limits.calls_per_minute),
    startedAt: Date.now(),
    now: Date.now,
    lookupHost: systemLookup,
  };
}
