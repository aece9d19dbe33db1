// src/cli/ owns the command line: the command table, the server's start and stop, and the client commands.
// It is the top: anything may be imported here, and nothing under src/ imports it.
//
// The command table: every command's name, usage text and behaviour, so adding one touches one entry.
//
// It loads only what every command needs: a command's own modules (the server, the store, the config schema, the
// simulators) are imported when it runs, so `--version`, `--help` and the client commands start as fast as Bun can.
import type { parseArgs } from "node:util";
import type { Env } from "../config/env.ts";
import { createLogger, writeLine } from "../log.ts";
import { DEMO_SCENARIOS } from "../sim/scenarios.ts";
import * as client from "./client.ts";
import { EXIT_USAGE, fail } from "./exit.ts";

/** One option set for every command, so a shared option (--config, --json) means the same everywhere. */
export const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  config: { type: "string", short: "c" },
  json: { type: "boolean" },
  "server-url": { type: "string" },
  to: { type: "string" },
  prompt: { type: "string" },
  "webhook-url": { type: "string" },
  metadata: { type: "string" },
  from: { type: "string" },
  voice: { type: "string" },
  language: { type: "string" },
  "not-before": { type: "string" },
  window: { type: "string" },
  timezone: { type: "string" },
  days: { type: "string" },
  "no-window": { type: "boolean" },
  scheduled: { type: "boolean" },
  simulate: { type: "boolean" },
  speed: { type: "string" },
  scenario: { type: "string" },
  provider: { type: "string" },
  status: { type: "string" },
  url: { type: "string" },
  token: { type: "string" },
} as const;

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

export interface Invocation {
  values: Values;
  positionals: string[];
  env: Env;
  /** Exits 2 with the message followed by the command's usage. */
  usageError: (message: string) => never;
}

export interface Command {
  name: string;
  usage: string;
  run: (inv: Invocation) => Promise<void>;
}

export const MAIN_USAGE = `agenticai — let an AI assistant make and take phone calls (Twilio + OpenAI Realtime)

Usage: agenticai <command> [options]

Commands:
  server             run the server (the default command); --simulate: with a simulated carrier and model
  demo               a whole simulated call, printed as it happens (no accounts needed)
  call --to NUMBER   place an outbound call through a running server
  calls              list active calls (--scheduled: those placed for later)
  show ID            show one call, active or ended, with its status history
  end ID             end a call
  status             health of a running server
  events             list event deliveries (--status failed); events retry ID; events secret (signing key)
  mcp                the MCP tools over stdio, forwarded to a running server (for Claude Desktop and others)

Options everywhere:
  -h, --help         this help, or a command's: agenticai call --help
  -v, --version      print the version

Client commands talk to --server-url (default $AGENTICAI_SERVER_URL or http://127.0.0.1:$PORT|8080)
with the token in $AGENTICAI_API_TOKEN, and print JSON with --json.`;

const defaultServerUrl = (env: Env) => env.AGENTICAI_SERVER_URL || `http://127.0.0.1:${env.PORT || 8080}`;

/**
 * Runs a client command after refusing extra positionals; the server's refusals become exit 1 with its
 * message, while argument mistakes found in `request` stay usage errors (exit 2).
 */
async function viaApi(
  inv: Invocation,
  positionals: number,
  request: (opts: client.ClientOptions) => Promise<void>,
): Promise<void> {
  const { values, env } = inv;
  const opts: client.ClientOptions = {
    serverUrl: values["server-url"] || defaultServerUrl(env),
    token: env.AGENTICAI_API_TOKEN || undefined,
    json: values.json ?? false,
    out: writeLine,
  };
  if (inv.positionals.length > positionals) inv.usageError(`unexpected argument '${inv.positionals[positionals]}'`);
  try {
    await request(opts);
  } catch (e) {
    if (e instanceof client.CliError) fail(e.message);
    throw e;
  }
}

const DEMO_SCENARIO_LINES = DEMO_SCENARIOS.map((s) => `  ${s.name.padEnd(18)} ${s.about}`).join("\n");

const callId = (inv: Invocation): string => inv.positionals[0] ?? inv.usageError("missing CALL_ID");

