// The shape of the background workers that work from the database: a pump run every poll and whenever
// something is signalled; stopping ends the polling, then waits for the work in flight to settle.

export interface Worker {
  /** Look now rather than at the next poll. */
  wake(): void;
  stop(): Promise<void>;
}

export interface WorkerLoop extends Worker {
  /** True once stop was called: a pump does nothing more, and work in flight may leave its result unstored. */
  readonly stopped: boolean;
}

/** Where a pump's failure goes when its worker names no better place: it must not go unhandled. */
const toStderr = (error: unknown) => console.error("agenticai: a background worker failed", error);

/**
 * Runs `pump` now, every `pollMs`, and on each wake, until stopped; `settle` is what a stop waits for. One
 * pump runs at a time (a wake while one runs runs another after it), and a pump that fails is `failed`.
 */
export function workerLoop(
  pollMs: number,
  pump: () => void | Promise<void>,
  settle: () => Promise<unknown>,
  failed: (error: unknown) => void = toStderr,
): WorkerLoop {
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  const run = () => {
    if (stopped) return;
    if (running !== null) {
      again = true;
      return;
    }
    running = Promise.try(pump)
      .catch(failed)
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const timer = setInterval(run, pollMs);
  setTimeout(run, 0);
  return {
    get stopped() {
      return stopped;
    },
    wake: () => setTimeout(run, 0),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await settle();
    },
  };
}
