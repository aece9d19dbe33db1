import type { Bridge } from "./bridge/bridge.ts";
import { createCallTools } from "./bridge/tools/all.ts";
import type { ToolRegistry } from "./bridge/tools.ts";
import type { Config } from "./config/schema.ts";
import { type AppCore, openCore } from "./core.ts";
import { type Lookup, systemLookup } from "./events/receiver-host.ts";
import type { Logger } from "./log.ts";
import { countedTwilio } from "./metrics/twilio.ts";
import { createFactsChecker, type FactsChecker } from "./model/facts-check.ts";
import { openRecordingStorage } from "./recording/open.ts";
import type { RecordingStorage } from "./recording/storage.ts";
import { createRateLimiter, type RateLimiter } from "./runtime/ratelimit.ts";
import { createTicks, type Ticks } from "./runtime/ticks.ts";
import { announcingStore, type ChangeFeed, createChangeFeed } from "./store/changes.ts";
import { createTwilioRest, type TwilioRest } from "./twilio/rest.ts";

/** Everything a request handler may touch, created once in main and passed down; nothing else is shared. */
export interface AppContext extends AppCore {
  /** Which calls the store just changed, for live views; every write through `store` is announced here. */
  changes: ChangeFeed;
  /** null until TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER are all set. */
  twilio: TwilioRest | null;
  missingTwilio: string[];
  /** Where call recordings are written and served from: this instance's disk or a shared bucket. */
  recordings: RecordingStorage;
  /** Live audio bridges by call id: the only per-call state kept outside the database. */
  bridges: Map<string, Bridge>;
  /**
   * Outbound calls whose create request to Twilio is under way in this process, each with a promise settled once
   * its reply is stored (or the create failed).
   */
  dialing: Map<string, Promise<void>>;
  /** Checks report facts against a call's report_schema off the main thread (its patterns may backtrack). */
  facts: FactsChecker;
  /** The function tools each call's model is given. */
  tools: ToolRegistry;
  /** Repeating timers shared by all calls (each call's silence watch), so they cost one interval, not one per call. */
  ticks: Ticks;
  /** Background work to look at now rather than at its next poll; no-ops until it is started. */
  signals: Signals;
  /**
   * limits.calls_per_minute, per client address: every dial draws from it, a request's first attempt and each
   * retry alike (charged to the address that placed the call), so retries cannot multiply a client's rate.
   */
  callBudget: RateLimiter;
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

/** The app context of a server that opened its core (core.ts) to listen: the same object, completed. */
export async function completeApp(core: AppCore): Promise<AppContext> {
  const { config, log, metrics } = core;
  const changes = createChangeFeed((error) => log.error("change listener failed", { error }));
  const store = announcingStore(core.store, changes);
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
  const rest: Omit<AppContext, Exclude<keyof AppCore, "store">> = {
    store,
    changes,
    twilio,
    missingTwilio,
    recordings: openRecordingStorage(config, log),
    bridges: new Map(),
    dialing: new Map(),
    tools: createCallTools(),
    facts: createFactsChecker(),
    ticks: createTicks(),
    signals: { eventsQueued: () => {}, callEnded: () => {}, retryScheduled: () => {} },
    callBudget: createRateLimiter(config.limits.calls_per_minute),
    lookupHost: systemLookup,
  };
  return Object.assign(core, rest);
}

export async function createApp(config: Config, log: Logger): Promise<AppContext> {
  return completeApp(await openCore(config, log));
}
