// Delivers the outbox: due events are posted, a few at a time, each after the one before it for the
// same call and receiver. It runs beside the calls and shares nothing with them but the database, so
// a slow or dead receiver never slows a call.

import { type Attempt, afterAttempt, parseRetryAfter } from "../events/retry.ts";
import type { Logger } from "../log.ts";
import type { AttemptResult, OutboxRow, OutboxStore } from "../store/store.ts";
import { workerLoop } from "./loop.ts";

const POLL_MS = 1_000;
const MAX_IN_FLIGHT = 32;
/** Per receiver host, so a few dead receivers waiting out their timeouts cannot hold up the others. */
const MAX_PER_HOST = 4;
/** Claimed at most, in flight and held back by MAX_IN_FLIGHT or MAX_PER_HOST together. */
const MAX_CLAIMED = MAX_IN_FLIGHT * 2;
/**
 * How long a claimed event is this sender's before another may send it: well past the longest attempt (a
 * receiver's timeout, 20 s at most) and a wait behind its host's other deliveries, so only a sender that
 * died leaves an event to another, once the claim lapses.
 */
const DELIVERY_LEASE_MS = 60_000;

export interface DeliveryDeps {
  store: OutboxStore;
  log: Logger;
  /** The headers that authenticate this delivery to its receiver. */
  headers(row: OutboxRow, now: Date): Record<string, string>;
  timeoutMs(row: OutboxRow): number;
  userAgent: string;
  now(): number;
  /** Told each attempt's result once it is stored. */
  recorded(result: AttemptResult): void;
}

/** Claimed events held back by a limit, started as room frees while their claim holds. */
type Held = Map<number, OutboxRow>;

export interface Delivery {
  /** Something was queued: look now rather than at the next poll. */
  wake(): void;
  /** Stops taking new work and waits for the deliveries under way. */
  stop(): Promise<void>;
}

export function startDelivery(deps: DeliveryDeps): Delivery {
  const inFlight = new Map<number, Promise<void>>();
  // Stopping cuts deliveries under way: each is recorded as a failed attempt and sent again after the
  // restart, which at-least-once allows, rather than holding a shutdown for a receiver's timeout.
  const stopping = new AbortController();
  const perHost = new Map<string, number>();
  const held: Held = new Map();
  const start = (row: OutboxRow, host: string) => {
    perHost.set(host, (perHost.get(host) ?? 0) + 1);
    const run = deliver(row, deps, stopping.signal).finally(() => {
      inFlight.delete(row.id);
      const left = perHost.get(host)! - 1;
      if (left) perHost.set(host, left);
      else perHost.delete(host);
      loop.wake();
    });
    inFlight.set(row.id, run);
  };
  const pump = async () => {
    await claimMore(deps, held, inFlight);
    for (const row of held.values()) {
      if (loop.stopped || inFlight.size >= MAX_IN_FLIGHT) break;
      const host = new URL(row.url).host;
      if ((perHost.get(host) ?? 0) >= MAX_PER_HOST) continue;
      held.delete(row.id);
      start(row, host);
    }
  };
  const loop = workerLoop(
    POLL_MS,
    pump,
    () => Promise.allSettled(inFlight.values()),
    (error) => deps.log.error("looking for events to deliver failed", { error }),
  );
  return {
    wake: loop.wake,
    async stop() {
      stopping.abort();
      await loop.stop();
    },
  };
}

/** One attempt, posted, recorded, and told; a delivery given up on is logged. */
async function deliver(row: OutboxRow, deps: DeliveryDeps, stop: AbortSignal): Promise<void> {
  const attempt = await post(row, deps, stop);
  const result = afterAttempt(row, attempt, deps.now());
  await deps.store.recordAttempt(row.id, result);
  deps.recorded(result);
  if (result.status === "failed") {
    deps.log.warn("event not delivered", {
      event_id: row.event_id,
      type: row.type,
      receiver: row.receiver,
      host: new URL(row.url).host,
      error: result.last_error ?? `HTTP ${result.last_status}`,
    });
  }
}

/** Claims due events while fewer than MAX_CLAIMED are held or in flight; drops held ones whose claim lapsed. */
async function claimMore(deps: DeliveryDeps, held: Held, inFlight: Map<number, unknown>): Promise<void> {
  const now = deps.now();
  // Anyone's to claim again, this sender included (which renews the claim).
  for (const [id, row] of held) if (row.next_attempt_at <= now) held.delete(id);
  const room = MAX_CLAIMED - held.size - inFlight.size;
  if (room <= 0) return;
  for (const row of await deps.store.claimDeliveries(now, now + DELIVERY_LEASE_MS, room)) {
    if (!inFlight.has(row.id)) held.set(row.id, row);
  }
}

async function post(row: OutboxRow, deps: DeliveryDeps, stop: AbortSignal): Promise<Attempt> {
  try {
    const res = await fetch(row.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "User-Agent": deps.userAgent, ...deps.headers(row, new Date()) },
      body: row.body,
      redirect: "manual",
      signal: AbortSignal.any([stop, AbortSignal.timeout(deps.timeoutMs(row))]),
    });
    // The answer's body carries nothing we act on; reading it frees the connection for the next event.
    await res.arrayBuffer().catch(() => null);
    const error = res.ok ? null : `HTTP ${res.status}`;
    return { status: res.status, error, retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), deps.now()) };
  } catch (e) {
    return { status: null, error: (e as Error).message || String(e), retryAfterMs: null };
  }
}
