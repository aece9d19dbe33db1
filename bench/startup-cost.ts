// `bun bench/startup-cost.ts BINARY...`: what each binary's start has cost by its first /health 200, read from /proc
// at that moment: CPU of all its threads and of its main thread, page faults, threads. The binaries take turns for 30
// starts each (the first two not counted), each restarting in a data dir of its own; medians are printed. Wall time
// on a shared host moves by ±20 % with its phase; what a start does moves far less, so this is what start-up changes
// are compared by (bench/RESULTS.md). A binary whose name ends in "serve" is started without the `server` argument
// (an empty Bun.serve built with the same flags, as bench/startup.ts makes).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./server.ts";
import { once, type Target } from "./startup.ts";
import { median } from "./stats.ts";

const STARTS = 32;
const WARM_UP = 2;

interface Sample {
  wall: number;
  cpu: number;
  main: number;
  faults: number;
  threads: number;
}

/** CPU ms of a thread of `pid` so far, from schedstat (ns on a CPU). */
const threadCpuMs = (pid: number, tid: string) =>
  Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1e6;

function readSample(pid: number): Omit<Sample, "wall"> {
  const tids = readdirSync(`/proc/${pid}/task`);
  // The fields after the command's closing parenthesis: the 8th is minflt.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return {
    cpu: tids.reduce((sum, tid) => sum + threadCpuMs(pid, tid), 0),
    main: threadCpuMs(pid, String(pid)),
    faults: Number(stat[7]),
    threads: tids.length,
  };
}

const binaries = process.argv.slice(2).map((b) => resolve(b));
if (binaries.length === 0) throw new Error("usage: bun bench/startup-cost.ts BINARY...");
const dir = mkdtempSync(join(tmpdir(), "agenticai-startup-cost-"));
try {
  writeFileSync(join(dir, "config.yaml"), "");
  const targets: Target[] = [];
  for (const [i, binary] of binaries.entries())
    targets.push({
      name: binary,
      argv: binary.endsWith("serve") ? [binary] : [binary, "server"],
      env: { AGENTICAI_DATA_DIR: join(dir, `data-${i}`) },
      port: await freePort(),
    });
  const samples = targets.map((): Sample[] => []);
  for (let n = 0; n < STARTS; n++)
    for (const [t, target] of targets.entries()) {
      let read: Omit<Sample, "wall"> | null = null;
      const wall = await once(target, dir, (pid) => {
        read = readSample(pid);
      });
      if (n >= WARM_UP && read) samples[t]!.push({ wall, ...(read as Omit<Sample, "wall">) });
    }
  for (const [t, taken] of samples.entries()) {
    const m = (key: keyof Sample) => median(taken.map((x) => x[key]));
    console.log(
      `${targets[t]!.name}: wall ${m("wall").toFixed(2)} ms, CPU ${m("cpu").toFixed(2)} ms (main thread ${m("main").toFixed(2)}), page faults ${m("faults")}, threads ${m("threads")}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
