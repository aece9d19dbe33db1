// Cold start of the compiled binary: exec → first 200 from /health, exec → exit of `--version`, and the
// binary's size. For /health three targets take turns, so the host's drift falls on all of them alike: agenticai as first run
// (no credentials), agenticai with Twilio configured (the SDK is warmed up after start-up), and the
// floor: an empty Bun.serve compiled with the same flags, the least any Bun binary can do.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { freePort, serverEnv } from "./server.ts";
import { percentile } from "./stats.ts";

const BINARY = join(import.meta.dir, "..", "dist", "agenticai");
const TWILIO_ENV = {
  TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
  TWILIO_AUTH_TOKEN: "x".repeat(32),
  TWILIO_PHONE_NUMBER: "+15550100000",
};

export interface Target {
  name: string;
  argv: string[];
  env: Record<string, string>;
  /**
   * The port every start of this target listens on, as a restarted deployment's does; none: a new one each start,
   * so each start's config differs from the last one's (the server checks it again, src/config/remembered.ts).
   */
  port?: number;
}

/**
 * One start of `target` in `dir`: ms from exec to its first /health 200. `atFirst200` reads the process (by its pid)
 * at that moment, before it is stopped.
 */
export async function once(target: Target, dir: string, atFirst200?: (pid: number) => void): Promise<number> {
  const port = target.port ?? (await freePort());
  const t0 = performance.now();
  const proc = Bun.spawn(target.argv, {
    cwd: dir,
    env: serverEnv(dir, port, target.env),
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => null);
      if (res?.status === 200) {
        const ms = performance.now() - t0;
        atFirst200?.(proc.pid);
        return ms;
      }
      if (performance.now() - t0 > 10_000) throw new Error(`${target.name} did not answer /health within 10 s`);
      await Bun.sleep(1);
    }
  } finally {
    proc.kill();
    await proc.exited;
  }
}

/** Runs package.json's build script, optionally on another entry and output, so every binary gets its flags. */
export async function compile(entry = "src/main.ts", outfile = "dist/agenticai"): Promise<void> {
  const args = pkg.scripts.build
    .split(" ")
    .slice(1)
    .map((a) => (a === "src/main.ts" ? entry : a === "dist/agenticai" ? outfile : a));
  const proc = Bun.spawn([process.execPath, ...args], {
    cwd: join(import.meta.dir, ".."),
    stdout: "ignore",
    stderr: "inherit",
  });
  if ((await proc.exited) !== 0) throw new Error(`building ${outfile} failed`);
}

/** A floor binary: the build script's own flags on a file that does only what is timed. */
async function buildFloor(dir: string, name: string, code: string): Promise<string> {
  const source = join(dir, `${name}.ts`);
  writeFileSync(source, code);
  const outfile = join(dir, name);
  await compile(source, outfile);
  return outfile;
}

const SERVE_FLOOR =
  'Bun.serve({ hostname: process.env.HOST, port: Number(process.env.PORT), fetch: () => new Response("ok") });\n';
const VERSION_FLOOR = `console.log(${JSON.stringify(pkg.version)});\n`;

/** exec → exit, for a command that prints and exits. */
async function runOnce(argv: string[], dir: string): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { cwd: dir, env: serverEnv(dir, 0), stdout: "ignore", stderr: "ignore" });
  if ((await proc.exited) !== 0) throw new Error(`${argv.join(" ")} failed`);
  return performance.now() - t0;
}

export interface StartupResult {
  name: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
}

function summarise(names: string[], times: number[][]): StartupResult[] {
  return names.map((name, t) => {
    const sorted = times[t]!.sort((a, b) => a - b);
    return { name, medianMs: percentile(sorted, 50), minMs: sorted[0]!, maxMs: sorted.at(-1)! };
  });
}

/** `agenticai --version` against an empty binary that prints a version, taking turns. */
async function versionBench(dir: string, runs: number): Promise<StartupResult[]> {
  const targets = [
    { name: "agenticai --version", argv: [BINARY, "--version"] },
    {
      name: "floor: empty binary printing a version, same build flags",
      argv: [await buildFloor(dir, "version", VERSION_FLOOR)],
    },
  ];
  const times = targets.map(() => [] as number[]);
  for (let i = 0; i < runs; i++)
    for (const [t, target] of targets.entries()) times[t]!.push(await runOnce(target.argv, dir));
  return summarise(
    targets.map((t) => t.name),
    times,
  );
}

/**
 * BENCH_BASELINE_BINARY=path adds another build of agenticai (say, of the commit before a change) to the turns, with
 * a data dir of its own, so a change's before and after are measured in the same run.
 */
function baselineTargets(): Target[] {
  const binary = process.env.BENCH_BASELINE_BINARY;
  if (!binary) return [];
  return [
    { name: "baseline binary, first run (no credentials)", argv: [binary, "server"], env: {} },
    { name: "baseline binary, Twilio configured", argv: [binary, "server"], env: TWILIO_ENV },
  ];
}

/**
 * Each target restarts as a deployment does: the same config (its own port) and its own data dir, so no target's
 * start follows another's config. The last agenticai target starts with a new port each time: a config the server
 * has not seen, which it checks as on a first start.
 */
async function ownPlaces(targets: Target[], dir: string): Promise<Target[]> {
  const placed: Target[] = [];
  for (const [i, target] of targets.entries()) {
    const port = target.name.includes("config changed") ? undefined : await freePort();
    placed.push({ ...target, port, env: { AGENTICAI_DATA_DIR: join(dir, `data-${i}`), ...target.env } });
  }
  return placed;
}

export async function runStartupBench(runs = 20) {
  if (!existsSync(BINARY)) throw new Error("dist/agenticai is missing: run `bun run build` first");
  const dir = mkdtempSync(join(tmpdir(), "agenticai-startup-"));
  writeFileSync(join(dir, "config.yaml"), "");
  try {
    const targets = await ownPlaces(
      [
        { name: "agenticai, first run (no credentials)", argv: [BINARY, "server"], env: {} },
        { name: "agenticai, Twilio configured", argv: [BINARY, "server"], env: TWILIO_ENV },
        {
          name: "agenticai, config changed since the last start (checked again)",
          argv: [BINARY, "server"],
          env: {},
        },
        {
          name: "floor: empty Bun.serve, same build flags",
          argv: [await buildFloor(dir, "serve", SERVE_FLOOR)],
          env: {},
        },
        ...baselineTargets(),
      ],
      dir,
    );
    // A binary's first start creates its database; every start after it is a normal restart.
    for (const target of targets) if (target.argv[1] === "server") await once(target, dir);
    const times = targets.map(() => [] as number[]);
    for (let i = 0; i < runs; i++) for (const [t, target] of targets.entries()) times[t]!.push(await once(target, dir));
    const results = summarise(
      targets.map((t) => t.name),
      times,
    );
    return { runs, results, version: await versionBench(dir, runs), binaryBytes: statSync(BINARY).size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(await runStartupBench());
