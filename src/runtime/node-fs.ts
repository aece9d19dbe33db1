// node:fs, loaded on first use rather than at start-up: its first load costs a compiled binary ~1 ms (bench/RESULTS.md),
// and a restart whose files are in place needs none of it before it listens. What a start must read it reads with
// Bun.file; node:fs is for what Bun's API lacks (mkdir with a mode, chmod, open with flags) and for sync readers.
export const nodeFs = (): typeof import("node:fs") => require("node:fs");
