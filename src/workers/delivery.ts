// Delivers the outbox: due events are posted, a few at a time, each after the one before it for the
// same call and receiver. It runs beside the calls and shares nothing with them but the database, so
// a slow or dead receiver never slows a call; receivers that keep failing are paused (receivers.ts), so
// they do not slow the others either.

import type { Route } from "../events/receiver-host.ts";
import { type Attempt, afterAttempt, parseRetryAfter, retryable } from "../events/retry.ts";
import type { Logger } from "../log.ts";
import type { AttemptResult, OutboxRow, OutboxStore } from "../store/store.ts";
import { workerLoop } from "./loop.ts";
import { hostOf, MAX_CLAIMED, MAX_IN_FLIGHT, type ReceiverBook, receiverBook } from "./receivers.ts";

const POLL_MS = 1_000;
/**
 * How long a claimed event is this sender's before another may send it: well past the longest attempt (a
 * receiver's timeout, 30 s at most) and a wait behind its host's other deliveries, so only a sender that
 * died leaves an event to another, once the claim lapses.
 */
const DELIVERY_LEASE_MS = 60_000;
/** Of a receiver's answer at most this much is read (an error message fits); the rest is never taken in. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/**
 * What a stored attempt says when no answer came: the same whether the connection was refused, timed out,
 * or was not made because the receiver's address is not allowed, so the outbox tells no one what listens where.
 */
const CONNECTION_FAILED = "connection failed";

export interface DeliveryDeps {
  store: OutboxStore;
  log: Logger;
  /** The headers that authenticate this delivery to its receiver. */
  headers(row: OutboxRow, now: Date): Record<string, string>;
  timeoutMs(row: OutboxRow): number;
  /** Where to connect for this event, checked now; null refuses it (recorded as a failed connection). */
  route(row: OutboxRow): Promise<Route | null>;
  userAgent: string;
  now(): number;
  /** Told each attempt's result once it is stored. */
  recorded(result: AttemptResult): void;
}

/** Claimed events held back by a limit, started as room frees while their claim holds. */
type Held = Map<number, OutboxRow>;

/**
 * While every host in the book is full, a claim could only find events to new hosts, walking every due event of the
 * full ones on the way (~1.6 µs each, a millisecond for 600); such a claim is made at most this often.
 */
const FRESH_LOOK_MS = 200;

