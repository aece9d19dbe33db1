// The change feed across the instances that share a PostgreSQL database: what one instance changes, the others'
// live views show (the console's /api/stream, within a second). Each instance gathers the ids of the calls it
// changed for a short window, commits its batched writes (so that the others read them), and sends the ids in one
// NOTIFY; the others tell their listeners. When the listening connection drops, Bun reconnects it and listens
// again; what was sent meanwhile is lost, so the listeners are told to read everything again.
import type { ChangeFeed } from "./changes.ts";
import { MAX_NOTIFY_BYTES, type Store } from "./store.ts";

export const CHANGES_CHANNEL = "agenticai_changes";
/** Changes are gathered this long before they are sent: a call changes several times a second while people talk. */
export const SHARE_WINDOW_MS = 100;
/** Call ids are 36 characters; this many, quoted, with the sender's id, stay well under a NOTIFY's limit. */
const IDS_PER_NOTIFY = Math.floor((MAX_NOTIFY_BYTES - 200) / 40);

interface Changed {
  from: string;
  ids: string[];
}

/** The ids a notification names, unless it is this instance's own (it told its listeners already) or malformed. */
function idsFrom(payload: string, self: string): string[] {
  let message: Partial<Changed>;
  try {
    message = JSON.parse(payload) as Partial<Changed>;
  } catch {
    return [];
  }
  if (message.from === self || !Array.isArray(message.ids)) return [];
  return message.ids.filter((id): id is string => typeof id === "string");
}

/** Shares `feed` with the other instances on `store`'s database until the returned function is called. */
export async function shareChanges(
  store: Store,
  feed: ChangeFeed,
  instanceId: string,
  onError: (error: unknown) => void,
): Promise<() => Promise<void>> {
  const pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const send = async () => {
    timer = null;
    const ids = [...pending];
    pending.clear();
    // The turns and metrics behind these changes may wait in the write batch: the others must find them.
    await store.flush();
    for (let i = 0; i < ids.length; i += IDS_PER_NOTIFY) {
      const message: Changed = { from: instanceId, ids: ids.slice(i, i + IDS_PER_NOTIFY) };
      await store.notify(CHANGES_CHANNEL, JSON.stringify(message));
    }
  };
  feed.forward((id) => {
    pending.add(id);
    timer ??= setTimeout(() => void send().catch(onError), SHARE_WINDOW_MS);
  });
  let listening = false;
  const unlisten = await store.listen(
    CHANGES_CHANNEL,
    (payload) => {
      for (const id of idsFrom(payload, instanceId)) feed.receive(id);
    },
    () => {
      if (listening) feed.resync();
      listening = true;
    },
  );
  return async () => {
    feed.forward(null);
    if (timer) clearTimeout(timer);
    await unlisten();
  };
}
