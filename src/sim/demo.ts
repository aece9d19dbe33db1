// `agenticai demo`: the real server, a simulated carrier and a simulated voice model on loopback, one
// call placed through POST /api/call, the conversation printed as it happens, then a summary, the call's
// report and a stereo recording of what each side heard. No accounts, no network beyond 127.0.0.1, unless
// an event receiver is given: then the call's signed events go to it, each delivery printed as it lands.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createApp } from "../app.ts";
import { type Config, ConfigSchema } from "../config/schema.ts";
import { startServer } from "../http/server.ts";
import { createLogger, type Logger } from "../log.ts";
import { startBackground } from "../workers/background.ts";
import { startGatewaySim } from "./gateway.ts";
import { DEMO_SCENARIOS, type DemoScenario, scenarioNumber } from "./scenarios.ts";
import { type Simulators, simulatedConfig, startSimulators } from "./simulators.ts";
import { stereoWav } from "./wav.ts";

export interface DemoOptions {
  /** Stream time per wall time: 1 plays the call in real time; tests run it faster. */
  speed?: number;
  /** Where the recording goes (under recordings/). */
  dataDir: string;
  out: (line: string) => void;
  log?: Logger;
  timeoutMs?: number;
  /** Send the call's events to this receiver, signed with `secret` (the server's, so the receiver can check them). */
  events?: { url: string; secret?: string };
  /** What to play; the conversation by default. */
  scenario?: DemoScenario;
  /** The voice model the call speaks to (agent.provider): OpenAI Realtime by default, or Gemini Live. */
  provider?: "openai" | "google";
}

export interface DemoResult {
  ok: boolean;
  callId: string;
  call: Record<string, any>;
  recordingPath: string | null;
  recordingSeconds: number;
}

type Out = (line: string) => void;
type Call = Record<string, any>;

const PROMPT =
  "You are Ava, calling from Acme Dental to confirm tomorrow's 10 am appointment. Offer a reminder text, " +
  "accept reschedules, and say goodbye and end the call when the patient is done.";
/** What the simulated owner's assistant answers in the consult scenario. */
const OWNER_ANSWER = "Yes, Tuesday at three works. Please book it.";
/** The report is made just after the call ends; the simulated report model answers at once. */
const REPORT_WAIT_MS = 15_000;
/** Events still undelivered after this (a receiver that refuses them, say) are left to the retry schedule. */
const EVENTS_WAIT_MS = 5_000;

const p50 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]! : null);
const ms = (v: number | null | undefined) =>
  v === null || v === undefined ? "–" : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
async function getJson(url: string): Promise<Call> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${new URL(url).pathname} answered HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as Call;
}

