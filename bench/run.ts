// `bun run bench [-- --calls 1,100,500,1000 --seconds 30 --rounds 3 --only frame,startup,api,load,lifecycle,store,resume,scale --write]`
// Runs the benchmarks, prints a Markdown report and, with --write, saves it as bench/RESULTS.md.
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runApiBench } from "./api.ts";
import { frameTable, holdMeterTable, runFrameBench, runHoldMeterBench } from "./frame.ts";
import { lifecycleSection, runLifecycleBench } from "./lifecycle.ts";
import { type LoadResult, runLoad } from "./load.ts";
import { resumeSection, runResumeBench } from "./resume.ts";
import { compile, runStartupBench } from "./startup.ts";
import { fmt, median } from "./stats.ts";
import { runStoreBench, storeSection } from "./store.ts";
import { runStoreScaleBench, storeScaleSection } from "./store-scale.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    calls: { type: "string", default: "1,100,500,1000" },
    seconds: { type: "string", default: "30" },
    rounds: { type: "string", default: "3" },
    only: { type: "string", default: "frame,startup,api,load,lifecycle,store,resume,scale" },
    write: { type: "boolean", default: false },
  },
});
const only = new Set(values.only!.split(","));
const levels = values.calls!.split(",").map(Number);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const out: string[] = [];
const ANALYSIS = "## What limits each figure";
const say = (line = "") => {
  out.push(line);
  console.log(line);
};

say("# Benchmark results");
say();
say(`Command: \`bun run bench -- ${process.argv.slice(2).join(" ")}\``.replace(/ -- $/, ""));
say(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Bun ${Bun.version}, ${new Date().toISOString().slice(0, 10)}. The load generator, the simulators and the server share these cores.`,
);

if (only.has("frame")) {
  say();
  say("## 1. Per-frame cost (median of 11 rounds, ours and the baseline in alternating rounds)");
  say();
  say(frameTable(runFrameBench()));
  say();
  say("### Hold detector: the music meter on each caller frame, against the passthrough alone");
  say();
  say(holdMeterTable(runHoldMeterBench()));
}

if (only.has("load")) {
  say();
  say(`## 2. Load: concurrent paced calls for ${seconds} s, audio both ways, through the real server`);
  say();
  say(
    "Caller → model: a stamped 20 ms frame every 20 ms per call; model → caller: a stamped 100 ms delta every 100 ms plus its mark; the model interrupts every 5 s per call. Latency is the age of a stamped frame when it arrives at the other simulator (both in the load generator's process, one clock).",
  );
  say();
  say(
    `Each level runs with the same generator through **agenticai** (\`src/main.ts server\`, calls placed with POST /api/call) and through the **floor**, a relay that makes the same socket operations per call and nothing else (bench/relay.ts: no checks, no state, no storage), the two taking turns for ${rounds} round${rounds === 1 ? "" : "s"}, the floor first in every second round: on a shared host either one's CPU moves by up to ±15 % from one run to the next, so one pair of runs does not say which costs more, and the second of two runs in a row costs a few % more than the first, whichever it is. CPU is the process's user + system time from /proc over the window. RSS is read once a second over the window, less the process's RSS after one warm-up call, per call (from 100 calls up: with fewer, the few MB a garbage collection moves either way swamp it).`,
  );
  say();
  say(
    "| calls | through | in p50 / p99 / max ms | out p50 / p99 / max ms | lost in / out | CPU ms per call-s | RSS KB per call, mean / peak | generator CPU % |",
  );
  say("|---:|---|---|---|---|---:|---:|---:|");
  const results: LoadResult[] = [];
  // Below this, the few MB a collection moves either way are more than the calls hold.
  const MIN_CALLS_FOR_RSS = 100;
  const row = (r: LoadResult, floor?: LoadResult) => {
    const ratio = (a: number, b: number | undefined) => (b === undefined ? "" : ` (${fmt(a / b, 2)}× floor)`);
    say(
      `| ${r.calls}${r.unstarted ? ` (${r.unstarted} never streamed)` : ""} | ${r.target === "server" ? "agenticai" : "floor"} | ${fmt(r.inbound.p50, 2)} / ${fmt(r.inbound.p99, 2)} / ${fmt(r.inbound.max, 1)} | ${fmt(r.outbound.p50, 2)} / ${fmt(r.outbound.p99, 2)} / ${fmt(r.outbound.max, 1)} | ${r.lostIn} / ${r.lostOut} | ${fmt(r.cpuMsPerCallSecond, 2)}${ratio(r.cpuMsPerCallSecond, floor?.cpuMsPerCallSecond)} | ${r.calls < MIN_CALLS_FOR_RSS ? "–" : `${fmt(r.rssKbPerCall.mean, 0)} / ${fmt(r.rssKbPerCall.peak, 0)}${ratio(r.rssKbPerCall.mean, floor?.rssKbPerCall.mean)}`} | ${fmt(r.generatorCpuPercent, 0)} |`,
    );
  };
  const ratios: { calls: number; server: number[]; floor: number[]; lost: number }[] = [];
  for (const calls of levels) {
    const level = { calls, server: [] as number[], floor: [] as number[], lost: 0 };
    for (let round = 0; round < rounds; round++) {
      // Which runs first alternates: the second of two runs in a row costs a few % more, whichever it is.
      const floorFirst = round % 2 === 1;
      const first = await runLoad(calls, seconds, floorFirst ? "relay" : "server");
      const second = await runLoad(calls, seconds, floorFirst ? "server" : "relay");
      const [r, floor] = floorFirst ? [second, first] : [first, second];
      if (round === 0) results.push(r);
      row(r, floor);
      row(floor);
      level.server.push(r.cpuMsPerCallSecond);
      level.floor.push(floor.cpuMsPerCallSecond);
      level.lost += r.lostIn + r.lostOut;
    }
    ratios.push(level);
  }
  say();
  say("### CPU per call-second against the floor, over the rounds");
  say();
  say(
    "| calls | agenticai, median ms | floor, median ms | **median ÷ median** | each round's ratio | frames lost, all rounds |",
  );
  say("|---:|---:|---:|---:|---|---:|");
  for (const l of ratios) {
    const each = l.server.map((s, i) => `${fmt(s / l.floor[i]!, 2)}×`).join(", ");
    say(
      `| ${l.calls} | ${fmt(median(l.server), 3)} | ${fmt(median(l.floor), 3)} | **${fmt(median(l.server) / median(l.floor), 2)}×** | ${each} | ${l.lost} |`,
    );
  }
  say();
  say(`## 3. Barge-in reaction under the same load${rounds > 1 ? " (each level's first round)" : ""}`);
  say();
  say(
    "| calls | in the server: speech_started received → clear and truncate sent, p50 / p99 ms (n) | round trip: model sends speech_started → truncate arrives, p50 / p99 ms |",
  );
  say("|---:|---|---|");
  for (const r of results) {
    say(
      `| ${r.calls} | ${fmt(r.bargeInServer.p50, 3)} / ${fmt(r.bargeInServer.p99, 3)} (${r.bargeInServer.count}) | ${fmt(r.bargeInRoundTrip.p50, 2)} / ${fmt(r.bargeInRoundTrip.p99, 2)} |`,
    );
  }
}

