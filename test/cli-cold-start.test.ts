import { describe, expect, test } from "bun:test";
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