/** The server, its simulators and (for consult) a simulated gateway, all on loopback, and how to stop them. */
async function startDemoServer(opts: DemoOptions, scenario: DemoScenario) {
  const sims = await startSimulators({ speed: opts.speed, record: true, scenario: scenario.conversation ?? "talks" });
  // A second or so to answer, as a real assistant takes: the callee hears the holding line meanwhile.
  const gateway = scenario.gateway
    ? await startGatewaySim({ answer: OWNER_ANSWER, delayMs: 1_500 / (opts.speed ?? 1) })
    : null;
  const dbDir = mkdtempSync(join(tmpdir(), "agenticai-demo-"));
  const base: Config = ConfigSchema.parse({
    server: { host: "127.0.0.1", port: 0, data_dir: dbDir },
    events: opts.events ?? {},
    // The demo polls its own server many times a second to print the call as it happens.
    limits: { api_requests_per_minute: 1_000_000 },
    // The retry scenario redials after 2 s, not the half minute a real line is given.
    calls: { retry_min_delay_s: 0 },
    agent: { provider: opts.provider ?? "openai" },
    integrations: gateway ? { openclaw: { gateway_url: gateway.url, gateway_token: gateway.token } } : {},
  });
  const ctx = await createApp(simulatedConfig(base, sims), opts.log ?? createLogger(() => {}));
  const server = startServer(ctx);
  const background = startBackground(ctx);
  return {
    sims,
    url: server.url.href.replace(/\/$/, ""),
    async stop() {
      for (const bridge of ctx.bridges.values()) bridge.close("demo_over");
      await server.stop(true);
      await background.stop();
      await sims.stop();
      await gateway?.stop();
      ctx.facts.close();
      await ctx.store.close();
      rmSync(dbDir, { recursive: true, force: true });
    },
  };
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const speed = opts.speed ?? 1;
  const out = opts.out;
  const scenario = opts.scenario ?? DEMO_SCENARIOS[0]!;
  const demo = await startDemoServer(opts, scenario);
  const { sims, url } = demo;
  const started = performance.now();
  const clock = () => `[${(((performance.now() - started) * speed) / 1000).toFixed(1).padStart(5)} s]`;
  const feed = opts.events ? eventFeed(url, clock, out) : null;
  const pause = () => Bun.sleep(Math.max(5, 50 / speed));

  try {
    out(`agenticai demo (${scenario.name}): ${scenario.about}`);
    out("  a whole call against a simulated carrier and voice model (no accounts, loopback only)");
    const model = opts.provider === "google" ? `Gemini Live ${sims.gemini.baseUrl}` : sims.model.httpBaseUrl;
    out(`  server ${url}, carrier ${sims.carrier.url}, model ${model}`);
    if (opts.events) out(`  events to ${opts.events.url}, signed with the secret \`agenticai events secret\` prints`);
    const callId = await placeCall(url, scenario, clock, out);
    if (callId === null) return refusedResult(scenario);
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    const tools = toolFeed(sims, clock, out);
    let call = await followCall({ url, callId, clock, out, deadline, pause, feed, tools });
    call = await awaitReport(url, callId, { feed, pause, deadline: Date.now() + REPORT_WAIT_MS });
    await feed?.drain(Date.now() + EVENTS_WAIT_MS, pause);
    const recording = await saveRecording(sims, opts.dataDir, callId);
    printSummary(out, call, recording);
    printReport(out, call.report);
    const reported = !scenario.reportSource || call.report?.source === scenario.reportSource;
    const gatekeepers = (!scenario.screened || call.screened === true) && (!scenario.held || call.hold_s > 0);
    return { ok: scenario.endsWith.includes(call.end_reason) && reported && gatekeepers, callId, call, ...recording };
  } finally {
    await demo.stop();
  }
}

/** A refused request (the toll-fraud scenario) is the demo working: there is no call to show. */
const refusedResult = (scenario: DemoScenario): DemoResult => ({
  ok: scenario.refused === true,
  callId: "",
  call: {},
  recordingPath: null,
  recordingSeconds: 0,
});

/** Places the scenario's call; null when the server refused it (printed with its reason). */
async function placeCall(url: string, scenario: DemoScenario, clock: () => string, out: Out): Promise<string | null> {
  const to = scenarioNumber(scenario);
  const res = await fetch(`${url}/api/call`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: PROMPT, webhook_url: url, metadata: { source: "demo" }, ...scenario.request, to }),
  });
  const created = (await res.json()) as { success: boolean; call_id: string; error?: string };
  if (!created.success && scenario.refused) {
    out(`${clock()} POST /api/call to ${to} → ${res.status}: ${created.error}`);
    return null;
  }
  if (!created.success) throw new Error(`POST /api/call failed: ${created.error}`);
  out(`${clock()} POST /api/call → call_id ${created.call_id}, dialling ${to}`);
  return created.call_id;
}

/** Prints each tool the agent used, with what the server answered, as it happens. */
function toolFeed(sims: Simulators, clock: () => string, out: Out): () => void {
  let shown = 0;
  return () => {
    const gemini = sims.gemini.sessions.flatMap((s) =>
      s.toolResponses.map((r) => ({ name: r.name, output: JSON.stringify(r.response) })),
    );
    const openai = sims.model.sessions.flatMap((s) => s.toolOutputs);
    const outputs = [...openai, ...gemini].filter((o) => o.name !== "end_call");
    for (const o of outputs.slice(shown)) out(`${clock()}          tool ${o.name} → ${o.output}`);
    shown = outputs.length;
  };
}

