// N concurrent calls through the real server over loopback, paced at real time, audio streaming both
// ways: the simulated carrier's lines send stamped caller frames every 20 ms, the simulated model
// talks without pause in stamped 100 ms deltas and interrupts itself every few seconds.

import { realtimeUrl } from "../src/model/realtime.ts";
import { startCarrier } from "../src/sim/carrier.ts";
import { connectMediaStream, type MediaClient, type MediaClientOptions } from "../src/sim/media-stream.ts";
import { loadScript } from "../src/sim/script.ts";
import { simulatorEnv } from "../src/sim/simulators.ts";
import { type RealtimeSim, startRealtimeSim } from "../src/sim/voice-model.ts";
import { startRelayProcess } from "./relay.ts";
import { pool, startServerProcess, UNLIMITED } from "./server.ts";
import { createHistogram, type Histogram, percentile, processCpuMs, processRssKb } from "./stats.ts";

export const SILENT_CALLEE = "+15550100006";
const DELTA_MS = 100;
const BARGE_IN_EVERY_MS = 5_000;

export interface LoadResult {
  target: LoadTarget;
  calls: number;
  seconds: number;
  inbound: Summary;
  outbound: Summary;
  lostIn: number;
  lostOut: number;
  cpuMsPerCallSecond: number;
  /** RSS above the warmed-up idle process, per call: the mean of one reading a second over the window, and the highest. */
  rssKbPerCall: { mean: number; peak: number };
  generatorCpuPercent: number;
  bargeInServer: { p50: number; p99: number; count: number };
  bargeInRoundTrip: Summary;
  droppedByServer: number;
  /** Calls dialed whose media stream never opened: the rest are measured, and per-call figures are theirs. */
  unstarted: number;
}

interface Summary {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

const summary = (h: Histogram): Summary => ({
  p50: h.percentile(50),
  p99: h.percentile(99),
  max: h.max,
  count: h.count,
});

/**
 * Resolves with the count of open streams once all `calls` are open, or once it has not moved for STALLED_MS with at
 * least MIN_STARTED of them. A few calls that never stream (at 1000 calls, answered calls were hung up this way until
 * the voice webhook waited for the create reply) are then reported (LoadResult.unstarted), not a 25-minute run stopped.
 */
async function untilSettled(count: () => number, calls: number, state: () => string): Promise<number> {
  let last = -1;
  let since = Date.now();
  const settled = () => {
    const n = count();
    if (n !== last) [last, since] = [n, Date.now()];
    return n === calls || (n >= calls * MIN_STARTED && Date.now() - since > STALLED_MS);
  };
  await until("every media stream", settled, 120_000, state);
  return count();
}
const STALLED_MS = 15_000;
const MIN_STARTED = 0.95;

/** `state` says how far it got when it times out: one call of a thousand that never streams stops a whole run. */
export async function until(what: string, fn: () => boolean, timeoutMs: number, state?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`load: timed out waiting for ${what}${state ? ` (${state()})` : ""}`);
    await Bun.sleep(50);
  }
}

/** What carries the calls: our server, or the do-nothing relay that is its floor. */
export type LoadTarget = "server" | "relay";

interface Target {
  pid: number;
  /** Sets up `calls` calls and resolves once each is on its way; returns their handles. */
  dial(calls: number): Promise<string[]>;
  /** Ends calls; the server stores each bridge's own measurements as it does. */
  end(handles: string[]): Promise<void>;
  lines(): MediaClient[];
  /** The server's own measurements of ended calls. */
  measurements(handles: string[]): Promise<{ reactions: number[]; droppedByServer: number }>;
  stop(): Promise<void>;
}

async function startServerTarget(model: RealtimeSim, probe: MediaClientOptions["probe"]): Promise<Target> {
  const carrier = await startCarrier({ autoCalls: { script: await loadScript(), probe } });
  const server = await startServerProcess(simulatorEnv({ carrier, model }), UNLIMITED).catch(async (e) => {
    await carrier.stop();
    throw e;
  });
  const body = JSON.stringify({ to: SILENT_CALLEE, webhook_url: server.url });
  return {
    pid: server.pid,
    async dial(calls) {
      const ids: string[] = [];
      await pool(Array.from({ length: calls }), 50, async () => {
        const res = await fetch(`${server.url}/api/call`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body,
        });
        const created = (await res.json()) as { call_id?: string; error?: string };
        if (!created.call_id) throw new Error(`load: POST /api/call failed: ${created.error}`);
        ids.push(created.call_id);
      });
      return ids;
    },
    end: (ids) =>
      pool(ids, 50, async (id) => void (await fetch(`${server.url}/api/calls/${id}/end`, { method: "POST" }))),
    lines: () => [...carrier.media.values()],
    async measurements(ids) {
      const reactions: number[] = [];
      let droppedByServer = 0;
      await pool(ids, 50, async (id) => {
        const call = (await (await fetch(`${server.url}/api/calls/${id}`)).json()) as {
          metrics?: { barge_in_reaction_ms: number[]; frames_dropped_in: number; frames_dropped_out: number };
        };
        reactions.push(...(call.metrics?.barge_in_reaction_ms ?? []));
        droppedByServer += (call.metrics?.frames_dropped_in ?? 0) + (call.metrics?.frames_dropped_out ?? 0);
      });
      return { reactions: reactions.sort((x, y) => x - y), droppedByServer };
    },
    async stop() {
      await server.stop();
      await carrier.stop();
    },
  };
}

