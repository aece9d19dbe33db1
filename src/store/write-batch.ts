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
  const pending = {
    turns: [] as TurnRow[],
    events: [] as NewOutboxRow[],
    metrics: new Map<string, Batch["metrics"][number][1]>(),
    lines: new Map<string, Batch["lines"][number][1]>(),
  };
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
  const take = (): Batch => {
    const batch = {
      turns: pending.turns.splice(0),
      events: pending.events.splice(0),
      metrics: [...pending.metrics],
      lines: [...pending.lines],
    };
    pending.metrics.clear();
    pending.lines.clear();
    return batch;
  };
  const succeeded = (written: number) => {
    if (failing) sink.current.recovered(written);
    failing = false;
  };
  const failed = (batch: Batch, error: unknown) => {
    pending.turns.unshift(...batch.turns);
    pending.events.unshift(...batch.events);
    // Newer metrics, saved since, win.
    for (const [id, m] of batch.metrics) if (!pending.metrics.has(id)) pending.metrics.set(id, m);
    for (const [id, l] of batch.lines) if (!pending.lines.has(id)) pending.lines.set(id, l);
    if (!failing) sink.current.failed(error, pending.turns.length + pending.metrics.size + pending.lines.size);
    failing = true;
    schedule(RETRY_MS);
  };
  const flush = (): void | Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    // One commit at a time, so batches land in the order they were taken.
    if (running) return running.then(flush);
    if (pending.turns.length === 0 && pending.metrics.size === 0 && pending.lines.size === 0) return;
    if (busy()) return schedule();
    const batch = take();
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
  return {
    flush,
    sink,
    // A bridge's last events can arrive after close(), while the process stops: there is nowhere to put them.
    addTurn(turn, events) {
      if (closed) return;
      pending.turns.push(turn);
      if (events) pending.events.push(...events);
      schedule();
    },
    setMetrics(id, metrics, at) {
      if (closed) return;
      pending.metrics.set(id, { metrics, at });
      schedule();
    },
    setLineState(id, state, at) {
      if (closed) return;
      pending.lines.set(id, { state, at });
      schedule();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