interface Follow {
  url: string;
  callId: string;
  clock: () => string;
  out: Out;
  deadline: number;
  pause: () => Promise<void>;
  feed: EventFeed | null;
  tools: () => void;
}

/** Prints statuses and turns as they come, until the call is over; returns the call as it then is. */
/** The transcript's speakers, padded so the lines of both sides start together. */
const SPEAKERS: Record<string, string> = {
  agent: "Agent ",
  consult_question: "Agent → owner's assistant",
  consult_answer: "Owner's assistant",
};

async function followCall({ url, callId, clock, out, deadline, pause, feed, tools }: Follow): Promise<Call> {
  let statuses = 0;
  const notes = callNotes(clock, out);
  const shown: { role: string; interrupted: boolean }[] = [];
  let agentTurns = 0;
  for (;;) {
    const call = await getJson(`${url}/api/calls/${callId}`);
    for (const h of call.status_history.slice(statuses)) out(`${clock()} status: ${h.status}`);
    statuses = call.status_history.length;
    const turns = call.transcript as { role: string; text: string; interrupted: boolean }[];
    turns.forEach((t, i) => {
      const seen = shown[i];
      if (seen) {
        if (t.interrupted && !seen.interrupted) out(`${clock()}          … the caller cut in, the agent stopped`);
        seen.interrupted = t.interrupted;
        return;
      }
      shown[i] = { role: t.role, interrupted: t.interrupted };
      let note = "";
      if (t.role === "agent") {
        const latency = agentTurns > 0 ? call.metrics?.turn_latency_ms?.[agentTurns - 1] : undefined;
        note = latency !== undefined ? `  (replied in ${ms(latency)})` : "";
        agentTurns++;
      }
      out(`${clock()} ${SPEAKERS[t.role] ?? "Caller"} ▸ ${t.text}${note}`);
    });
    tools();
    notes.print(call);
    await feed?.poll();
    if (!call.active) return call;
    if (Date.now() > deadline) throw new Error("the demo call did not finish in time");
    await pause();
  }
}

/** Prints what the call's policies did, once each: machine detection, a retry, a transfer. */
function callNotes(clock: () => string, out: Out) {
  const seen = { answeredBy: null as string | null, attempts: 1, transferredTo: null as string | null };
  return {
    print(call: Call) {
      if (call.answered_by && call.answered_by !== seen.answeredBy) {
        out(`${clock()}          answering machine detection: ${call.answered_by}`);
        seen.answeredBy = call.answered_by;
      }
      if (call.attempts.length > seen.attempts && call.next_attempt_at) {
        out(`${clock()}          attempt ${seen.attempts} was ${call.attempts.at(-2).status}; trying again`);
        seen.attempts = call.attempts.length;
      }
      if (call.transferred_to && call.transferred_to !== seen.transferredTo) {
        out(`${clock()}          transferred to ${call.transferred_to}`);
        seen.transferredTo = call.transferred_to;
      }
    },
  };
}

/** The call once its report is final, or as it is when the wait runs out (its report still null). */
async function awaitReport(
  url: string,
  callId: string,
  wait: { feed: EventFeed | null; pause: () => Promise<void>; deadline: number },
): Promise<Call> {
  for (;;) {
    const call = await getJson(`${url}/api/calls/${callId}`);
    await wait.feed?.poll();
    if (call.report || Date.now() > wait.deadline) return call;
    await wait.pause();
  }
}

