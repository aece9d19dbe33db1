#!/usr/bin/env bun
// The entry point. `agenticai --version` alone is answered before anything else is loaded: scripts and
// orchestrators run it to check a binary, and it should cost what an empty binary costs (bench/RESULTS.md).
import { writeLine } from "./log.ts";
import { VERSION } from "./version.ts";

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) writeLine(VERSION);
else await (await import("./cli/run.ts")).runCli(argv);
