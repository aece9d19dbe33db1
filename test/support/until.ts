/** A value that passes `if (value)`. */
export type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/**
 * Polls `fn` every `everyMs` until it returns something truthy, and returns that; throws after `timeoutMs`. A poll
 * that is a request against the server's rate limit waits longer between tries.
 */
export async function until<T>(
  fn: () => T | Promise<T>,
  what = "the condition",
  timeoutMs = 5_000,
  everyMs = 10,
): Promise<Truthy<Awaited<T>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as Truthy<Awaited<T>>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}
