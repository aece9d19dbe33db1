// notify and listen within one process: what SQLite, which serves one instance, gives for the store's signals.
// Delivered as PostgreSQL delivers them: later, never inside the sender's call, once its transaction commits.
import type { detached as Detached } from "../runtime/detached.ts";
import { MAX_NOTIFY_BYTES, type Store } from "./store.ts";

type Listener = (payload: string) => void;

export function localSignals(afterCommit: (fn: () => void) => void): Pick<Store, "notify" | "listen"> {
  const channels = new Map<string, Set<Listener>>();
  const send = (channel: string, payload: string) => {
    setTimeout(() => {
      for (const listener of channels.get(channel) ?? []) listener(payload);
    }, 0);
  };
  // Made at the first notify, so opening the store loads no node:async_hooks (~0.5 ms of a cold start). Nothing
  // writes before the app is complete, and app.ts has loaded detached.ts by then (store/changes.ts), outside any
  // transaction, as its root context must be.
  let deliver: ((channel: string, payload: string) => void) | null = null;
  return {
    async notify(channel, payload) {
      if (Buffer.byteLength(payload) > MAX_NOTIFY_BYTES)
        throw new Error(`notify: payload over ${MAX_NOTIFY_BYTES} bytes`);
      deliver ??= (require("../runtime/detached.ts") as { detached: typeof Detached }).detached(send);
      const sendLater = deliver;
      afterCommit(() => sendLater(channel, payload));
    },
    async listen(channel, onNotify, onListen) {
      const listeners = channels.get(channel) ?? new Set<Listener>();
      channels.set(channel, listeners);
      // Its own function, so one callback listening twice is two registrations, as on PostgreSQL.
      const listener: Listener = (payload) => onNotify(payload);
      listeners.add(listener);
      onListen?.();
      return async () => {
        listeners.delete(listener);
      };
    },
  };
}
