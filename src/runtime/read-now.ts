// The small files a server reads before it listens (.env, the config, its record of the last check), read on the
// event loop's own thread. Bun.file's reads run on Bun's thread pool: each is a round trip the start waits out, and
// the start made three in a row (bench/RESULTS.md). node:fs would read them in place too, but its first load costs a
// start more than the round trips (runtime/node-modules.ts).

const utf8 = new TextDecoder();

/**
 * The file's text, decoded as Bun.file(path).text() decodes it (a BOM dropped, bytes that are not UTF-8 replaced);
 * null when there is no such file; undefined when it cannot be read this way (a pipe, a directory, a file this user may
 * not read), for the caller to read it as it otherwise would and get that way's answer or error. An empty file cannot
 * be mapped either (EINVAL, as for a pipe): its size, read now, says 0 where a pipe's says Infinity. (So does a file
 * the kernel makes up as it is read, in /proc or /sys; no config is kept there.)
 *
 * The mapping is private and decoded at once. A file cut short by another process between the two would end the
 * process (SIGBUS); it is read once, at start, where a config rewritten mid-read is as wrong read either way.
 */
export function readTextNow(path: string): string | null | undefined {
  try {
    return utf8.decode(Bun.mmap(path, { shared: false }));
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT") return null;
    return code === "EINVAL" && Bun.file(path).size === 0 ? "" : undefined;
  }
}

/** The file's text, null when there is none: read now if it can be, else by Bun.file (whose errors it throws). */
export async function readText(path: string): Promise<string | null> {
  const text = readTextNow(path);
  return text === undefined ? Bun.file(path).text() : text;
}