function parseMetadata(json: string | undefined): unknown {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json);
  } catch {
    return fail('--metadata must be a JSON object, e.g. \'{"customer_id":"42"}\'', EXIT_USAGE);
  }
}

/**
 * `--window 09:00-17:00 [--timezone ZONE] [--days mon,tue]` as a request's call_window, `--no-window` as null (no
 * window, not even calls.call_window), nothing as undefined; the server checks the rest and says what is wrong.
 */
function callWindow(inv: Invocation): unknown {
  const { window, timezone, days } = inv.values;
  if (inv.values["no-window"]) {
    if (window !== undefined) inv.usageError("--window and --no-window exclude each other");
    return null;
  }
  if (window === undefined) {
    if (timezone !== undefined || days !== undefined) inv.usageError("--timezone and --days go with --window");
    return undefined;
  }
  const match = /^([^-]+)-([^-]+)$/.exec(window);
  if (!match) return inv.usageError("--window must be START-END, such as 09:00-17:00");
  return { start: match[1], end: match[2], timezone, days: days?.split(",").map((d) => d.trim()) };
}

/** The request `agenticai call` sends: the flags given, nothing for those left out. */
function callBody(inv: Invocation) {
  const v = inv.values;
  if (!v.to) return inv.usageError("missing --to");
  return {
    to: v.to,
    prompt: v.prompt,
    webhook_url: v["webhook-url"],
    metadata: parseMetadata(v.metadata),
    from: v.from,
    voice: v.voice,
    language: v.language,
    not_before: v["not-before"],
    call_window: callWindow(inv),
  };
}

/** `events` lists the outbox, `events retry ID` requeues one, `events secret` prints the signing secret. */
async function events(inv: Invocation): Promise<void> {
  const [sub, ...rest] = inv.positionals;
  if (sub !== undefined && inv.values.status !== undefined) inv.usageError("--status goes with the list only");
  if (sub === "secret") {
    if (rest.length) inv.usageError(`unexpected argument '${rest[0]}'`);
    const { printEventsSecret } = await import("./local.ts");
    return printEventsSecret(inv.values.config, inv.env, inv.values.json ?? false);
  }
  if (sub === "retry")
    return viaApi({ ...inv, positionals: rest }, 1, (opts) =>
      client.retryEvent(opts, rest[0] ?? inv.usageError("missing EVENT_ID")),
    );
  if (sub !== undefined) inv.usageError(`unknown events command '${sub}'`);
  return viaApi(inv, 0, (opts) => client.listEvents(opts, inv.values.status));
}

/** `mcp`: stdout carries MCP alone, so the log goes to stderr; the SDK is loaded only by this command. */
async function mcp(inv: Invocation): Promise<void> {
  if (inv.positionals.length) inv.usageError(`unexpected argument '${inv.positionals[0]}'`);
  const url = inv.values.url || inv.env.AGENTICAI_URL || defaultServerUrl(inv.env);
  if (!/^https?:$/.test(URL.parse(url)?.protocol ?? "")) inv.usageError(`--url must be an http(s) URL, got '${url}'`);
  const { serveStdio } = await import("../mcp/stdio.ts");
  const log = createLogger((line) => process.stderr.write(`${line}\n`));
  await serveStdio({ url, token: inv.values.token || inv.env.AGENTICAI_API_TOKEN || undefined, log });
}

