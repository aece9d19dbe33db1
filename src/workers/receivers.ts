// The delivery's book of receivers, kept in memory per instance: for each receiver host (the URL's host name as
// written, so every port of a host is one receiver) its deliveries claimed and under way, and whether it has
// been failing. A host that fails 5 times in a row is paused, and while paused none of its events is claimed
// or sent: they stay pending with their retry schedule and are sent once the pause is over.
import type { ClaimFilter } from "../store/store.ts";

export const MAX_IN_FLIGHT = 32;
/** Per receiver host, so a few dead receivers waiting out their timeouts cannot hold up the others. */
const MAX_PER_HOST = 4;
/** A host whose last attempt failed gets one delivery at a time, until one succeeds. */
const MAX_PER_FAILING_HOST = 1;
/** Claimed at most, in flight and held back by a limit together. */
export const MAX_CLAIMED = MAX_IN_FLIGHT * 2;
/**
 * Hosts not known to answer (new to this instance, or failing) together hold at most this many claims, and so
 * at most this many of the slots: the other 40 claims and 8 slots wait for receivers that answer.
 */
const UNPROVEN_CLAIMS = 24;
/** A host that answers is worth claiming for while the unproven ones have used their share: the latest few. */
const PROVEN_HOSTS_ASKED = 64;
/**
 * A claim looks for at most this many events to hosts not in the book: their events may sit behind the other hosts'
 * in the outbox, and a claim reads every due event it passes.
 */
const FRESH_PER_CLAIM = MAX_PER_HOST;
const PAUSE_AFTER_FAILURES = 5;
const FIRST_PAUSE_MS = 30_000;
const MAX_PAUSE_MS = 5 * 60_000;
/** Idle hosts beyond this many are forgotten, oldest first, so a stream of new host names cannot grow the book. */
const MAX_HOSTS_KEPT = 4_096;

interface Host {
  inFlight: number;
  /** Claimed and waiting for a slot. */
  held: number;
  /** Failed attempts in a row (no answer, a timeout, 408, 429 or 5xx). */
  failures: number;
  /** Pauses in a row: each one doubles the next. */
  pauses: number;
  pausedUntil: number;
  /** Its last attempt got an answer, so it holds no slot for long. */
  proven: boolean;
}

export interface ReceiverBook {
  /** What the next claim may take, given what is held and under way now; `null`: nothing. */
  claimFilter(now: number): ClaimFilter | null;
  /** The most events a claim now could admit: to hosts in the book (`known`), and to hosts not in it (`fresh`). */
  room(now: number): { known: number; fresh: number };
  held(host: string): void;
  /** A held event was dropped without being sent (its claim lapsed, or its host was paused). */
  dropped(host: string): void;
  /** Whether a held event for this host may start now (the overall limit is the caller's). */
  canStart(host: string, now: number): boolean;
  isPaused(host: string, now: number): boolean;
  started(host: string): void;
  /** An attempt's end: `failed` when it got no answer or one worth retrying. Returns the pause it began, if any. */
  finished(host: string, failed: boolean, now: number): number | null;
}

/** The receiver key of an event's url: its host name as written, without the port; "" if it does not parse. */
export const hostOf = (url: string) => URL.parse(url)?.hostname ?? "";

const cap = (h: Host) => (h.failures > 0 ? MAX_PER_FAILING_HOST : MAX_PER_HOST);
const paused = (h: Host, now: number) => h.pausedUntil > now;

export function receiverBook(): ReceiverBook {
  const hosts = new Map<string, Host>();
  let unproven = 0;
  const get = (name: string): Host => {
    let h = hosts.get(name);
    if (!h) {
      h = { inFlight: 0, held: 0, failures: 0, pauses: 0, pausedUntil: 0, proven: false };
      hosts.set(name, h);
      forgetIdle(hosts);
    }
    return h;
  };
  // Each claimed event counts against its host's limit and, while the host is not proven, the unproven share.
  const count = (name: string, field: "held" | "inFlight", by: 1 | -1) => {
    const h = get(name);
    h[field] += by;
    if (!h.proven) unproven += by;
  };
  return {
    claimFilter(now) {
      const skipHosts = [...hosts].filter(([, h]) => paused(h, now) || h.held + h.inFlight >= cap(h)).map(([n]) => n);
      const full = unproven >= UNPROVEN_CLAIMS;
      const onlyHosts = full ? provenHosts(hosts, now) : null;
      if (onlyHosts?.length === 0) return null;
      return { skipHosts, onlyHosts, admit: admitter(hosts, now, unproven) };
    },
    room(now) {
      let known = 0;
      for (const h of hosts.values()) if (!paused(h, now)) known += Math.max(0, cap(h) - h.held - h.inFlight);
      return { known, fresh: Math.max(0, Math.min(FRESH_PER_CLAIM, UNPROVEN_CLAIMS - unproven)) };
    },
    held: (name) => count(name, "held", 1),
    dropped: (name) => count(name, "held", -1),
    canStart: (name, now) => {
      const h = get(name);
      return !paused(h, now) && h.inFlight < cap(h);
    },
    isPaused: (name, now) => paused(get(name), now),
    started(name) {
      count(name, "held", -1);
      count(name, "inFlight", 1);
    },
    finished(name, failed, now) {
      count(name, "inFlight", -1);
      const h = get(name);
      const claims = h.held + h.inFlight;
      if (h.proven === failed) unproven += failed ? claims : -claims;
      h.proven = !failed;
      // The latest answering hosts last in the map: the ones a full unproven share still claims for.
      hosts.delete(name);
      hosts.set(name, h);
      return pauseAfter(h, failed, now);
    },
  };
}

/** A host's run of failures after an attempt, and the pause that run begins, if it does. */
function pauseAfter(h: Host, failed: boolean, now: number): number | null {
  if (!failed) {
    h.failures = 0;
    h.pauses = 0;
    return null;
  }
  h.failures++;
  if (h.failures < PAUSE_AFTER_FAILURES || paused(h, now)) return null;
  const ms = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** h.pauses);
  h.pauses++;
  h.pausedUntil = now + ms;
  return ms;
}

/** Within one claim: each host up to its limit, unproven hosts up to their share, paused ones not at all. */
function admitter(hosts: Map<string, Host>, now: number, unproven: number): (url: string) => boolean {
  const taken = new Map<string, number>();
  let unprovenTaken = unproven;
  return (url) => {
    const name = hostOf(url);
    const h = hosts.get(name);
    const claims = (h ? h.held + h.inFlight : 0) + (taken.get(name) ?? 0);
    if (h && paused(h, now)) return false;
    if (claims >= (h ? cap(h) : MAX_PER_HOST)) return false;
    if (!h?.proven && unprovenTaken >= UNPROVEN_CLAIMS) return false;
    if (!h?.proven) unprovenTaken++;
    taken.set(name, (taken.get(name) ?? 0) + 1);
    return true;
  };
}

function provenHosts(hosts: Map<string, Host>, now: number): string[] {
  const names: string[] = [];
  for (const [name, h] of [...hosts].reverse()) {
    if (names.length >= PROVEN_HOSTS_ASKED) break;
    if (h.proven && !paused(h, now) && h.held + h.inFlight < cap(h)) names.push(name);
  }
  return names;
}

function forgetIdle(hosts: Map<string, Host>): void {
  if (hosts.size <= MAX_HOSTS_KEPT) return;
  for (const [name, h] of hosts) {
    if (hosts.size <= MAX_HOSTS_KEPT) return;
    if (h.held === 0 && h.inFlight === 0) hosts.delete(name);
  }
}