async function saveRecording(sims: Simulators, dataDir: string, callId: string) {
  const line = [...sims.carrier.media.values()][0];
  if (!line) return { recordingPath: null, recordingSeconds: 0 };
  const { caller, agent } = line.recording();
  const dir = join(dataDir, "recordings");
  // A recording is a whole conversation: its owner's only, whatever the umask. The recordings dir is the
  // demo's own, so one an older build left open is tightened; a data dir made here is 700 like the server's.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const recordingPath = join(dir, `demo-${callId}.wav`);
  writeFileSync(recordingPath, stereoWav(caller, agent), { mode: 0o600 });
  chmodSync(recordingPath, 0o600);
  return { recordingPath, recordingSeconds: caller.length / 8000 };
}

function printSummary(out: Out, call: Call, rec: { recordingPath: string | null; recordingSeconds: number }): void {
  const m = call.metrics ?? {};
  out("");
  out("Summary");
  out(`  duration              ${call.duration_s ?? "–"} s (${rec.recordingSeconds.toFixed(1)} s of audio)`);
  out(`  time to first audio   ${ms(m.time_to_first_audio_ms)}`);
  out(`  response latency p50  ${ms(p50(m.turn_latency_ms ?? []))} over ${m.turn_latency_ms?.length ?? 0} turns`);
  out(`  barge-ins             ${m.barge_ins ?? 0}`);
  if (call.screened) out("  screened              yes: a call screener answered first");
  if (call.hold_s > 0) out(`  on hold               ${call.hold_s} s`);
  out(`  end reason            ${call.end_reason} (status ${call.status})`);
  if (call.attempts.length > 1) out(`  attempts              ${call.attempts.map((a: Call) => a.status).join(", ")}`);
  out(
    `  frames in/out         ${m.frames_in ?? 0} / ${m.frames_out ?? 0}, dropped ${(m.frames_dropped_in ?? 0) + (m.frames_dropped_out ?? 0)}`,
  );
  if (rec.recordingPath)
    out(`  recording             ${relative(process.cwd(), rec.recordingPath)} (stereo WAV: left caller, right agent)`);
}

const factText = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

function printReport(out: Out, report: Call | null): void {
  out("");
  if (!report) {
    out("Report: not made in time (GET /api/calls/{id} shows it once it is)");
    return;
  }
  out("Report");
  out(`  outcome               ${report.outcome}`);
  out(`  source                ${report.source}`);
  out(`  summary               ${report.summary}`);
  const facts = Object.entries(report.facts as Record<string, unknown>).map(([k, v]) => `${k}: ${factText(v)}`);
  out(`  facts                 ${facts.length ? facts.join(`\n${" ".repeat(24)}`) : "none"}`);
  const steps = report.next_steps as string[];
  out(`  next steps            ${steps.length ? steps.join(`\n${" ".repeat(24)}`) : "none"}`);
}

interface EventFeed {
  /** Prints each delivery attempt not printed yet; returns how many events are still queued. */
  poll(): Promise<number>;
  /** Polls until nothing is queued or the deadline passes, and says what was left. */
  drain(deadline: number, pause: () => Promise<void>): Promise<void>;
}

function eventFeed(url: string, clock: () => string, out: Out): EventFeed {
  const printed = new Map<number, string>();
  const poll = async () => {
    const { events } = await getJson(`${url}/api/events?limit=500`);
    let queued = 0;
    // Listed newest first; printed in the order they were queued.
    for (const e of [...(events as Call[])].reverse()) {
      if (e.status === "pending") queued++;
      const key = `${e.status}/${e.attempts}`;
      if (e.attempts === 0 || printed.get(e.id) === key) continue;
      printed.set(e.id, key);
      const state = e.status === "pending" ? "will retry" : e.status;
      out(`${clock()} event ${e.type} to ${e.receiver} → ${state} (${e.last_status ?? e.last_error ?? "no answer"})`);
    }
    return queued;
  };
  return {
    poll,
    async drain(deadline, pause) {
      for (let queued = await poll(); queued > 0; queued = await poll()) {
        if (Date.now() > deadline) {
          out(`${clock()} ${queued} event(s) still queued: the receiver has not taken them (see agenticai events)`);
          return;
        }
        await pause();
      }
    },
  };
}
