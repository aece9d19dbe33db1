// Turn and transcript bookkeeping: when each side's turn began, its transcript row, and the latency
// from the caller falling silent to the agent's first audio.
import type { TurnRow } from "../store/store.ts";
import { type CallMetrics, sumMetrics } from "./metrics.ts";

/** What the bridge stores (batched, never awaited on the audio path), and reads back to resume a conversation. */
export interface BridgeStore {
  upsertTurn(turn: TurnRow): void;
  saveMetrics(callId: string, metrics: string, at: number): void;
  saveLineState(callId: string, state: string, at: number): void;
  transcript(callId: string): Promise<TurnRow[]>;
}

export interface Turns {
  callerStarted(itemId: string): void;
  callerStopped(): void;
  callerTranscript(itemId: string, text: string | null): void;
  /** Agent audio is about to leave: it ends a pending latency measurement. */
  agentAudio(now: number): void;
  /** The first audio of an agent item: its turn begins. */
  agentItemStarted(itemId: string): void;
  agentTranscript(itemId: string, text: string): void;
  agentInterrupted(itemId: string): void;
  saveMetrics(): void;
}

/** `before`: the metrics of the call's earlier bridges (its stream dropped and this one took over), summed in. */
export function createTurns(
  store: BridgeStore,
  callId: string,
  metrics: CallMetrics,
  before: CallMetrics | null = null,
): Turns {
  // When each turn began, until its row holds it: a long call must not keep every turn's entry.
  const callerStartedAt = new Map<string, number>();
  const agentStartedAt = new Map<string, number>();
  let speechStoppedAt: number | null = null;
  let awaitingFirstAudio = false;

  const saveMetrics = () =>
    store.saveMetrics(callId, JSON.stringify(before ? sumMetrics(before, metrics) : metrics), Date.now());
  const save = (role: TurnRow["role"], starts: Map<string, number>, itemId: string, text: string, interrupted = 0) => {
    store.upsertTurn({
      call_id: callId,
      role,
      item_id: itemId,
      text,
      started_at: starts.get(itemId) ?? Date.now(),
      interrupted,
    });
    // The row holds the start now; a later upsert for the same item keeps the earlier time.
    starts.delete(itemId);
  };

  return {
    callerStarted: (itemId) => callerStartedAt.set(itemId, Date.now()),
    callerStopped() {
      speechStoppedAt = performance.now();
      awaitingFirstAudio = true;
    },
    callerTranscript(itemId, text) {
      // Music, or a noise the transcriber heard nothing in, is no turn of the conversation.
      if (text === null || text.trim() === "") callerStartedAt.delete(itemId);
      else save("caller", callerStartedAt, itemId, text);
    },
    agentAudio(now) {
      if (!awaitingFirstAudio || speechStoppedAt === null) return;
      metrics.turn_latency_ms.push(Math.round(now - speechStoppedAt));
      awaitingFirstAudio = false;
      saveMetrics();
    },
    agentItemStarted(itemId) {
      if (!agentStartedAt.has(itemId)) agentStartedAt.set(itemId, Date.now());
    },
    agentTranscript: (itemId, text) => save("agent", agentStartedAt, itemId, text),
    agentInterrupted: (itemId) => save("agent", agentStartedAt, itemId, "", 1),
    saveMetrics,
  };
}
