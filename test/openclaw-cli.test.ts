// The real OpenClaw CLI reads our skill: listed, its requirements parsed, eligible once its variables
// are set, and not one warning. The CLI needs Node 24 and ~650 MB, so .ci/run installs both outside
// the project (test/support/openclaw-cli.sh) and names them in OPENCLAW_CLI and OPENCLAW_NODE; a
// developer's `npm test` without them leaves this one out.
import { describe, expect, test } from "bun:test";
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./support/app.ts";
import { finish, repoRoot } from "./support/process.ts";

const cli = process.env.OPENCLAW_CLI;
const node = process.env.OPENCLAW_NODE;

async function openclaw(home: string, args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([node!, cli!, ...args], {
    env: { HOME: home, PATH: `${join(node!, "..")}:/usr/bin:/bin`, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const run = await finish(proc, 60_000);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return run.stdout;
}

describe.if(Boolean(cli && node))("the OpenClaw CLI and skills/agenticai-call", () => {
  const home = tempDir("agenticai-openclaw-");
  mkdirSync(join(home, ".openclaw", "skills"), { recursive: true });
  cpSync(join(repoRoot, "skills", "agenticai-call"), join(home, ".openclaw", "skills", "agenticai-call"), {
    recursive: true,
  });

  test("lists the skill with its requirements, and needs setup without its variables", async () => {
    const info = JSON.parse(await openclaw(home, ["skills", "info", "agenticai-call", "--json"]));
    expect(info).toMatchObject({
      primaryEnv: "AGENTICAI_API_TOKEN",
      requirements: { bins: ["curl"], env: ["AGENTICAI_URL", "AGENTICAI_API_TOKEN"] },
      missing: { env: ["AGENTICAI_URL", "AGENTICAI_API_TOKEN"] },
      eligible: false,
    });
    expect(await openclaw(home, ["skills", "list", "-v"])).toContain("agenticai-call");
  }, 120_000);

  test("is ready once AGENTICAI_URL and AGENTICAI_API_TOKEN are set", async () => {
    const env = { AGENTICAI_URL: "http://127.0.0.1:8080", AGENTICAI_API_TOKEN: "0123456789abcdefXYZ" };
    const info = JSON.parse(await openclaw(home, ["skills", "info", "agenticai-call", "--json"], env));
    expect(info).toMatchObject({ eligible: true, missing: { env: [], bins: [] } });
    expect(await openclaw(home, ["skills", "check"], env)).toContain("agenticai-call");
  }, 120_000);
});
