// N concurrent calls through the real server over loopback, paced at real time, audio streaming both
// ways: the simulated carrier's lines send stamped caller frames every 20 ms, the simulated model
// talks without pause in stamped 100 ms deltas and interrupts itself every few seconds.
import { startCarrier } from "../src/sim/carrier.ts";
import { loadScript } from "../src/sim/script.ts";
import { startRealtimeSim } from "../src/sim/voice-model.ts";
import { createHistogram, percentile, processCpuMs, processRssKb, type Histogram } from "./stats.ts";
import { pool, startServerProcess, UNLIMITED } from "./server.ts";

const SILENT_CALLEE = "+15550100006";
const DELTA_MS = 100;
const BARGE_IN_EVERY_MS = 5_000;

export interface LoadResult {
  calls: number;
  seconds: number;
  inbound: Summary;
  outbound: Summary;
  lostIn: number;
  lostOut: number;
  serverCpuMsPerCallSecond: number;
  serverRssKbPerCall: number;
  generatorCpuPercent: number;
  bargeInServer: { p50: number; p99: number; count: number };
  bargeInRoundTrip: Summary;
  droppedByServer: number;
}

interface Summary {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

const summary = (h: Histogram): Summary => ({ p50: h.percentile(50), p99: h.percentile(99), max: h.max, count: h.count });

async function until(what: string, fn: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`load: timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

export async function runLoad(calls: number, seconds: number): Promise<LoadResult> {
  const h = { in: createHistogram(), out: createHistogram(), truncate: createHistogram() };
  // Only audio stamped inside the measured window counts, so nothing in flight at its edges is
  // mistaken for lost: after the window, the run waits for stragglers before counting.
  const window = { from: Infinity, to: Infinity };
  const inWindow = (sentAt: number) => sentAt >= window.from && sentAt < window.to;
  const model = startRealtimeSim({
    load: {
      deltaMs: DELTA_MS,
      bargeInEveryMs: BARGE_IN_EVERY_MS,
      onCallerAudio: (ms, sentAt) => inWindow(sentAt) && h.in.add(ms),
      onTruncate: (ms) => window.from < performance.now() && h.truncate.add(ms),
    },
  });
  const carrier = await startCarrier({ autoCalls: { script: await loadScript(), probe: { onAgentAudio: (ms, sentAt) => inWindow(sentAt) && h.out.add(ms) } } });
  const server = await startServerProcess(
    {
      TWILIO_ACCOUNT_SID: carrier.accountSid,
      TWILIO_AUTH_TOKEN: carrier.authToken,
      TWILIO_PHONE_NUMBER: carrier.phoneNumber,
      TWILIO_API_BASE_URL: carrier.url,
      OPENAI_API_KEY: model.apiKey,
      OPENAI_BASE_URL: model.httpBaseUrl,
    },
    UNLIMITED,
  );
  const ids: string[] = [];
  try {
    await Bun.sleep(500);
    const idleRss = processRssKb(server.pid);
    const body = JSON.stringify({ to: SILENT_CALLEE, webhook_url: server.url });
    await pool(Array.from({ length: calls }), 50, async () => {
      const res = await fetch(`${server.url}/api/call`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
      const created = (await res.json()) as { call_id?: string; error?: string };
      if (!created.call_id) throw new Error(`load: POST /api/call failed: ${created.error}`);
      ids.push(created.call_id);
    });
    const lines = () => [...carrier.media.values()];
    await until("every media stream", () => lines().filter((l) => l.isOpen()).length === calls, 120_000);
    await until("every model session streaming", () => model.sessions.filter((s) => s.deltaCount > 0).length >= calls, 60_000);
    await Bun.sleep(2_000);

    // The measured window: frames are stamped when sent, so counts taken here bound it exactly.
    const sent0 = lines().reduce((n, l) => n + l.framesSent, 0);
    const deltas0 = model.sessions.reduce((n, s) => n + s.deltaCount, 0);
    const cpu0 = processCpuMs(server.pid);
    const gen0 = process.cpuUsage();
    const t0 = (window.from = performance.now());
    await Bun.sleep(seconds * 1000);
    window.to = performance.now();
    const sent = lines().reduce((n, l) => n + l.framesSent, 0) - sent0;
    const deltas = model.sessions.reduce((n, s) => n + s.deltaCount, 0) - deltas0;
    const wall = (window.to - t0) / 1000;
    const cpu1 = processCpuMs(server.pid);
    const gen1 = process.cpuUsage(gen0);
    const rss = processRssKb(server.pid);
    await Bun.sleep(2_000);
    const lostIn = Math.max(0, sent - h.in.count);
    const lostOut = Math.max(0, deltas - h.out.count);
    const result = {
      inbound: summary(h.in),
      outbound: summary(h.out),
      bargeInRoundTrip: summary(h.truncate),
    };

    // Ending the calls stores each bridge's own measurements (barge-in reaction, drops).
    await pool(ids, 50, async (id) => void (await fetch(`${server.url}/api/calls/${id}/end`, { method: "POST" })));
    const reactions: number[] = [];
    let droppedByServer = 0;
    await pool(ids, 50, async (id) => {
      const call = (await (await fetch(`${server.url}/api/calls/${id}`)).json()) as { metrics?: { barge_in_reaction_ms: number[]; frames_dropped_in: number; frames_dropped_out: number } };
      reactions.push(...(call.metrics?.barge_in_reaction_ms ?? []));
      droppedByServer += (call.metrics?.frames_dropped_in ?? 0) + (call.metrics?.frames_dropped_out ?? 0);
    });
    reactions.sort((a, b) => a - b);
    return {
      calls,
      seconds,
      ...result,
      lostIn,
      lostOut,
      serverCpuMsPerCallSecond: (cpu1 - cpu0) / (calls * wall),
      serverRssKbPerCall: (rss - idleRss) / calls,
      generatorCpuPercent: ((gen1.user + gen1.system) / 1000 / (wall * 1000)) * 100,
      bargeInServer: { p50: percentile(reactions, 50), p99: percentile(reactions, 99), count: reactions.length },
      droppedByServer,
    };
  } finally {
    await server.stop();
    await carrier.stop();
    model.stop();
  }
}

if (import.meta.main) {
  const calls = Number(process.argv[2] ?? 10);
  const seconds = Number(process.argv[3] ?? 10);
  console.log(JSON.stringify(await runLoad(calls, seconds), null, 2));
}
