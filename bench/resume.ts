// What resuming a call costs (issue 26): a live call's media stream is cut as a network would cut it, the
// simulated carrier follows the stream's <Connect action> as Twilio does, and the callee waits for the agent's
// voice on the new stream. One resume at a time, on PostgreSQL through the relay that counts the server's round
// trips on the wire (bench/pg-wire.ts), so each resume's round trips are its own (net of the background polling).
import { startCarrier } from "../src/sim/carrier.ts";
import { loadScript } from "../src/sim/script.ts";
import { simulatorEnv } from "../src/sim/simulators.ts";
import { startRealtimeSim } from "../src/sim/voice-model.ts";
import { startPostgres } from "../test/support/postgres.ts";
import { postCall } from "./api.ts";
import { startPgWireCounter } from "./pg-wire.ts";
import { startServerProcess, UNLIMITED } from "./server.ts";
import { fmt, percentile } from "./stats.ts";
import { serverVersion } from "./store.ts";

const RESUMES = 25;
const WARM_UP = 3;
/** The silent callee: the agent talks alone, so it is speaking when the line drops and says it lost them. */
const SILENT = "+15550100006";
/** The agent's greeting lasts this long: long enough to be cut off whatever the host's pace. */
const GREETING_MS = 30_000;
/** Background workers poll the database; their rate, taken over this quiet time, is subtracted. */
const IDLE_MS = 3_000;
/** After the agent is heard again, the writes the resume set off (its batch, the change notice) are let land. */
const SETTLE_MS = 500;
const WAIT_MS = 20_000;

interface Timings {
  /** Cut → the new stream open at the carrier. */
  reconnectMs: number;
  /** Cut → the agent's first audio on the new stream. */
  heardMs: number;
  roundTrips: number;
}

export interface ResumeBench {
  postgresVersion: string;
  resumes: Timings[];
  idlePerSecond: number;
}

async function until<T>(fn: () => T | Promise<T>, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

/** One call placed, its greeting playing, its stream cut, until the agent is heard again; then it is ended. */
async function resumeOnce(
  serverUrl: string,
  carrier: Awaited<ReturnType<typeof startCarrier>>,
  roundTrips: () => number,
  idlePerMs: number,
): Promise<Timings> {
  const body = JSON.stringify({ to: SILENT, webhook_url: serverUrl });
  const { callId } = await postCall(serverUrl, body);
  const sid = await until(() => [...carrier.calls.values()].find((c) => c.status === "in-progress")?.sid, "answer");
  await until(() => carrier.media.get(sid)?.agentPlaying, "the greeting");
  await Bun.sleep(300);
  const before = roundTrips();
  const t0 = performance.now();
  carrier.dropStream(sid);
  const drop = await until(() => {
    const first = carrier.lines.get(sid)?.drops[0];
    return first?.heardAt === undefined ? null : first;
  }, "the agent heard again");
  await Bun.sleep(SETTLE_MS);
  const net = roundTrips() - before - idlePerMs * (performance.now() - t0);
  const res = await fetch(`${serverUrl}/api/calls/${callId}/end`, { method: "POST" });
  if (!res.ok) throw new Error(`bench: ending the call answered ${res.status}`);
  await until(() => carrier.calls.get(sid)?.status === "completed", "the hang-up");
  return { reconnectMs: drop.resumedAt! - drop.at, heardMs: drop.heardAt! - drop.at, roundTrips: net };
}

export async function runResumeBench(): Promise<ResumeBench> {
  const pg = await startPostgres();
  const relay = startPgWireCounter(Number(new URL(pg.url("postgres")).port));
  const script = await loadScript();
  const model = startRealtimeSim({ agentReplies: ["Hello, this is a long greeting."], replyMs: GREETING_MS });
  const carrier = await startCarrier({ autoCalls: { script } });
  try {
    const url = new URL(await pg.createDatabase());
    url.port = String(relay.port);
    const env = { ...simulatorEnv({ carrier, model }), DATABASE_URL: url.toString() };
    const server = await startServerProcess(env, UNLIMITED);
    try {
      const warm = () => resumeOnce(server.url, carrier, relay.roundTrips, 0);
      for (let i = 0; i < WARM_UP; i++) await warm();
      // The warm-up calls' reports are made meanwhile: the idle rate is taken once they are.
      await Bun.sleep(IDLE_MS);
      const idleStart = relay.roundTrips();
      await Bun.sleep(IDLE_MS);
      const idlePerMs = (relay.roundTrips() - idleStart) / IDLE_MS;
      const resumes: Timings[] = [];
      for (let i = 0; i < RESUMES; i++)
        resumes.push(await resumeOnce(server.url, carrier, relay.roundTrips, idlePerMs));
      return { postgresVersion: await serverVersion(pg), resumes, idlePerSecond: idlePerMs * 1000 };
    } finally {
      await server.stop();
    }
  } finally {
    await carrier.stop();
    model.stop();
    relay.stop();
    await pg.stop();
  }
}

/** Section 7 of the report, as Markdown lines under its heading. */
export function resumeSection(b: ResumeBench): string[] {
  const sorted = (f: (t: Timings) => number) => b.resumes.map(f).sort((x, y) => x - y);
  const row = (label: string, f: (t: Timings) => number, digits = 0) => {
    const xs = sorted(f);
    return `| ${label} | ${fmt(percentile(xs, 50), digits)} | ${fmt(percentile(xs, 99), digits)} | ${fmt(xs.at(-1)!, digits)} |`;
  };
  return [
    `${b.resumes.length} resumes, one at a time after ${WARM_UP} for warm-up, each of a fresh call to the silent callee while the agent's greeting plays: the simulated carrier cuts the call's media stream as a network would (no \`stop\`), asks its \`<Connect action>\` as Twilio does and opens the stream the answer names, and the server, on PostgreSQL ${b.postgresVersion} through the counting relay (section 6), restores the conversation on a new model session, whose agent says it lost the caller for a second. Times are the callee's, on the carrier's clock. Round trips run from the cut until ${SETTLE_MS} ms after the agent is heard again, net of the background polling (${fmt(b.idlePerSecond, 1)} a second before the runs): the old bridge's last writes, the action (the call read for the signature, then read, counted and marked lost in one transaction), the stream's upgrade and its taking over (owner, history row and \`call.resumed\` in one transaction, the notice to the other instances), the transcript read for the new session, and the apology's own transcript and metrics writes and change notice.`,
    "",
    "| per resume | p50 | p99 | max |",
    "|---|---:|---:|---:|",
    row("cut → new stream open, ms", (t) => t.reconnectMs),
    row("cut → agent heard again, ms", (t) => t.heardMs),
    row("database round trips", (t) => t.roundTrips, 1),
  ];
}

if (import.meta.main) console.log(resumeSection(await runResumeBench()).join("\n"));
