// Fuzzes every input surface with fast-check against the real server (test/fuzz/surfaces.ts):
// `bun run fuzz [-- --runs N] [--seed S] [--only api,media] [--write]`; --write saves bench/FUZZ.md.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { percentile, SURFACES, startFuzzEnv, type Tally } from "../test/fuzz/surfaces.ts";

const HEALTH_P99_LIMIT_MS = 50;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const NOTES = [
  "Properties (test/fuzz/surfaces.ts): **api** no 5xx, every non-2xx answer but HEAD is `{success:false, error}`;",
  "**webhooks** (unsigned, garbage-signed and correctly signed forms to /twilio/status and /twilio/voice) no 5xx,",
  "400/403/404/405/413/429 are JSON errors, otherwise 200 TwiML (XML) or 204; **media** (garbage after a signed",
  "upgrade, or fuzzed messages after a valid start) and **model** (fuzzed server events from a hostile model",
  "socket during a live call, and `readModelEvent` alone) never throw, log an error or fail /health; **config**",
  "`loadConfig` returns a config or throws `ConfigError` starting `config`; **report_schema patterns** (hostile,",
  "regex-like and random patterns, and non-strings) are a 400 naming the pattern's path exactly when the pattern",
  "does not compile with the u flag or is over 1000 characters. Any error log or uncaught error fails",
  "the surface. **content types** (random Content-Type, Origin and Host headers, with and without bodies, to",
  "/api/*, /mcp and their neighbours, from a server without a token) no 5xx, every refusal `{success:false, error}`,",
  "and /api/* or /mcp answer 2xx only to a body sent as application/json (or none), no foreign Origin, and a",
  "loopback or public Host. /health is requested every 5 ms alongside, from the same process as the server and the load.",
  "`431 (Bun, bare)`: Bun answers a request line and headers over 16 KiB with an empty 431 before any handler,",
  "so that one answer cannot have the API's error shape; it is counted apart and not a failure.",
];

const fmt = (ms: number) => (Number.isNaN(ms) ? "–" : ms.toFixed(1));

function row(t: Tally): string {
  const classes = Object.entries(t.classes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const p99 = percentile(t.healthMs, 99);
  const ok = t.failures === 0 && t.healthFailures === 0 && p99 < HEALTH_P99_LIMIT_MS;
  return `| ${t.surface} | ${t.cases} | ${t.failures} | ${classes} | ${fmt(percentile(t.healthMs, 50))} | ${fmt(p99)} (${t.healthMs.length} req, ${t.healthFailures} not 200) | ${(t.durationMs / 1000).toFixed(1)} s | ${ok ? "pass" : "FAIL"} |`;
}

async function main() {
  const runs = Number(option("runs") ?? 10_000);
  const seed = option("seed") === undefined ? undefined : Number(option("seed"));
  const only = option("only")?.split(",");
  const env = await startFuzzEnv();
  const tallies: Tally[] = [];
  const t0 = performance.now();
  try {
    for (const surface of SURFACES.filter((s) => !only || only.includes(s.name))) {
      const tally = await surface.run(env, runs, seed);
      tallies.push(tally);
      console.log(row(tally));
      if (tally.counterexample) console.log(`  counterexample: ${tally.counterexample}`);
    }
  } finally {
    await env.stop();
  }
  const total = ((performance.now() - t0) / 1000).toFixed(1);
  const failed = tallies.some(
    (t) => t.failures > 0 || t.healthFailures > 0 || percentile(t.healthMs, 99) >= HEALTH_P99_LIMIT_MS,
  );
  const args = process.argv.slice(2).filter((a) => a !== "--write");
  const command = `bun run fuzz${args.length ? ` -- ${args.join(" ")}` : ""} --write`;
  const report = [
    "# Fuzzing every input surface",
    "",
    `\`${command}\`: ${runs} cases per surface${seed === undefined ? "" : `, seed ${seed}`}, ${new Date().toISOString().slice(0, 10)}, Bun ${Bun.version} on ${navigator.hardwareConcurrency} cores; ${total} s in all.`,
    "",
    "| surface | cases | failures | answers | /health p50 ms | /health p99 ms | duration | |",
    "| --- | --: | --: | --- | --: | --- | --: | --- |",
    ...tallies.map(row),
    "",
    ...tallies.filter((t) => t.counterexample).map((t) => `- ${t.surface}: ${t.counterexample}`),
    ...NOTES,
  ].join("\n");
  if (process.argv.includes("--write")) {
    const path = fileURLToPath(new URL("FUZZ.md", import.meta.url));
    writeFileSync(path, `${report}\n`);
    // Aligned the way `biome ci` wants Markdown tables.
    Bun.spawnSync(["bunx", "--bun", "biome", "format", "--write", path], { stdout: "ignore", stderr: "ignore" });
  }
  console.log(`${total} s; ${failed ? "FAILED" : "all properties held"}`);
  process.exit(failed ? 1 : 0);
}

await main();