if (only.has("startup")) {
  await compile();
  const s = await runStartupBench();
  say();
  say("## 4. Startup of the compiled binary");
  say();
  say(
    `exec → first 200 from /health, ${s.runs} starts each, the targets taking turns, each restarting with its own config and data dir as a deployment does (the config-changed row listens on a new port each start, so its config is checked as on a first start); binary ${fmt(s.binaryBytes / 1024 / 1024)} MiB.`,
  );
  say();
  say("| binary | median ms | min ms | max ms |");
  say("|---|---:|---:|---:|");
  for (const r of s.results) say(`| ${r.name} | **${fmt(r.medianMs)}** | ${fmt(r.minMs)} | ${fmt(r.maxMs)} |`);
  say();
  say(`exec → exit of \`--version\`, ${s.runs} runs each, the two taking turns.`);
  say();
  say("| binary | median ms | min ms | max ms |");
  say("|---|---:|---:|---:|");
  for (const r of s.version) say(`| ${r.name} | **${fmt(r.medianMs)}** | ${fmt(r.minMs)} | ${fmt(r.maxMs)} |`);
}

if (only.has("api")) {
  const a = await runApiBench();
  say();
  say("## 5. POST /api/call against the simulated carrier");
  say();
  say(
    `${a.clients} concurrent clients, ${a.requests} calls: p50 **${fmt(a.p50)} ms**, p99 **${fmt(a.p99)} ms**, max ${fmt(a.max)} ms, ${fmt(a.perSecond, 0)} calls/s.`,
  );
}

/** A section whose module words its own lines: its heading, then them. */
async function section(name: string, heading: string, lines: () => Promise<string[]>): Promise<void> {
  if (!only.has(name)) return;
  const words = await lines();
  say();
  say(heading);
  say();
  for (const line of words) say(line);
}

await section("store", "## 6. Storage: SQLite against PostgreSQL", async () => storeSection(await runStoreBench()));
await section("resume", "## 7. Resuming a call whose media stream dropped", async () =>
  resumeSection(await runResumeBench()),
);
await section("scale", "## 8. The SQLite store's polls and pages on a month of calls", async () =>
  storeScaleSection(await runStoreScaleBench()),
);
await section("lifecycle", "## 9. A call's whole life: what it costs around its audio", async () =>
  lifecycleSection(await runLifecycleBench()),
);

if (values.write) {
  // The analysis below the numbers is written by hand after reading a run; a new run keeps it.
  const file = Bun.file(join(import.meta.dir, "RESULTS.md"));
  const previous = (await file.exists()) ? await file.text() : "";
  const at = previous.indexOf(ANALYSIS);
  await Bun.write(file, `${out.join("\n")}\n${at >= 0 ? `\n${previous.slice(at)}` : ""}`);
}
