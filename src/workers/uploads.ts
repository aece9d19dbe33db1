// Recordings bound for shared storage whose upload failed (the store down, a crash mid-upload) stay on this
// instance's disk until it has them: tried again at start and every minute. Served copies idle for long are
// dropped on the same round. With local storage there is nothing to do.
import type { AppContext } from "../app.ts";
import { type Worker, workerLoop } from "./loop.ts";

const RETRY_MS = 60_000;

export function startRecordingUploads(ctx: AppContext): Worker {
  return workerLoop(
    RETRY_MS,
    async () => {
      const { stored, waiting, error } = await ctx.recordings.flush();
      if (stored) ctx.log.info("stored recordings that were waiting on disk", { stored });
      if (waiting) {
        const code = (error as { code?: unknown } | undefined)?.code;
        ctx.log.warn("recordings wait on disk for the storage; tried again in a minute", { waiting, error, code });
      }
    },
    // A stop waits for the uploads under way: on a disk that goes with the container, they are the only copy.
    () => ctx.recordings.settle(),
    (error) => ctx.log.error("storing waiting recordings failed", { error }),
  );
}
