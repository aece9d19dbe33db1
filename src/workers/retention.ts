// Deleting what is past its retention, once at start and then hourly: ended calls past retention.calls_days
// with everything kept of them (transcript, status history, attempts, events, recording), delivered events
// past events.keep_days, and recordings past recording.retention_days. It works from the database and the
// files themselves, so a retention shortened in config applies to what was kept before the change.
import type { AppContext } from "../app.ts";
import { type Worker, workerLoop } from "./loop.ts";

const CHECK_MS = 3_600_000;
const DAY_MS = 86_400_000;
/**
 * Calls deleted per transaction. A call at the request limits keeps ~88 KB in about a hundred rows, so a batch
 * is ~2 MB of rows: on SQLite (whose transaction holds the file's write lock and the event loop) the longest
 * batch of a few thousand such calls stays far under 100 ms (test/retention.test.ts measures it).
 */
export const CALL_BATCH = 20;
/** Delivered events are small rows of one table. */
export const EVENT_BATCH = 500;
/** Between two batches, other transactions and requests take their turn. */
const BATCH_PAUSE_MS = 5;

export function startRetention(ctx: AppContext): Worker {
  const loop = workerLoop(
    CHECK_MS,
    async () => {
      await removeOldRecordings(ctx);
      await removeOldCalls(ctx, () => loop.stopped);
      await removeDeliveredEvents(ctx, () => loop.stopped);
    },
    async () => {},
    (error) => ctx.log.error("deleting data past its retention failed", { error }),
  );
  return loop;
}

async function removeOldRecordings(ctx: AppContext): Promise<void> {
  const days = ctx.config.recording.retention_days;
  if (days === 0) return;
  try {
    const removed = await ctx.recordings.removeBefore(ctx.now() - days * DAY_MS);
    if (removed) ctx.log.info("deleted recordings past their retention", { removed, retention_days: days });
  } catch (e) {
    ctx.log.error("deleting old recordings failed", { error: e });
  }
}

interface Batches {
  deleted: number;
  longestMs: number;
}

/** Runs `batch` (one short transaction each) until one deletes less than `size`, or the worker stops. */
async function inBatches(size: number, batch: () => Promise<number>, stopped: () => boolean): Promise<Batches> {
  const done: Batches = { deleted: 0, longestMs: 0 };
  for (;;) {
    const started = performance.now();
    const deleted = await batch();
    done.longestMs = Math.max(done.longestMs, performance.now() - started);
    done.deleted += deleted;
    if (deleted < size || stopped()) return done;
    await Bun.sleep(BATCH_PAUSE_MS);
  }
}

async function removeOldCalls(ctx: AppContext, stopped: () => boolean): Promise<void> {
  const days = ctx.config.retention.calls_days;
  if (days === 0) return;
  const before = ctx.now() - days * DAY_MS;
  const done = await inBatches(
    CALL_BATCH,
    async () => (await ctx.store.deleteEndedCalls(before, CALL_BATCH)).length,
    stopped,
  );
  // A storage that fails now leaves these recordings to the next run, which finds their calls gone all the same.
  const recordings = await removeRecordingsOfGoneCalls(ctx, before).catch((error) => {
    ctx.log.error("deleting the recordings of deleted calls failed", { error });
    return 0;
  });
  if (done.deleted || recordings) {
    ctx.log.info("deleted calls past their retention", {
      removed: done.deleted,
      recordings,
      retention_days: days,
      longest_batch_ms: Math.round(done.longestMs),
    });
  }
}

/**
 * A recording on local disk is on the instance that bridged its call, which need not be the one that deleted
 * the call: each instance removes its own recordings whose call is gone (with shared storage, any instance
 * removes any). A recording is last written when its call ends, so only those older than the cutoff can
 * belong to a deleted call.
 */
async function removeRecordingsOfGoneCalls(ctx: AppContext, before: number): Promise<number> {
  let removed = 0;
  for (const id of await ctx.recordings.writtenBefore(before)) {
    if ((await ctx.store.getCall(id)) === null && (await ctx.recordings.remove(id))) removed++;
  }
  return removed;
}

async function removeDeliveredEvents(ctx: AppContext, stopped: () => boolean): Promise<void> {
  const days = ctx.config.events.keep_days;
  if (days === 0) return;
  const before = ctx.now() - days * DAY_MS;
  const done = await inBatches(EVENT_BATCH, () => ctx.store.deleteDelivered(before, EVENT_BATCH), stopped);
  if (done.deleted) {
    ctx.log.info("deleted delivered events past their retention", {
      removed: done.deleted,
      keep_days: days,
      longest_batch_ms: Math.round(done.longestMs),
    });
  }
}
