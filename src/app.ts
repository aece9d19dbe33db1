import type { Bridge } from "./bridge/bridge.ts";
import { createCallTools } from "./bridge/tools/all.ts";
import type { ToolRegistry } from "./bridge/tools.ts";
import { announcingStore, type ChangeFeed, createChangeFeed } from "./calls/changes.ts";
import { openStore, type Store } from "./calls/store.ts";
import type { Config } from "./config/schema.ts";
import { eventsSecret } from "./events/signing.ts";
import type { Logger } from "./log.ts";
import { createMetricsRegistry, type MetricsRegistry } from "./metrics/registry.ts";
import { countedTwilio } from "./metrics/twilio.ts";
import { randomToken } from "./runtime/crypto.ts";
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
  /** Live audio bridges by call id: the only per-call state kept outside the database. */
  bridges: Map<string, Bridge>;
  /** Outbound calls whose create request to Twilio is under way in this process. */
  dialing: Set<string>;
  /** The function tools each call's model is given. */
  tools: ToolRegistry;
  /** Signs event webhooks (Standard Webhooks): configured, or generated once and kept in the data dir. */
  eventsSecret: string;
  /** What the process is doing as a whole: `draining` once a stop signal came, while calls finish. */
  state: { draining: boolean };
  /** Background work to look at now rather than at its next poll; no-ops until it is started. */
  signals: Signals;
  /** What /metrics shows: counted since this process started. */
  metrics: MetricsRegistry;
  startedAt: number;
  now: () => number;
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

/** The stream-token secret lives in the database so tokens in TwiML already served survive a restart. */
function streamSecret(store: Store): string {
  let secret = store.meta("stream_secret");
  if (!secret) {
    secret = randomToken(32);
    store.setMeta("stream_secret", secret);
  }
  return secret;
}

export function createApp(config: Config, log: Logger): AppContext {
  const changes = createChangeFeed((error) => log.error("change listener failed", { error }));
  const store = announcingStore(openStore(config.server.data_dir), changes);
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
    streamSecret: streamSecret(store),
    bridges: new Map(),
    dialing: new Set(),
    tools: createCallTools(),
    eventsSecret: eventsSecret(config.events.secret, config.server.data_dir),
    state: { draining: false },
    signals: { eventsQueued: () => {}, callEnded: () => {}, retryScheduled: () => {} },
    metrics,
    startedAt: Date.now(),
    now: Date.now,
  };
}
