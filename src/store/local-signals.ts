// notify and listen within one process: what SQLite, which serves one instance, gives for the store's signals.
// Delivered as PostgreSQL delivers them: later, never inside the sender's call, once its transaction commits.
import { detached } from "../runtime/detached.ts";
import { MAX_NOTIFY_BYTES, type Store } from "./store.ts";

type Listener = (payload: string) => void;

export function localSignals(afterCommit: (fn: () => void) => void): Pick<Store, "notify" | "listen"> {
  const channels = new Map<string, Set<Listener>>();
  const deliver = detached((channel: string, payload: string) => {
    setTimeout(() => {
      for (const listener of channels.get(channel) ?? []) listener(payload);
    }, 0);
  });
  return {
    async notify(channel, payload) {
      if (Buffer.byteLength(payload) > MAX_NOTIFY_BYTES)
        throw new Error(`notify: payload over ${MAX_NOTIFY_BYTES} bytes`);
      afterCommit(() => deliver(channel, payload));
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
