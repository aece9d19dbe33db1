// wait_for_call: follows one call until it has ended and its report is stored, woken by the store's change
// feed rather than by polling, and tells the client what changed meanwhile (its progress notifications).
import type { CallDetail } from "../calls/view.ts";

/** A call changes many times a second while people talk; one read per window is enough to follow it. */
const COALESCE_MS = 250;
/**
 * The change feed announces this process's writes only: with several instances on one database, another one may
 * dial the call or make its report. A read this often catches those.
 */
const RECHECK_MS = 5_000;

export interface WaitOptions {
  /** The call as it is now; throws when there is no such call. */
  read(): Promise<CallDetail>;
  /** Calls `changed` whenever the store writes this call; returns the unsubscribe function. */
  follow(changed: () => void): () => void;
  timeoutMs: number;
  /** Aborted when the client goes away: the wait ends, the call goes on. */
  signal: AbortSignal;
  /** Told each status change and each finished transcript line, when the client asked for progress. */
  progress?: (message: string) => void;
}

/** Ended, and its report stored: what the client waits for. */
const finished = (call: CallDetail) => call.ended_at !== null && call.report !== null;

const SPEAKERS: Record<CallDetail["transcript"][number]["role"], string> = {
  agent: "Agent",
  caller: "Caller",
  consult_question: "Agent to the owner's assistant",
  consult_answer: "Owner's assistant",
};

/** What changed between two reads: the new status, and the turns that have their text now. */
function tracker(progress: ((message: string) => void) | undefined) {
  let status: string | null = null;
  const told = new Set<string>();
  return (call: CallDetail, initial: boolean) => {
    if (!progress) return;
    if (call.status !== status) progress(`status: ${call.status}`);
    status = call.status;
    for (const turn of call.transcript) {
      const key = `${turn.role} ${turn.at}`;
      if (!turn.text || told.has(key)) continue;
      told.add(key);
      // The lines said before the wait began are in get_call's transcript; the wait reports what comes after.
      if (!initial) progress(`${SPEAKERS[turn.role]}: ${turn.text}`);
    }
  };
}

/** Resolves after `ms`, when `wake` is called, or when the signal aborts, whichever comes first. */
function pause(ms: number, signal: AbortSignal): { done: Promise<void>; wake: () => void } {
  let wake = () => {};
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      resolve();
    }
    wake = finish;
    signal.addEventListener("abort", finish, { once: true });
  });
  return { done, wake };
}

/** The call once it has finished, or as it is when the time is up or the client has gone. */
export async function waitForCall(opts: WaitOptions): Promise<{ call: CallDetail; timedOut: boolean }> {
  const deadline = Date.now() + opts.timeoutMs;
  const report = tracker(opts.progress);
  let changed = false;
  let current: ReturnType<typeof pause> | null = null;
  const unsubscribe = opts.follow(() => {
    changed = true;
    current?.wake();
  });
  try {
    let call = await opts.read();
    report(call, true);
    while (!finished(call)) {
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal.aborted) return { call, timedOut: true };
      if (!changed) {
        current = pause(Math.min(left, RECHECK_MS), opts.signal);
        await current.done;
        current = null;
      }
      // A burst of writes (a turn, its metrics, a status) is read once, a moment after it began.
      if (changed) await pause(COALESCE_MS, opts.signal).done;
      changed = false;
      call = await opts.read();
      report(call, false);
    }
    return { call, timedOut: false };
  } finally {
    unsubscribe();
  }
}
