// Deleting recordings past recording.retention_days: once at start, then hourly, from the files themselves,
// so a retention shortened in config applies to recordings made before the change.
import type { AppContext } from "../app.ts";
import { removeRecordingsBefore } from "../recording/files.ts";
import { type Worker, workerLoop } from "./loop.ts";

const CHECK_MS = 3_600_000;
const DAY_MS = 86_400_000;

export function startRetention(ctx: AppContext): Worker {
  const days = ctx.config.recording.retention_days;
  const pump = () => {
    if (days === 0) return;
    try {
      const removed = removeRecordingsBefore(ctx.config.server.data_dir, ctx.now() - days * DAY_MS);
      if (removed) ctx.log.info("deleted recordings past their retention", { removed, retention_days: days });
    } catch (e) {
      ctx.log.error("deleting old recordings failed", { error: e });
    }
  };
  return workerLoop(CHECK_MS, pump, async () => {});
}
