// Audio that cannot be sent yet waits here: before the other side is ready, and while its socket is
// backed up. Stale audio is worth less than fresh, so past the limit the oldest goes first.
import type { Config } from "../config/schema.ts";

export const FRAME_MS = 20;

export interface AudioLimits {
  pcm: boolean;
  /** Bytes a socket may hold before audio waits in our own queue instead. */
  socketBytes: number;
  /** What our queues hold at most: caller frames, and agent μ-law bytes (8 per ms). */
  queuedFrames: number;
  queuedBytes: number;
}

export function audioLimits(audio: Config["audio"]): AudioLimits {
  const pcm = audio.format === "pcm";
  // μ-law is 8 B/ms; base64 and JSON add ~1.4×, and pcm at 24 kHz is 6× more.
  return {
    pcm,
    socketBytes: audio.max_buffered_ms * 8 * 1.5 * (pcm ? 6 : 1),
    queuedFrames: Math.ceil(audio.max_buffered_ms / FRAME_MS),
    queuedBytes: audio.max_buffered_ms * 8,
  };
}

export interface AudioQueueOptions<T> {
  /** Most the queue may hold, in the units `cost` counts. */
  limit: number;
  cost(item: T): number;
  /** The socket is open, ready, and not backed up. */
  writable(): boolean;
  send(item: T): void;
  onDrop(item: T): void;
}

export interface AudioQueue<T> {
  /** Sends at once when nothing is waiting and the socket can take it; queues otherwise. */
  push(item: T): void;
  /** Sends what the socket can take now. */
  flush(): void;
  clear(): void;
  /** How many items wait. */
  size(): number;
}

export function createAudioQueue<T>(opts: AudioQueueOptions<T>): AudioQueue<T> {
  const items: T[] = [];
  let held = 0;
  const flush = () => {
    while (items.length && opts.writable()) {
      const item = items.shift()!;
      held -= opts.cost(item);
      opts.send(item);
    }
  };
  return {
    push(item) {
      if (items.length === 0 && opts.writable()) return opts.send(item);
      items.push(item);
      held += opts.cost(item);
      while (held > opts.limit) {
        const dropped = items.shift()!;
        held -= opts.cost(dropped);
        opts.onDrop(dropped);
      }
      flush();
    },
    flush,
    clear() {
      items.length = 0;
      held = 0;
    },
    size: () => items.length,
  };
}
