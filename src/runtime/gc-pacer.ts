// Young-generation collections paced by the audio flowing through. Every frame leaves a few hundred
// bytes of short-lived strings. Left to itself, the engine sizes the young generation by the live heap
// (here the SDKs plus every call), so at a few hundred calls it lets tens of MB of garbage pile up between
// collections: the memory is resident, cold in cache, and is handed back to the OS and faulted in again
// each cycle. Collecting after a fixed amount of call time keeps that garbage to a few MB, reused while
// warm: fewer page faults, less resident memory, shorter pauses. With no calls it never runs.
import { edenGC } from "bun:jsc";

export const TICK_MS = 100;
/** Call-milliseconds of audio between collections: every 100 ms at 500 calls, every 5 s at 10. */
export const CALL_MS_PER_COLLECTION = 50_000;

/** One tick of the pace: whether to collect now, given the calls live during the last tick. */
export function createGcPace(): (liveCalls: number) => boolean {
  let callMs = 0;
  return (liveCalls) => {
    callMs += liveCalls * TICK_MS;
    if (callMs < CALL_MS_PER_COLLECTION) return false;
    callMs = 0;
    return true;
  };
}

/** Paces collections for a server whose live calls `liveCalls` counts; returns the stop function. */
export function startGcPacer(liveCalls: () => number): () => void {
  const due = createGcPace();
  const timer = setInterval(() => {
    if (due(liveCalls())) edenGC();
  }, TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
