// The command line: finds the command, parses its options, reads .env and runs it.
import { type Env, mergeDotenv, parseDotenv } from "../config/env.ts";
import { ConfigError } from "../config/error.ts";
import { writeLine } from "../log.ts";
import { readText } from "../runtime/read-now.ts";
import { VERSION } from "../version.ts";
import { findCommand, MAIN_USAGE, OPTIONS, type Values } from "./commands.ts";
import { EXIT_USAGE, fail } from "./exit.ts";

/** The process environment and ./.env, read without node:fs, which costs a cold start ~1 ms (runtime/read-now.ts). */
async function readEnv(): Promise<Env> {
  const env: Env = { ...process.env };
  const text = await readText(".env");
  return text === null ? env : mergeDotenv(env, parseDotenv(text));
}

async function parseOptions(args: string[], usageError: (message: string) => never) {
  // Nothing to parse (the server's usual start): node:util, ~1.5 ms of a start, is not loaded.
  if (args.length === 0) return { values: {} as Values, positionals: [] };
  const { parseArgs } = await import("node:util");
  try {
    return parseArgs({ args, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    return usageError((e as Error).message);
  }
}

export async function runCli(argv: string[]): Promise<void> {
  const name = argv[0] && !argv[0].startsWith("-") ? argv[0] : "server";
  const rest = name === argv[0] ? argv.slice(1) : argv;
  const command = findCommand(name) ?? fail(`unknown command '${name}'\n\n${MAIN_USAGE}`, EXIT_USAGE);
  const usageError = (message: string): never => fail(`${message}\n\n${command.usage}`, EXIT_USAGE);

  const { values, positionals } = await parseOptions(rest, usageError);
  if (values.version) return writeLine(VERSION);
  // Bare `--help` (and `server --help`) shows the command list too, since server is what runs by default.
  if (values.help)
    return writeLine(
      argv.length && name !== "server" ? command.usage : `${MAIN_USAGE}\n\n${findCommand("server")!.usage}`,
    );

  try {
    await command.run({ values, positionals, env: await readEnv(), usageError });
  } catch (e) {
    // A setting found unworkable only once a command uses it (a data dir it cannot write) is still a config error.
    if (e instanceof ConfigError) fail(e.message, EXIT_USAGE);
    throw e;
  }
}
