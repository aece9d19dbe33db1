// `bun bench/first-use.ts BINARY...`: what a running server pays the first time it uses a part it loads on first use,
// read from outside. Each binary (a `bun run build` of some commit) serves the simulated carrier and voice model with
// `LIVE` calls up; then, one after the other, the first MCP session (`initialize` and `tools/list` on /mcp: the MCP SDK
// loads), a second one, and the first call report (one more call ends; the simulated report model writes it). Read for each: the longest
// /health answer meanwhile, asked every 2 ms (the event loop stopping is what the live calls hear), and the growth of
// resident memory from just before to 2 s after. The binaries take turns, `ROUNDS` starts each.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startCarrier } from "../src/sim/carrier.ts";
import { loadScript } from "../src/sim/script.ts";
import { simulatorEnv } from "../src/sim/simulators.ts";
import { startRealtimeSim } from "../src/sim/voice-model.ts";
import { until } from "../test/support/until.ts";
import { freePort, pool, serverEnv, UNLIMITED, untilHealthy } from "./server.ts";
import { fmt, median, processRssKb } from "./stats.ts";

const ROUNDS = 7;
const LIVE = 20;
const SILENT_CALLEE = "+15550100006";

interface Cost {
  stallMs: number;
  growthMb: number;
}
interface Sample {
  idleMb: number;
  mcp: Cost;
  mcpAgain: Cost;
  report: Cost;
}

async function placeCall(url: string): Promise<string> {
  const res = await fetch(`${url}/api/call`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ to: SILENT_CALLEE, webhook_url: url }),
  });
  const { call_id } = (await res.json()) as { call_id?: string };
  if (!call_id) throw new Error("first-use: POST /api/call failed");
  return call_id;
}

const callView = async (url: string, id: string) =>
  (await (await fetch(`${url}/api/calls/${id}`)).json()) as { status: string; report: unknown };

/** The longest /health answer, asked back to back every 2 ms, until `done` resolves. */
async function longestHealth(url: string, done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  let longest = 0;
  while (!finished) {
    const t0 = performance.now();
    await fetch(`${url}/health`);
    longest = Math.max(longest, performance.now() - t0);
    await Bun.sleep(2);
  }
  return longest;
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
};
const LIST = { jsonrpc: "2.0", id: 2, method: "tools/list" };

/** `use` done once, with /health asked meanwhile and the RSS read before and 2 s after. */
async function cost(url: string, pid: number, use: () => Promise<unknown>): Promise<Cost> {
  const before = processRssKb(pid);
  const done = use();
  const stallMs = await longestHealth(url, done);
  await done;
  await Bun.sleep(2_000);
  return { stallMs, growthMb: (processRssKb(pid) - before) / 1024 };
}

/** What a client does first: initialize, then list the tools (stateless: one POST each). */
async function mcpSession(url: string): Promise<void> {
  for (const message of [INITIALIZE, LIST]) {
    const res = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify(message),
    });
    if (!res.ok) throw new Error(`first-use: /mcp answered ${res.status}`);
    await res.text();
  }
}

async function firstReport(url: string, id: string): Promise<void> {
  await fetch(`${url}/api/calls/${id}/end`, { method: "POST" });
  await until(async () => (await callView(url, id)).report !== null, "the report", 30_000, 20);
}

async function once(binary: string): Promise<Sample> {
  const carrier = await startCarrier({ autoCalls: { script: await loadScript() } });
  const model = startRealtimeSim();
  const dir = mkdtempSync(join(tmpdir(), "agenticai-bench-"));
  writeFileSync(join(dir, "config.yaml"), UNLIMITED);
  const port = await freePort();
  const env = serverEnv(dir, port, simulatorEnv({ carrier, model }));
  const proc = Bun.spawn([binary, "server"], { cwd: dir, env, stdout: "ignore", stderr: "inherit" });
  const url = `http://127.0.0.1:${port}`;
  try {
    await untilHealthy(url, proc, 20);
    await Bun.sleep(1_000);
    const idleMb = processRssKb(proc.pid) / 1024;
    const live = await Promise.all(Array.from({ length: LIVE }, () => placeCall(url)));
    const id = await placeCall(url);
    const answered = async () =>
      (await Promise.all([...live, id].map((c) => callView(url, c)))).every((c) => c.status === "in-progress");
    await until(answered, "the calls to be answered", 30_000, 20);
    await Bun.sleep(1_000);
    const mcp = await cost(url, proc.pid, () => mcpSession(url));
    const mcpAgain = await cost(url, proc.pid, () => mcpSession(url));
    const report = await cost(url, proc.pid, () => firstReport(url, id));
    await pool(live, 10, async (c) => void (await fetch(`${url}/api/calls/${c}/end`, { method: "POST" })));
    return { idleMb, mcp, mcpAgain, report };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
    model.stop();
    await carrier.stop();
  }
}

const binaries = process.argv.slice(2).map((b) => resolve(b));
if (binaries.length === 0) throw new Error("usage: bun bench/first-use.ts BINARY...");
const samples = new Map<string, Sample[]>(binaries.map((b) => [b, []]));
for (let round = 0; round < ROUNDS; round++) for (const b of binaries) samples.get(b)!.push(await once(b));

const HEAD =
  "| binary | idle RSS, MB | first MCP session: longest /health, ms | RSS growth, MB | second MCP session: longest /health, ms | first report: longest /health, ms | RSS growth, MB |";
console.log(`${HEAD}\n|---|---:|---:|---:|---:|---:|---:|`);
for (const [b, s] of samples) {
  const cells = [
    (x: Sample) => x.idleMb,
    (x: Sample) => x.mcp.stallMs,
    (x: Sample) => x.mcp.growthMb,
    (x: Sample) => x.mcpAgain.stallMs,
    (x: Sample) => x.report.stallMs,
    (x: Sample) => x.report.growthMb,
  ].map((f) => fmt(median(s.map(f))));
  console.log(`| ${b} | ${cells.join(" | ")} |`);
}
console.log(
  `medians of ${ROUNDS} starts each, ${LIVE} calls live; all: ${JSON.stringify(Object.fromEntries(samples))}`,
);
