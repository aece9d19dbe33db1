// What the caller has actually heard. Audio reaches Twilio faster than real time and sits in its
// buffer; a mark sent behind each chunk comes back when that chunk has played. A `clear` makes Twilio
// echo every pending mark at once, so marks carry a generation and echoes from a cleared one are ignored.
//
// Twilio plays a stream's audio in order, so marks come back in the order they were sent: the pending
// ones are the numbers after the last echo. Their records live in a reused typed array, because a
// call sends ten marks a second that each live for a chunk's playing time, long enough to outlive
// young-generation collections: as objects they filled the old heap with garbage. One array, each mark's two
// numbers side by side: a delta and an echo each read one array (and one cache line of it), not two.

interface Item {
  itemId: string;
  responseId: string;
  /** Counts items, so a pending mark can say which one it ends without holding its id. */
  serial: number;
  sentMs: number;
  /** Audio of this item known to have played, and when that was learned. */
  heardMs: number;
  heardAt: number | null;
}

export interface Playback {
  generation: number;
  /** Numbers of the last mark sent and the last echoed; marks after `echoed` up to `sent` are pending. */
  sent: number;
  echoed: number;
  /**
   * Per pending mark, at twice its number modulo the capacity: its item's serial, then the item's sent audio (ms) at
   * its end.
   */
  marks: Float64Array;
  items: number;
  current: Item | null;
  discarded: Set<string>;
}

export interface Interruption {
  itemId: string;
  responseId: string;
  audioEndMs: number;
}

const INITIAL_CAPACITY = 64;

export function createPlayback(): Playback {
  return {
    generation: 0,
    sent: 0,
    echoed: 0,
    marks: new Float64Array(INITIAL_CAPACITY * 2),
    items: 0,
    current: null,
    discarded: new Set(),
  };
}

/** Where mark `n`'s item serial is in `marks`; its end (ms) is at the next index. */
const slot = (marks: Float64Array, n: number) => (n % (marks.length >> 1)) << 1;

/** A long reply arrives much faster than it plays, so the pending range can outgrow the array. */
function grow(p: Playback): void {
  const from = p.marks;
  const marks = new Float64Array(from.length * 2);
  for (let n = p.echoed + 1; n <= p.sent; n++) {
    marks[slot(marks, n)] = from[slot(from, n)]!;
    marks[slot(marks, n) + 1] = from[slot(from, n) + 1]!;
  }
  p.marks = marks;
}

/** Records `bytes` of μ-law (8 per ms) sent for an item and returns the name of the mark to send behind it. */
export function audioSent(p: Playback, responseId: string, itemId: string, bytes: number, now: number): string {
  if (p.current?.itemId !== itemId) {
    // With nothing queued, playback of the new item starts about now; otherwise when the queue drains.
    p.current = { itemId, responseId, serial: ++p.items, sentMs: 0, heardMs: 0, heardAt: isPlaying(p) ? null : now };
  }
  p.current.sentMs += bytes / 8;
  if (p.sent - p.echoed >= p.marks.length >> 1) grow(p);
  const n = ++p.sent;
  const at = slot(p.marks, n);
  p.marks[at] = p.current.serial;
  p.marks[at + 1] = p.current.sentMs;
  return `g${p.generation}.${n}`;
}

/** The decimal number in `text` from `from` to `to`, or -1. */
function digits(text: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** The mark number in `name` (`g<generation>.<number>`) if it is pending in the current generation, else 0. */
function pendingMark(p: Playback, name: string): number {
  const dot = name.indexOf(".");
  if (name.charCodeAt(0) !== 103 || digits(name, 1, dot) !== p.generation) return 0;
  const n = digits(name, dot + 1, name.length);
  return n > p.echoed && n <= p.sent ? n : 0;
}

/** Applies an echoed mark; returns false for marks of a cleared generation or unknown names. */
export function markPlayed(p: Playback, name: string, now: number): boolean {
  const n = pendingMark(p, name);
  if (n === 0) return false;
  // In-order playback: every mark before this one has played too.
  p.echoed = n;
  const item = p.current;
  if (!item) return true;
  const at = slot(p.marks, n);
  if (p.marks[at] === item.serial) {
    item.heardMs = Math.max(item.heardMs, p.marks[at + 1]!);
    item.heardAt = now;
  } else if (item.heardAt === null && (!isPlaying(p) || p.marks[slot(p.marks, n + 1)] === item.serial)) {
    // The last of an older item has played: the current one starts now.
    item.heardAt = now;
  }
  return true;
}

export function isPlaying(p: Playback): boolean {
  return p.sent > p.echoed;
}

/** Stops waiting for echoes: the marks still pending are taken as played. */
export function forgetPending(p: Playback): void {
  p.echoed = p.sent;
}

/** Milliseconds of the current item heard so far: the last echo plus the time since, capped at what was sent. */
export function heardMs(p: Playback, now: number): number {
  const item = p.current;
  if (!item || item.heardAt === null) return 0;
  const estimate = isPlaying(p) ? item.heardMs + (now - item.heardAt) : item.sentMs;
  return Math.max(0, Math.min(item.sentMs, Math.floor(estimate)));
}

/** Milliseconds of the agent's audio sent to Twilio that have yet to play (0 when nothing is playing). */
export function unplayedMs(p: Playback, now: number): number {
  const item = p.current;
  return item && isPlaying(p) ? Math.max(0, item.sentMs - heardMs(p, now)) : 0;
}

/**
 * The caller spoke over the agent: forget queued audio, say where to cut, and drop the rest of the
 * response if it is the one still streaming. A finished response sends no more deltas; remembering it
 * would grow the set by one for most barge-ins, since replies arrive faster than they play.
 */
export function interrupt(p: Playback, now: number, streamingResponse: string | null): Interruption | null {
  const item = p.current;
  if (!item || !isPlaying(p)) return null;
  const cut = { itemId: item.itemId, responseId: item.responseId, audioEndMs: heardMs(p, now) };
  p.generation++;
  forgetPending(p);
  if (item.responseId === streamingResponse) p.discarded.add(item.responseId);
  p.current = null;
  return cut;
}
