// Requests to /twilio/* that fail the signature check. Anyone can send them, so each must cost little, in log
// lines above all: the first from an address is logged in full, later ones only as a count once a minute.
import type { Fields, Logger } from "../log.ts";
import { createRateLimiter } from "../runtime/ratelimit.ts";
import { HttpError, rateLimited } from "./respond.ts";

const REJECTIONS_PER_MINUTE = 20;
const SUMMARY_EVERY_MS = 60_000;
const TICK_MS = 10_000;
// Past this many addresses in one minute, the rest share one tally, so a spread-out flood is still one line.
const MAX_TRACKED = 1_000;
const OTHERS = "other addresses";

interface Tally {
  since: number;
  count: number;
  paths: Set<string>;
}

/** Counts a rejected request and answers it: 403, or 429 once its address is over its budget. */
export type RejectSignature = (path: string, msg: string, fields?: Fields) => HttpError;

export interface SignatureRejections {
  reject(address: string, path: string, msg: string, fields?: Fields): HttpError;
}

/**
 * The budget only changes the answer: a signature is still checked past it, because behind a proxy or tunnel
 * Twilio shares its address with everyone else, and a flood must not lock Twilio's own requests out.
 */
export function createSignatureRejections(log: Logger, now: () => number): SignatureRejections {
  const limiter = createRateLimiter(REJECTIONS_PER_MINUTE, now);
  const tallies = new Map<string, Tally>();
  let timer: ReturnType<typeof setInterval> | null = null;

  /** Ends an address's minute: its count, if any, is logged and a new minute starts; a quiet one is forgotten. */
  const close = (key: string, tally: Tally) => {
    if (tally.count === 0) return void tallies.delete(key);
    log.warn(`rejected ${tally.count} Twilio requests with an invalid signature in the last minute`, {
      address: key,
      count: tally.count,
      paths: [...tally.paths],
    });
    tallies.set(key, { since: now(), count: 0, paths: new Set() });
  };
  const tick = () => {
    for (const [key, tally] of tallies) if (now() - tally.since >= SUMMARY_EVERY_MS) close(key, tally);
    if (tallies.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };

  return {
    reject(address, path, msg, fields) {
      const wait = limiter.take(address);
      const key = tallies.has(address) || tallies.size < MAX_TRACKED ? address : OTHERS;
      const open = tallies.get(key);
      if (open && now() - open.since >= SUMMARY_EVERY_MS) close(key, open);
      const tally = tallies.get(key);
      if (tally) {
        tally.count++;
        tally.paths.add(path);
      } else {
        log.warn(msg, { ...fields, path, address });
        tallies.set(key, { since: now(), count: 0, paths: new Set() });
        // A timer only while something is counted, and never one that keeps the process up.
        timer ??= setInterval(tick, TICK_MS);
        timer.unref();
      }
      return wait > 0 ? rateLimited(wait) : new HttpError(403, "Invalid Twilio signature");
    },
  };
}
