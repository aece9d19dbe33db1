// Shared repeating timers: everyone who asks for the same period shares one interval. Every live call
// watches its line for silence four times a second; with an interval per call, 500 calls woke the event
// loop 2 000 times a second, where one interval for all of them wakes it 4 times (bench/RESULTS.md).

export interface Ticks {
  /** Calls `fn` every `ms` until the returned function is called; the interval stops when no one is left. */
  every(ms: number, fn: () => void): () => void;
}

interface Group {
  fns: Set<() => void>;
  timer: ReturnType<typeof setInterval>;
}

/** Runs every function of a tick even when one throws; the first error is thrown after, as its own interval would. */
function runAll(fns: Set<() => void>): void {
  let failure: { error: unknown } | null = null;
  for (const fn of fns) {
    try {
      fn();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}

export function createTicks(): Ticks {
  const groups = new Map<number, Group>();
  return {
    every(ms, fn) {
      let group = groups.get(ms);
      if (!group) {
        const fns = new Set<() => void>();
        group = { fns, timer: setInterval(() => runAll(fns), ms) };
        groups.set(ms, group);
      }
      // Wrapped, so the same function added twice is two subscriptions, each removed by its own call.
      const entry = () => fn();
      group.fns.add(entry);
      const own = group;
      return () => {
        if (!own.fns.delete(entry) || own.fns.size > 0) return;
        clearInterval(own.timer);
        if (groups.get(ms) === own) groups.delete(ms);
      };
    },
  };
}
