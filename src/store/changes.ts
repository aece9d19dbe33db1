// Which calls changed, announced in-process, so live views (the console's SSE stream) learn of a change
// without polling the database; sharing a database, the other instances' changes come in too (shared-changes.ts).
import { detached } from "../runtime/detached.ts";
import type { Store } from "./store.ts";

export type ChangeListener = (callId: string) => void;

export interface ChangeFeed {
  /** `onResync`: changes may have been missed (see resync). Returns the unsubscribe function. */
  subscribe(listener: ChangeListener, onResync?: () => void): () => void;
  /** A change this process made: told to the listeners, and handed to the forwarder. */
  publish(callId: string): void;
  /** A change another instance made: told to the listeners only. */
  receive(callId: string): void;
  /** Changes made elsewhere may have been missed (the link to the others dropped): listeners read everything again. */
  resync(): void;
  /** Where this process's changes go besides its listeners (the other instances); null stops it. */
  forward(to: ChangeListener | null): void;
}

export function createChangeFeed(onListenerError: (error: unknown) => void = () => {}): ChangeFeed {
  const listeners = new Map<ChangeListener, (() => void) | undefined>();
  let forwarder: ChangeListener | null = null;
  // Publishing happens inside store writes: a failing viewer must never fail the call's own write.
  const guarded = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      onListenerError(e);
    }
  };
  // Detached: a listener's later read must wait for the write's transaction to commit, not run inside it.
  const tell = detached((callId: string) => {
    for (const listener of listeners.keys()) guarded(() => listener(callId));
  });
  return {
    subscribe(listener, onResync) {
      listeners.set(listener, onResync);
      return () => listeners.delete(listener);
    },
    publish: detached((callId: string) => {
      tell(callId);
      if (forwarder) guarded(() => forwarder!(callId));
    }),
    receive: tell,
    resync: detached(() => {
      for (const onResync of listeners.values()) if (onResync) guarded(onResync);
    }),
    forward(to) {
      forwarder = to;
    },
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
