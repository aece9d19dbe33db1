// Checking a report's facts runs the caller's patterns, and JavaScript cannot interrupt a regular expression:
// `^(?:[^g]*[^g]*)+@` compiles and then backtracks for about a second per value before the engine gives up.
// So facts are checked on a worker thread (facts-worker.ts), one job at a time, each within a time bound; a job
// past it ends the worker (the next job starts another) and is answered with a problem. No schema can hold the
// event loop, and a hostile one costs at most a bound's worth of the worker's core per check.
type Json = Record<string, unknown>;

export interface FactsJob {
  id: number;
  schema: Json;
  facts: unknown;
}
export interface FactsResult {
  id: number;
  problem: string | null;
}

/** The first way facts break the schema, worded as `factsProblem` words it, or null when they fit. */
export type FactsCheck = (schema: Json, facts: unknown) => Promise<string | null>;

export interface FactsChecker {
  check: FactsCheck;
  /** Ends the worker; checks still waiting are answered with a problem. */
  close(): void;
}

/** Ample for any honest schema: a hundred properties with plain patterns check in a few milliseconds. */
export const FACTS_CHECK_TIMEOUT_MS = 2_000;
// From source the worker is beside this module. In the compiled binary it is an entry point of its own (see
// package.json's build), kept at its path under src/, while this module sits in a chunk at the binary's root.
const WORKER_URL = new URL(
  import.meta.url.includes("/$bunfs/") ? "./model/facts-worker.ts" : "./facts-worker.ts",
  import.meta.url,
);

interface Pending extends FactsJob {
  resolve(problem: string | null): void;
}

export function createFactsChecker(timeoutMs = FACTS_CHECK_TIMEOUT_MS): FactsChecker {
  const queue: Pending[] = [];
  let worker: Worker | null = null;
  let running: { job: Pending; timer: Timer } | null = null;
  let nextId = 0;

  const stopWorker = () => {
    worker?.terminate();
    worker = null;
  };
  const finish = (id: number, problem: string | null) => {
    if (running?.job.id !== id) return;
    clearTimeout(running.timer);
    const { job } = running;
    running = null;
    job.resolve(problem);
    next();
  };
  const fail = (job: Pending, why: string) => {
    stopWorker();
    finish(job.id, `'report_schema' cannot be checked: ${why}`);
  };
  const startWorker = () => {
    const started = new Worker(WORKER_URL);
    // An idle checker must not keep the process alive; a job in flight has its timer for that.
    started.unref();
    started.onmessage = (event: MessageEvent<FactsResult>) => finish(event.data.id, event.data.problem);
    started.onerror = (event) => running && fail(running.job, event.message || "the checking thread failed");
    return started;
  };
  const next = () => {
    const job = running ? undefined : queue.shift();
    if (!job) return;
    worker ??= startWorker();
    const timer = setTimeout(() => fail(job, `checking took longer than ${timeoutMs} ms`), timeoutMs);
    running = { job, timer };
    worker.postMessage({ id: job.id, schema: job.schema, facts: job.facts } satisfies FactsJob);
  };

  return {
    check: (schema, facts) =>
      new Promise((resolve) => {
        queue.push({ id: ++nextId, schema, facts, resolve });
        next();
      }),
    close() {
      for (const job of queue.splice(0)) job.resolve("'report_schema' cannot be checked: the server is stopping");
      if (running) fail(running.job, "the server is stopping");
      stopWorker();
    },
  };
}
