// Work that follows a change without being part of it. A store transaction marks the async context of its
// function (AsyncLocalStorage), and timers and promises started there inherit the mark: a worker woken from
// inside one would run its queries in that transaction while it is open, and could act on what it then rolls
// back. Wake-ups and change announcements go through here instead, from the context of no request at all.
import { AsyncResource } from "node:async_hooks";

/** Made at start-up, outside any request or transaction. */
const root = new AsyncResource("agenticai.detached");

/** `fn`, run in the root async context whoever calls it: what it starts belongs to no caller's transaction. */
export const detached =
  <A extends unknown[]>(fn: (...args: A) => void) =>
  (...args: A): void =>
    root.runInAsyncScope(fn, null, ...args);