/** When a claim last walked past full hosts for new ones. */
interface FreshLooks {
  at: number;
}

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
  const book = receiverBook();
  const held: Held = new Map();
  const looked: FreshLooks = { at: Number.NEGATIVE_INFINITY };
  let later: ReturnType<typeof setTimeout> | null = null;
  const wakeIn = (ms: number) => {
    later ??= setTimeout(() => {
      later = null;
      loop.wake();
    }, ms).unref();
  };
  const start = (row: OutboxRow, host: string) => {
    book.started(host);
    const run = deliver(row, deps, book, stopping.signal).finally(() => {
      inFlight.delete(row.id);
      loop.wake();
    });
    inFlight.set(row.id, run);
  };
  const pump = async () => {
    const wait = await claimMore(deps, book, held, inFlight, looked);
    if (wait > 0) wakeIn(wait);
    const now = deps.now();
    for (const row of held.values()) {
      if (loop.stopped || inFlight.size >= MAX_IN_FLIGHT) break;
      const host = hostOf(row.url);
      if (!book.canStart(host, now)) continue;
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

/** One attempt, posted, recorded, and told; a delivery given up on is logged, and so is a receiver paused. */
async function deliver(row: OutboxRow, deps: DeliveryDeps, book: ReceiverBook, stop: AbortSignal): Promise<void> {
  const host = hostOf(row.url);
  const { attempt, cause } = await post(row, deps, stop);
  const result = afterAttempt(row, attempt, deps.now());
  const pausedMs = book.finished(host, retryable(attempt.status), deps.now());
  await deps.store.recordAttempt(row.id, result);
  deps.recorded(result);
  if (result.status === "failed") {
    deps.log.warn("event not delivered", {
      event_id: row.event_id,
      type: row.type,
      receiver: row.receiver,
      host,
      error: result.last_error ?? `HTTP ${result.last_status}`,
      cause,
    });
  }
  if (pausedMs !== null) {
    // Its events wait out the pause in the database, where claims do not look at them.
    await deps.store.deferDeliveries(host, deps.now() + pausedMs);
    deps.log.warn("receiver paused: it failed several times in a row", { host, paused_s: pausedMs / 1000, cause });
  }
}

/**
 * Drops held events whose claim lapsed or whose receiver is paused (they stay pending, due again once the pause
 * and their claim are over), then claims due events while fewer than MAX_CLAIMED are held or in flight. Returns how
 * long to wait before a claim may look for new hosts again, when that is why it did not claim; else 0.
 */
async function claimMore(
  deps: DeliveryDeps,
  book: ReceiverBook,
  held: Held,
  inFlight: Map<number, unknown>,
  looked: FreshLooks,
): Promise<number> {
  const now = deps.now();
  // Anyone's to claim again, this sender included (which renews the claim).
  for (const [id, row] of held) {
    const host = hostOf(row.url);
    if (row.next_attempt_at > now && !book.isPaused(host, now)) continue;
    held.delete(id);
    book.dropped(host);
  }
  const room = MAX_CLAIMED - held.size - inFlight.size;
  const filter = room > 0 ? book.claimFilter(now) : null;
  if (!filter) return 0;
  // No more than the hosts could take: each event claimed is one of CLAIM_LOOKS_PER_EVENT looked at.
  const { known, fresh } = book.room(now);
  if (known + fresh === 0) return 0;
  if (known === 0 && filter.skipHosts.length > 0) {
    const wait = looked.at + FRESH_LOOK_MS - now;
    if (wait > 0) return wait;
    looked.at = now;
  }
  const limit = Math.min(room, known + fresh);
  for (const row of await deps.store.claimDeliveries(now, now + DELIVERY_LEASE_MS, limit, filter)) {
    if (inFlight.has(row.id) || held.has(row.id)) continue;
    held.set(row.id, row);
    book.held(hostOf(row.url));
  }
  return 0;
}

/** The attempt as stored, and what the socket said, for the log only. */
interface Posted {
  attempt: Attempt;
  cause?: string;
}

async function post(row: OutboxRow, deps: DeliveryDeps, stop: AbortSignal): Promise<Posted> {
  const cut = new AbortController();
  const signal = AbortSignal.any([stop, cut.signal, AbortSignal.timeout(deps.timeoutMs(row))]);
  try {
    const route = await deps.route(row);
    if (!route) return { attempt: noAnswer(), cause: "the receiver's address is not allowed or does not resolve" };
    const res = await fetch(route.url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": deps.userAgent,
        ...deps.headers(row, new Date()),
        ...route.headers,
      },
      body: row.body,
      redirect: "manual",
      signal,
      ...(route.tls ? { tls: route.tls } : {}),
    });
    await discardBody(res, cut);
    const error = res.ok ? null : `HTTP ${res.status}`;
    const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), deps.now());
    return { attempt: { status: res.status, error, retryAfterMs } };
  } catch (e) {
    return { attempt: noAnswer(), cause: (e as Error).message || String(e) };
  }
}

const noAnswer = (): Attempt => ({ status: null, error: CONNECTION_FAILED, retryAfterMs: null });

/**
 * The answer's body carries nothing we act on. A short one is read to its end, which frees the connection for
 * the next event; past MAX_RESPONSE_BYTES the request is cut, so no receiver can make the server hold more.
 */
async function discardBody(res: Response, cut: AbortController): Promise<void> {
  const reader = res.body?.getReader();
  if (!reader) return;
  try {
    for (let read = 0; read <= MAX_RESPONSE_BYTES; ) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
    cut.abort();
    await reader.cancel();
  } catch {
    // A body cut short, by the receiver or the timeout, changes nothing: the status has come.
  }
}
