// What the caller has actually heard. Audio reaches Twilio faster than real time and sits in its
// buffer; a mark sent behind each chunk comes back when that chunk has played. A `clear` makes Twilio
// echo every pending mark at once, so marks carry a generation and echoes from a cleared one are ignored.

interface Item {
  itemId: string;
  responseId: string;
  sentMs: number;
  /** Audio of this item known to have played, and when that was learned. */
  heardMs: number;
  heardAt: number | null;
}

export interface Playback {
  generation: number;
  seq: number;
  pending: Map<string, { itemId: string; endMs: number }>;
  current: Item | null;
  discarded: Set<string>;
}

export interface Interruption {
  itemId: string;
  responseId: string;
  audioEndMs: number;
}

export function createPlayback(): Playback {
  return { generation: 0, seq: 0, pending: new Map(), current: null, discarded: new Set() };
}

/** Records `bytes` of μ-law (8 per ms) sent for an item and returns the name of the mark to send behind it. */
export function audioSent(p: Playback, responseId: string, itemId: string, bytes: number, now: number): string {
  if (p.current?.itemId !== itemId) {
    // With nothing queued, playback of the new item starts about now; otherwise when the queue drains.
    p.current = { itemId, responseId, sentMs: 0, heardMs: 0, heardAt: p.pending.size === 0 ? now : null };
  }
  p.current.sentMs += bytes / 8;
  const name = `g${p.generation}.${++p.seq}`;
  p.pending.set(name, { itemId, endMs: p.current.sentMs });
  return name;
}

/** Applies an echoed mark; returns false for marks of a cleared generation or unknown names. */
export function markPlayed(p: Playback, name: string, now: number): boolean {
  const mark = p.pending.get(name);
  if (!mark) return false;
  p.pending.delete(name);
  const item = p.current;
  if (!item) return true;
  if (item.itemId === mark.itemId) {
    item.heardMs = Math.max(item.heardMs, mark.endMs);
    item.heardAt = now;
  } else if (item.heardAt === null && ![...p.pending.values()].some((m) => m.itemId !== item.itemId)) {
    // The last of an older item has played: the current one starts now.
    item.heardAt = now;
  }
  return true;
}

export function isPlaying(p: Playback): boolean {
  return p.pending.size > 0;
}

/** Milliseconds of the current item heard so far: the last echo plus the time since, capped at what was sent. */
export function heardMs(p: Playback, now: number): number {
  const item = p.current;
  if (!item || item.heardAt === null) return 0;
  const estimate = p.pending.size > 0 ? item.heardMs + (now - item.heardAt) : item.sentMs;
  return Math.max(0, Math.min(item.sentMs, Math.floor(estimate)));
}

/** The caller spoke over the agent: forget queued audio, drop the rest of the response, say where to cut. */
export function interrupt(p: Playback, now: number): Interruption | null {
  const item = p.current;
  if (!item || !isPlaying(p)) return null;
  const cut = { itemId: item.itemId, responseId: item.responseId, audioEndMs: heardMs(p, now) };
  p.generation++;
  p.pending.clear();
  p.discarded.add(item.responseId);
  p.current = null;
  return cut;
}
