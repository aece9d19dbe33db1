import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childEnv, repoRoot } from "./support/process.ts";

const PRELOAD = join(repoRoot, "test/support/record-loads.ts");

/** The modules of this repository and the packages a command line loaded, by path under the repo. */
async function loads(args: string[]): Promise<{ code: number; stdout: string; modules: string[] }> {
  const proc = Bun.spawn([process.execPath, "--preload", PRELOAD, "src/main.ts", ...args], {
    cwd: repoRoot,
    // Nothing listens on port 9: `status` is refused at once.
    env: childEnv({ AGENTICAI_SERVER_URL: "http://127.0.0.1:9" }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const modules = [...stderr.matchAll(/^LOADS (.*)$/gm)].map((m) => m[1]!.replace(`${repoRoot}/`, ""));
  return { code, stdout, modules };
}

/** What only the server (or the config it reads) needs: none of it belongs in a command that does not run one. */
const SERVER_ONLY = [
  /^src\/cli\/(serve|local)\.ts$/,
  /^src\/app\.ts$/,
  /^src\/config\/(load|schema)\.ts$/,
  /^src\/(http|store|bridge|calls|workers|model|twilio|events)\//,
  /^(zod|yaml|twilio|openai)(\/|$)/,
];
const serverModules = (modules: string[]) => modules.filter((m) => SERVER_ONLY.some((re) => re.test(m)));

describe("a command loads only what it runs", () => {
  test("--version loads the entry point, the logger's writer and the version, nothing else", async () => {
    const run = await loads(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(run.modules.filter((m) => m.startsWith("src/")).sort()).toEqual([
      "src/log.ts",
      "src/main.ts",
      "src/version.ts",
    ]);
  });

  test("--help and a client command (status) load neither the server, nor the config schema, nor the store", async () => {
    const help = await loads(["--help"]);
    expect(help.code).toBe(0);
    expect(serverModules(help.modules)).toEqual([]);
    const status = await loads(["status"]);
    expect(status.code).toBe(1);
    expect(status.modules).toContain("src/cli/client.ts");
    expect(serverModules(status.modules)).toEqual([]);
  });
});

/**
 * `server` in `dir` under the preload, once its first /health has answered 200; `settle` runs then, and what both
 * pipes held by its end is returned. Both pipes are read to their end: a server whose stdout is closed on it fails its
 * next log line.
 */
async function serveOnce(dir: string, settle: (stderr: () => string) => Promise<void>): Promise<string> {
  const proc = Bun.spawn([process.execPath, "--preload", PRELOAD, join(repoRoot, "src/main.ts"), "server"], {
    cwd: dir,
    env: childEnv({ HOST: "127.0.0.1", PORT: "0", AGENTICAI_DATA_DIR: join(dir, "data") }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let stderr = "";
  let stdout = "";
  const drained = Promise.all([
    (async () => {
      for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
    })(),
    (async () => {
      for await (const chunk of proc.stdout) stdout += new TextDecoder().decode(chunk);
    })(),
  ]);
  try {
    let url: string | undefined;
    while (!url && proc.exitCode === null) {
      await Bun.sleep(5);
      url = /"msg":"agenticai listening","url":"([^"]+)"/.exec(stdout)?.[1];
    }
    expect((await fetch(`${url}health`)).status).toBe(200);
    await settle(() => stderr);
    return stderr;
  } finally {
    proc.kill();
    await proc.exited;
    await drained;
  }
}

/** The modules and packages `server` has resolved by the time its first /health answers 200. */
async function serverLoadsUntilHealthy(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "agenticai-cold-"));
  try {
    // What was resolved before the answer is on stderr already: give the pipe a moment to deliver it.
    const stderr = await serveOnce(dir, () => Bun.sleep(100));
    return [...stderr.matchAll(/^LOADS (.*)$/gm)].map((m) => m[1]!.replace(`${repoRoot}/`, ""));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the server answers its first /health without the SDKs, the simulators or PostgreSQL", async () => {
  const modules = await serverLoadsUntilHealthy();
  expect(modules).toContain("src/cli/serve.ts");
  const unused = [
    // A package as imported, or a file inside it as its own modules import each other.
    /^(node_modules\/)?(twilio|openai|yaml|libphonenumber-js|@modelcontextprotocol\/sdk)(\/|$)/,
    /^(node_modules\/)?zod(\/v4\/classic\/|\/index|$)/,
    /^src\/sim\/(simulators|demo|carrier|voice-model)\.ts$/,
    /^src\/store\/postgres\.ts$/,
  ];
  expect(modules.filter((m) => unused.some((re) => re.test(m)))).toEqual([]);
}, 20_000);

/**
 * The modules `text`'s IMPORTS lines name, less those resolved for a Bun macro (src/config/defaults.ts and the modules
 * of this repository it imports): from source, Bun runs a macro in the process that transpiles its importer, where a
 * compiled binary holds only the macro's result. What a package imports of its own is left out too: what counts is
 * whether anything at run time enters it.
 */
function runtimeImports(text: string): string[] {
  const macro = new Set([`${repoRoot}/src/config/defaults.ts`]);
  const modules: string[] = [];
  for (const [, path, importer] of text.matchAll(/^IMPORTS (.*) FROM (.*)$/gm)) {
    if (importer!.includes("/node_modules/")) continue;
    if (macro.has(importer!)) macro.add(path!);
    else modules.push(path!.replace(`${repoRoot}/`, ""));
  }
  return modules;
}

/**
 * The modules and packages a restart in `dir` resolved before it listened (and its /health could answer), and those it
 * had resolved once its first /health had answered and the rest of the start had loaded.
 */
async function restartLoads(dir: string): Promise<{ before: string[]; after: string[] }> {
  const stderr = await serveOnce(dir, async (stderr) => {
    // The rest of the start loads on its own, a few ms after listening (src/cli/serve.ts).
    for (let i = 0; i < 200 && !stderr().includes("src/cli/after-listen.ts"); i++) await Bun.sleep(10);
    await Bun.sleep(100);
  });
  const [before, after = ""] = stderr.split("LISTENS /health\n");
  return { before: runtimeImports(before!), after: runtimeImports(after) };
}

test("a restart with the config it checked before listens for /health before zod, the call service and its handlers load", async () => {
  const dir = mkdtempSync(join(tmpdir(), "agenticai-cold-"));
  // A data dir the first start finds: it keeps the config it checked there.
  mkdirSync(join(dir, "data"), { mode: 0o700 });
  try {
    await restartLoads(dir);
    const { before, after } = await restartLoads(dir);
    expect(before).toContain("src/http/health.ts");
    const later = [
      /^(node_modules\/)?zod(\/|$)/,
      /^src\/config\/(load|schema|zod)\.ts$/,
      /^src\/(app|cli\/after-listen|http\/(handlers|api|media|twilio|mcp))\.ts$/,
      /^src\/(bridge|workers|events|gatekeepers|model\/(report|realtime-session))\//,
    ];
    expect(before.filter((m) => later.some((re) => re.test(m)))).toEqual([]);
    // And then they load without a request asking for them.
    for (const module of ["src/app.ts", "src/http/handlers.ts", "src/cli/after-listen.ts"])
      expect(after).toContain(module);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