export const COMMANDS: readonly Command[] = [
  {
    name: "server",
    usage: `Usage: agenticai server [--config FILE] [--simulate]

Runs the HTTP API and the Twilio webhooks. Configuration: --config FILE, else $AGENTICAI_CONFIG,
else ./config.yaml if present, else built-in defaults; environment variables override the file.
--simulate replaces Twilio, OpenAI and Gemini with simulators on loopback: every call is answered by a
simulated callee (+15550100001 talks, …02 busy, …03 no answer, …04 hangs up, …05 interrupts,
…06 silent, …07 voicemail, …08 phone menu, …09 asks for a person, …10 asks something only the
owner knows, …11 busy twice then answers, …12 talks and takes transfers; any other number talks)
and a simulated voice model, which follows the default conversation: agenticai demo --scenario
shows the in-call abilities with a model scripted for each.`,
    run: async ({ values, env }) => {
      const { runServerCommand } = await import("./local.ts");
      await runServerCommand(values.config, values.simulate ?? false, env);
    },
  },
  {
    name: "demo",
    usage: `Usage: agenticai demo [--scenario NAME] [--speed N] [--provider openai|google] [--config FILE]

Starts the server with a simulated carrier and voice model on loopback, places one call through
POST /api/call, prints the conversation with per-turn latency, then a summary and the path of a
stereo WAV recording (left caller, right agent) under <data_dir>/recordings/. --speed runs the
call faster than real time (default 1). --provider google has the call speak to a simulated Gemini
Live model instead of OpenAI Realtime. --scenario picks what happens on the line:
${DEMO_SCENARIO_LINES}`,
    run: async ({ values, env }) => {
      const { runDemoCommand } = await import("./local.ts");
      await runDemoCommand(values, env);
    },
  },
  {
    name: "call",
    usage: `Usage: agenticai call --to +15551234567 [--prompt TEXT] [--webhook-url URL] [--metadata JSON]
                      [--from NUMBER] [--voice NAME] [--language TAG] [--not-before TIME]
                      [--window HH:MM-HH:MM [--timezone ZONE] [--days mon,tue,…] | --no-window] [--json]

Places an outbound call. --webhook-url is the public base URL Twilio reaches this server at
(defaults to AGENTICAI_WEBHOOK_URL / NGROK_URL / server.public_url on the server). --from is one of
the server's numbers (twilio.phone_numbers), --voice the model's voice, --language a BCP 47 tag the
agent speaks (es, es-MX). --not-before (RFC 3339 with an offset, e.g. 2026-12-07T09:00:00-05:00) and
--window (the end exclusive; an end before the start runs past midnight) put the call off until it
may be dialled: it is then scheduled, and listed by agenticai calls --scheduled. --no-window dials
without the server's calls.call_window.`,
    run: (inv) => viaApi(inv, 0, (opts) => client.placeCall(opts, callBody(inv))),
  },
  {
    name: "calls",
    usage: `Usage: agenticai calls [--scheduled] [--json]

Lists active calls; --scheduled lists only those placed for later, with the time each will be dialled.`,
    run: (inv) => viaApi(inv, 0, (opts) => client.listCalls(opts, inv.values.scheduled ?? false)),
  },
  {
    name: "show",
    usage: "Usage: agenticai show CALL_ID [--json]\n\nShows one call with its status history.",
    run: (inv) => viaApi(inv, 1, (opts) => client.showCall(opts, callId(inv))),
  },
  {
    name: "end",
    usage: "Usage: agenticai end CALL_ID [--json]\n\nEnds a call through Twilio (idempotent).",
    run: (inv) => viaApi(inv, 1, (opts) => client.endCall(opts, callId(inv))),
  },
  {
    name: "status",
    usage: "Usage: agenticai status [--json]\n\nAsks a running server for its health.",
    run: (inv) => viaApi(inv, 0, client.serverStatus),
  },
  {
    name: "events",
    usage: `Usage: agenticai events [--status pending|delivered|failed] [--json]
       agenticai events retry EVENT_ID [--json]
       agenticai events secret [--config FILE]

Lists the event webhook outbox of a running server, newest first (ID, type, receiver, status,
attempts, what the last attempt got). retry sends an undelivered event again, due now. secret
prints the secret deliveries are signed with (Standard Webhooks): events.secret /
AGENTICAI_EVENTS_SECRET if set, else the one kept in the database in <data_dir>, made there
now if the server has not made it yet.`,
    run: events,
  },
  {
    name: "mcp",
    usage: `Usage: agenticai mcp [--url URL] [--token TOKEN]

Serves the MCP tools (place_call, get_call, list_calls, end_call, wait_for_call) over stdio, for MCP
clients that start a command (Claude Desktop, Claude Code). Each tool call is forwarded to a running
server's /mcp: --url is that server's origin (default $AGENTICAI_URL, else $AGENTICAI_SERVER_URL or
http://127.0.0.1:$PORT|8080), --token its API token (default $AGENTICAI_API_TOKEN). Only MCP is
written to stdout; the log goes to stderr.`,
    run: mcp,
  },
];

/** A lookup by value, not by key, so names like `toString` are unknown commands rather than prototype hits. */
export const findCommand = (name: string): Command | undefined => COMMANDS.find((c) => c.name === name);
