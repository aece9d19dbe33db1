// Node's modules that a server's start does without, loaded on first use rather than at import: in a compiled binary
// the first load of each costs the start before it can listen (node:fs 1.0–1.4 ms, node:async_hooks 0.45–0.9,
// node:os 0.3, node:path 0.2; bench/RESULTS.md). What a start must read it reads without them (runtime/read-now.ts);
// these are for what Bun's API lacks (mkdir with a mode, chmod, open with flags, async contexts) and for what only
// some starts need.
export const nodeFs = (): typeof import("node:fs") => require("node:fs");
export const nodePath = (): typeof import("node:path") => require("node:path");
export const nodeOs = (): typeof import("node:os") => require("node:os");
export const asyncHooks = (): typeof import("node:async_hooks") => require("node:async_hooks");
