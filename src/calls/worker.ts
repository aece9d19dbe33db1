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

/** Runs `pump` now, every `pollMs`, and on each wake, until stopped; `settle` is what a stop waits for. */
export function workerLoop(pollMs: number, pump: () => void, settle: () => Promise<unknown>): WorkerLoop {
  let stopped = false;
  const run = () => {
    if (!stopped) pump();
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
      await settle();
    },
  };
}