async function startRelayTarget(model: RealtimeSim, probe: MediaClientOptions["probe"]): Promise<Target> {
  const relay = await startRelayProcess(realtimeUrl(model.httpBaseUrl, "load"), model.apiKey);
  const lines = new Map<string, MediaClient>();
  return {
    pid: relay.pid,
    async dial(calls) {
      const dialed: MediaClient[] = [];
      for (let i = 0; i < calls; i++)
        dialed.push(await connectMediaStream({ url: relay.url.replace(/^http/, "ws"), probe }));
      for (const line of dialed) {
        line.startLine();
        lines.set(line.streamSid, line);
      }
      return dialed.map((l) => l.streamSid);
    },
    async end(sids) {
      for (const sid of sids) lines.get(sid)?.stop();
    },
    lines: () => [...lines.values()],
    measurements: async () => ({ reactions: [], droppedByServer: 0 }),
    async stop() {
      for (const line of lines.values()) line.close();
      await relay.stop();
    },
  };
}

export async function runLoad(calls: number, seconds: number, kind: LoadTarget = "server"): Promise<LoadResult> {
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
  const probe = { onAgentAudio: (ms: number, sentAt: number) => inWindow(sentAt) && h.out.add(ms) };
  const target = await (kind === "server" ? startServerTarget : startRelayTarget)(model, probe).catch((e) => {
    model.stop();
    throw e;
  });
  const openLines = () => target.lines().filter((l) => l.isOpen()).length;
  const streaming = () => model.sessions.filter((s) => !s.closed && s.deltaCount > 0).length;
  try {
    // One call first, so what is loaded or compiled once (SDK resources, JIT code) is not counted per call.
    const warmUp = await target.dial(1);
    await until("the warm-up call", () => streaming() === 1, 30_000);
    await Bun.sleep(1_000);
    await target.end(warmUp);
    await until("the warm-up call to end", () => openLines() === 0 && streaming() === 0, 30_000);
    await Bun.sleep(500);
    const idleRss = processRssKb(target.pid);

    const handles = await target.dial(calls);
    const progress = () =>
      `${handles.length} dialed, ${target.lines().length} lines, ${openLines()} open, ${streaming()} model sessions streaming`;
    const open = await untilSettled(openLines, calls, progress);
    await until("every model session streaming", () => streaming() === open, 60_000, progress);
    await Bun.sleep(2_000);

    // The measured window: frames are stamped when sent, so counts taken here bound it exactly.
    const lines = target.lines();
    const sent0 = lines.reduce((n, l) => n + l.framesSent, 0);
    const deltas0 = model.sessions.reduce((n, s) => n + s.deltaCount, 0);
    const cpu0 = processCpuMs(target.pid);
    const gen0 = process.cpuUsage();
    const rss: number[] = [];
    const t0 = performance.now();
    window.from = t0;
    for (let i = 0; i < seconds; i++) {
      await Bun.sleep(t0 + (i + 1) * 1000 - performance.now());
      rss.push(processRssKb(target.pid));
    }
    window.to = performance.now();
    const sent = lines.reduce((n, l) => n + l.framesSent, 0) - sent0;
    const deltas = model.sessions.reduce((n, s) => n + s.deltaCount, 0) - deltas0;
    const wall = (window.to - t0) / 1000;
    const cpu1 = processCpuMs(target.pid);
    const gen1 = process.cpuUsage(gen0);
    await Bun.sleep(2_000);
    await target.end(handles);
    const { reactions, droppedByServer } = await target.measurements(handles);
    return {
      target: kind,
      calls,
      seconds,
      inbound: summary(h.in),
      outbound: summary(h.out),
      bargeInRoundTrip: summary(h.truncate),
      lostIn: Math.max(0, sent - h.in.count),
      lostOut: Math.max(0, deltas - h.out.count),
      cpuMsPerCallSecond: (cpu1 - cpu0) / (open * wall),
      rssKbPerCall: {
        mean: (rss.reduce((a, b) => a + b, 0) / rss.length - idleRss) / open,
        peak: (Math.max(...rss) - idleRss) / open,
      },
      generatorCpuPercent: ((gen1.user + gen1.system) / 1000 / (wall * 1000)) * 100,
      bargeInServer: { p50: percentile(reactions, 50), p99: percentile(reactions, 99), count: reactions.length },
      droppedByServer,
      unstarted: calls - open,
    };
  } finally {
    await target.stop();
    model.stop();
  }
}

if (import.meta.main) {
  const calls = Number(process.argv[2] ?? 10);
  const seconds = Number(process.argv[3] ?? 10);
  console.log(JSON.stringify(await runLoad(calls, seconds, (process.argv[4] ?? "server") as LoadTarget), null, 2));
}
