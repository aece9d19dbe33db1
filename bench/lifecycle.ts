// A call's whole life, not only its audio: placed with POST /api/call, answered by the simulated carrier, held,
// ended with POST /api/calls/:id/end, its report made and its events (call.ringing, call.answered, call.ended)
// delivered to a receiver, with the console's change stream open. The load bench's window sees only the audio of
// calls already up; this sees the rest. Batches of calls held for a short and a long time take turns, so the same
// run gives what a second of a call's audio costs (the slope) and what its life around the audio costs (the rest):
// CPU per call = life + audio per call-second × hold.
import { startCarrier } from "../src/sim/carrier.ts";
import { loadScript } from "../src/sim/script.ts";
import { simulatorEnv } from "../src/sim/simulators.ts";
import { startRealtimeSim } from "../src/sim/voice-model.ts";
import { postCall } from "./api.ts";
import { SILENT_CALLEE, until } from "./load.ts";
import { pool, type ServerUnderTest, startServerProcess, UNLIMITED } from "./server.ts";
import { fmt, median, percentile, processCpuMs } from "./stats.ts";

const HOLDS_MS = [2_000, 12_000] as const;
const WARM_UP_CALLS = 20;
const ENDED_TIMEOUT_MS = 120_000;

export interface LifecycleResult {
  calls: number;
  rounds: number;
  /** Median CPU ms per call of the batches held for each of HOLDS_MS. */
  cpuPerCall: [number, number];
  /** What a call costs around its audio, and a second of its audio, ms of CPU. */
  lifeMs: number;
  audioMsPerSecond: number;
  /** From each call's end request to its call.ended event at the receiver, ms. */
  endedP50: number;
  endedP99: number;
}

/** The events receiver: when each call's call.ended arrived. */
function startReceiver() {
  const ended = new Map<string, number>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const event = (await req.json()) as { type: string; data: { call_id: string } };
      if (event.type === "call.ended") ended.set(event.data.call_id, performance.now());
      return new Response(null, { status: 204 });
    },
  });
  return { url: server.url.href, ended, stop: () => server.stop(true) };
}

/** The console's view: one change stream open and read for the whole run. */
function openConsoleStream(serverUrl: string): AbortController {
  const abort = new AbortController();
  void fetch(`${serverUrl}/api/stream`, { signal: abort.signal })
    .then(async (res) => {
      for await (const _ of res.body!);
    })
    .catch(() => {});
  return abort;
}

interface Run {
  server: ServerUnderTest;
  ended: Map<string, number>;
  latencies: number[];
}

/** One batch: `calls` placed, held `holdMs`, ended; resolves with the server's CPU per call once every call.ended came. */
async function batch(run: Run, calls: number, holdMs: number): Promise<number> {
  const { server } = run;
  const idle0 = processCpuMs(server.pid);
  await Bun.sleep(1_000);
  const idlePerMs = (processCpuMs(server.pid) - idle0) / 1_000;
  const body = JSON.stringify({ to: SILENT_CALLEE, webhook_url: server.url });
  const t0 = performance.now();
  const cpu0 = processCpuMs(server.pid);
  const ids: string[] = [];
  await pool(Array.from({ length: calls }), 50, async () => void ids.push((await postCall(server.url, body)).callId));
  await Bun.sleep(holdMs);
  const endAt = new Map<string, number>();
  await pool(ids, 50, async (id) => {
    endAt.set(id, performance.now());
    await fetch(`${server.url}/api/calls/${id}/end`, { method: "POST" });
  });
  await until("every call.ended", () => ids.every((id) => run.ended.has(id)), ENDED_TIMEOUT_MS);
  const cpu = processCpuMs(server.pid) - cpu0 - idlePerMs * (performance.now() - t0);
  for (const id of ids) run.latencies.push(run.ended.get(id)! - endAt.get(id)!);
  return cpu / calls;
}

export async function runLifecycleBench(calls = 200, rounds = 3): Promise<LifecycleResult> {
  const model = startRealtimeSim({
    load: { deltaMs: 100, bargeInEveryMs: 5_000, onCallerAudio: () => {}, onTruncate: () => {} },
  });
  const carrier = await startCarrier({ autoCalls: { script: await loadScript() } });
  const receiver = startReceiver();
  const config = `${UNLIMITED}events:\n  url: ${receiver.url}events\n`;
  const server = await startServerProcess(simulatorEnv({ carrier, model }), config);
  const stream = openConsoleStream(server.url);
  const run: Run = { server, ended: receiver.ended, latencies: [] };
  try {
    await batch(run, WARM_UP_CALLS, HOLDS_MS[0]);
    run.latencies.length = 0;
    const perCall: [number[], number[]] = [[], []];
    for (let r = 0; r < rounds; r++)
      for (const h of r % 2 === 0 ? [0, 1] : [1, 0]) perCall[h]!.push(await batch(run, calls, HOLDS_MS[h]!));
    const cpuPerCall: [number, number] = [median(perCall[0]), median(perCall[1])];
    const audioMsPerSecond = (cpuPerCall[1] - cpuPerCall[0]) / ((HOLDS_MS[1] - HOLDS_MS[0]) / 1000);
    const sorted = run.latencies.sort((a, b) => a - b);
    return {
      calls,
      rounds,
      cpuPerCall,
      lifeMs: cpuPerCall[0] - (audioMsPerSecond * HOLDS_MS[0]) / 1000,
      audioMsPerSecond,
      endedP50: percentile(sorted, 50),
      endedP99: percentile(sorted, 99),
    };
  } finally {
    stream.abort();
    await server.stop();
    await carrier.stop();
    receiver.stop();
    model.stop();
  }
}

export function lifecycleSection(r: LifecycleResult): string[] {
  const [short, long] = HOLDS_MS.map((ms) => ms / 1000);
  return [
    `Batches of ${r.calls} calls (POST /api/call, 50 at a time) to the simulated carrier's silent callee, held ${short} s or ${long} s, ended with POST /api/calls/:id/end; each call's report made (the simulated report model) and its events delivered to a receiver on loopback, with the console's change stream (GET /api/stream) open throughout. The two holds take turns for ${r.rounds} rounds each; CPU is the server's over a batch, from the first request to the last call.ended, less its idle rate.`,
    "",
    "| | CPU per call, ms |",
    "|---|---:|",
    `| held ${short} s | ${fmt(r.cpuPerCall[0], 2)} |`,
    `| held ${long} s | ${fmt(r.cpuPerCall[1], 2)} |`,
    `| a second of its audio (the slope) | ${fmt(r.audioMsPerSecond, 2)} |`,
    `| **its life around the audio** (placing, webhooks, answer, end, report, events, console) | **${fmt(r.lifeMs, 2)}** |`,
    "",
    `Around its audio a call costs what **${fmt(r.lifeMs / r.audioMsPerSecond, 1)} s** of its audio do. From the end request to call.ended at the receiver (report included): p50 **${fmt(r.endedP50, 0)} ms**, p99 **${fmt(r.endedP99, 0)} ms**, over ${r.rounds * 2} batches.`,
  ];
}

if (import.meta.main) {
  const result = await runLifecycleBench(Number(process.argv[2] ?? 200), Number(process.argv[3] ?? 3));
  console.log(lifecycleSection(result).join("\n"));
}
