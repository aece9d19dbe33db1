// The shape of the background workers that work from the database: a pump run every poll and whenever
// something is signalled, which the worker's stop waits out in its own way.

export interface Worker {
  /** Look now rather than at the next poll. */
  wake(): void;
  stop(): Promise<void>;
}

/** Runs `pump` now, every `pollMs`, and on each wake; `stop` ends the polling. */
export function polling(pollMs: number, pump: () => void): { wake(): void; stop(): void } {
  const timer = setInterval(pump, pollMs);
  setTimeout(pump, 0);
  return { wake: () => setTimeout(pump, 0), stop: () => clearInterval(timer) };
}
