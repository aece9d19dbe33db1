// Which calls changed, announced in-process, so live views (the console's SSE stream) learn of a change
// without polling the database.
import { detached } from "../runtime/detached.ts";
import type { Store } from "./store.ts";

export type ChangeListener = (callId: string) => void;

export interface ChangeFeed {
  /** Returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void;
  publish(callId: string): void;
}

export function createChangeFeed(onListenerError: (error: unknown) => void = () => {}): ChangeFeed {
  const listeners = new Set<ChangeListener>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    // Detached: a listener's later read must wait for the write's transaction to commit, not run inside it.
    publish: detached((callId: string) => {
      // Publishing happens inside store writes: a failing viewer must never fail the call's own write.
      for (const listener of listeners) {
        try {
          listener(callId);
        } catch (e) {
          onListenerError(e);
        }
      }
    }),
  };
}

/**
 * The store, announcing each write that changes what a call looks like. Wrapping the store is the one
 * place this happens, so no code path that writes a call can forget to announce it. Listeners are told
 * after the write returns; they should read later (not synchronously), since reading flushes the
 * batched turn and metrics writes that upsertTurn and saveMetrics only queue.
 */
export function announcingStore(store: Store, feed: ChangeFeed): Store {
  return {
    ...store,
    // Announced once committed: a listener reads on another connection, and must find the change there.
    async insertCall(call, at) {
      const row = await store.insertCall(call, at);
      store.afterCommit(() => feed.publish(row.id));
      return row;
    },
    async updateCall(id, patch, at) {
      const row = await store.updateCall(id, patch, at);
      store.afterCommit(() => feed.publish(id));
      return row;
    },
    upsertTurn(turn, events) {
      store.upsertTurn(turn, events);
      feed.publish(turn.call_id);
    },
    saveMetrics(id, metrics, at) {
      store.saveMetrics(id, metrics, at);
      feed.publish(id);
    },
  };
}
