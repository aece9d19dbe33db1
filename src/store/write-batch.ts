// Each call's bridge writes a transcript row or its metrics a few times a turn. Committed one by one, a few
// hundred calls made hundreds of commits a second (on SQLite, a write-ahead log checkpointed with three fsyncs
// on the event loop every second or two). Batched, they are one commit per BATCH_MS at most, for both stores.
// Every other store method commits the batch first, so reads see it and writes keep their order. A crash
// loses at most the last BATCH_MS of these two.
import type { NewOutboxRow } from "./store.ts";
import { BATCH_MS, type TurnRow, type WriteErrorSink } from "./store.ts";

/** What one commit writes: the turns in order with their events, and each call's latest metrics and line state. */
export interface Batch {
  turns: TurnRow[];
  events: NewOutboxRow[];
  metrics: [string, { metrics: string; at: number }][];
  lines: [string, { state: string; at: number }][];
}

/** Writes a batch in one transaction and says how many rows; throws, having written nothing, on failure. */
export type CommitBatch = (batch: Batch) => number | Promise<number>;

export interface WriteBatch {
  addTurn(turn: TurnRow, events: NewOutboxRow[] | undefined): void;
  setMetrics(id: string, metrics: string, at: number): void;
  setLineState(id: string, state: string, at: number): void;
  /** Commits what is pending; never throws. Synchronous when the store's commit is. */
  flush(): void | Promise<void>;
  /** Where failures are reported: once per run of failures, and once more when a held batch is written. */
  sink: { current: WriteErrorSink };
  /** Nothing more is taken or scheduled; what is pending is left for a last flush. */
  close(): void;
}

/** Until someone listens (startBackground wires the log), batch failures still reach stderr. */
const STDERR_SINK: WriteErrorSink = {
  failed: (error, held) => console.error("agenticai: storing transcript turns and metrics failed", held, error),
  recovered: () => {},
};

/** After a failed commit the batch is retried this often, not every BATCH_MS. */
const RETRY_MS = 1_000;

/**
 * `busy()`: a commit now would land in someone's open transaction (and roll back with it); wait for the next
 * flush. A failed commit (disk full, database down) keeps its rows ahead of what came since and is retried,
 * so a failure is neither a crash nor a lost turn.
 */
export function createWriteBatch(commit: CommitBatch, busy: () => boolean = () => false): WriteBatch {
  const pending = createPending();
  const sink = { current: STDERR_SINK };
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> | null = null;
  let closed = false;
  let failing = false;
  const schedule = (ms = BATCH_MS) => {
    if (timer || closed) return;
    timer = setTimeout(() => void flush(), ms);
    // A last flush commits what is pending; the timer alone must not keep a process alive.
    timer.unref();
  };
  const succeeded = (written: number) => {
    if (failing) sink.current.recovered(written);
    failing = false;
  };
  const failed = (batch: Batch, error: unknown) => {
    pending.putBack(batch);
    if (!failing) sink.current.failed(error, pending.size());
    failing = true;
    schedule(RETRY_MS);
  };
  const flush = (): void | Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    // One commit at a time, so batches land in the order they were taken.
    if (running) return running.then(flush);
    if (pending.size() === 0) return;
    if (busy()) return schedule();
    const batch = pending.take();
    let result: number | Promise<number>;
    try {
      result = commit(batch);
    } catch (e) {
      return failed(batch, e);
    }
    if (typeof result === "number") return succeeded(result);
    running = result
      .then(succeeded, (e) => failed(batch, e))
      .finally(() => {
        running = null;
      });
    return running;
  };
  // A bridge's last events can arrive after close(), while the process stops: there is nowhere to put them.
  const taking = (add: () => void) => {
    if (closed) return;
    add();
    schedule();
  };
  return {
    flush,
    sink,
    addTurn: (turn, events) =>
      taking(() => {
        pending.turns.push(turn);
        if (events) pending.events.push(...events);
      }),
    setMetrics: (id, metrics, at) => taking(() => pending.metrics.set(id, { metrics, at })),
    setLineState: (id, state, at) => taking(() => pending.lines.set(id, { state, at })),
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/** The rows waiting for the next commit: turns and events in order, each call's latest metrics and line state. */
function createPending() {
  const turns: TurnRow[] = [];
  const events: NewOutboxRow[] = [];
  const metrics = new Map<string, Batch["metrics"][number][1]>();
  const lines = new Map<string, Batch["lines"][number][1]>();
  return {
    turns,
    events,
    metrics,
    lines,
    size: () => turns.length + metrics.size + lines.size,
    take(): Batch {
      const batch = { turns: turns.splice(0), events: events.splice(0), metrics: [...metrics], lines: [...lines] };
      metrics.clear();
      lines.clear();
      return batch;
    },
    /** A batch that failed goes back ahead of what came since; newer metrics and line states, saved since, win. */
    putBack(batch: Batch) {
      turns.unshift(...batch.turns);
      events.unshift(...batch.events);
      for (const [id, m] of batch.metrics) if (!metrics.has(id)) metrics.set(id, m);
      for (const [id, l] of batch.lines) if (!lines.has(id)) lines.set(id, l);
    },
  };
}
