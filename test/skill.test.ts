// skills/agenticai-call/SKILL.md: OpenClaw can load it, and every curl block in it works as written
// against `agenticai server --simulate`, which is what an assistant would run them against.
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { finish, type Run, repoRoot, type ServerProcess, spawnSimulated } from "./support/process.ts";

const SKILL_PATH = join(repoRoot, "skills/agenticai-call/SKILL.md");
const TOKEN = "skill-test-token-0123456789abcdef";
const FIELD = /^([a-z][a-z0-9-]*): (\S.*)$/;

interface Skill {
  frontmatter: string[];
  fields: Map<string, string>;
  body: string;
}

function readSkill(): Skill {
  const text = readFileSync(SKILL_PATH, "utf8");
  const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
  if (!match) throw new Error("SKILL.md must start with a --- frontmatter block");
  const frontmatter = match[1]!.split("\n");
  const fields = new Map<string, string>();
  for (const line of frontmatter) {
    const m = FIELD.exec(line);
    if (m) fields.set(m[1]!, m[2]!);
  }
  return { frontmatter, fields, body: match[2]! };
}

/** The shell blocks, in the order an assistant meets them. */
function shellBlocks(body: string): string[] {
  return [...body.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

const skill = readSkill();
const children = new Set<ServerProcess>();

afterAll(async () => {
  for (const c of children) {
    c.proc.kill("SIGKILL");
    await c.proc.exited;
  }
});

// OpenClaw's parser takes single-line keys only, so a folded or nested YAML value would be lost.
test("frontmatter: every line is a single-line `key: value`", () => {
  for (const line of skill.frontmatter) expect(line).toMatch(FIELD);
});

test("frontmatter: names the skill and says what it does in one line", () => {
  expect(skill.fields.get("name")).toBe("agenticai-call");
  expect(skill.fields.get("description")).toMatch(/phone call/i);
  const homepage = skill.fields.get("homepage");
  if (homepage !== undefined) expect(homepage).toMatch(/^https:\/\//);
});

test("frontmatter: metadata is one line of JSON declaring curl, both variables and the token as primaryEnv", () => {
  const metadata = JSON.parse(skill.fields.get("metadata") ?? "null");
  expect(metadata.openclaw.primaryEnv).toBe("AGENTICAI_API_TOKEN");
  expect(metadata.openclaw.requires.bins).toEqual(["curl"]);
  expect(metadata.openclaw.requires.env).toContain("AGENTICAI_URL");
  expect(metadata.openclaw.requires.env).toContain("AGENTICAI_API_TOKEN");
});

async function startSimulatedServer(): Promise<ServerProcess> {
  return spawnSimulated(children, { AGENTICAI_API_TOKEN: TOKEN });
}

/** A block as the assistant runs it: bash, strict mode, only the skill's variables set. */
function runBlock(block: string, url: string): Promise<Run> {
  const proc = Bun.spawn(["bash", "-euo", "pipefail", "-c", block], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      AGENTICAI_URL: url,
      AGENTICAI_API_TOKEN: TOKEN,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return finish(proc);
}

/** The simulated callee answers and the agent greets, so the transcript block has something to show. */
async function waitForGreeting(url: string, id: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const res = await fetch(`${url}/api/calls/${id}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const call = (await res.json()) as { transcript?: unknown[] };
    if (call.transcript?.length) return;
    await Bun.sleep(20);
  }
  throw new Error(`call ${id} never got a transcript turn`);
}

function checkAnswer(stdout: string, block: string, where: string): void {
  if (block.includes("/transcript")) {
    expect(stdout, where).toMatch(/^\[\d\d:\d\d:\d\d\] Agent: \S/m);
    return;
  }
  let answer: any;
  try {
    answer = JSON.parse(stdout);
  } catch {
    throw new Error(`expected JSON from ${where}`);
  }
  expect(typeof answer, where).toBe("object");
  expect(answer.success, where).not.toBe(false);
  // Every error the API sends is `{success:false, error}`; a call's own `error` field is null while all is well.
  expect(answer.error ?? null, where).toBeNull();
}

test("every curl block exits 0 against a simulated server and gets an answer that is not an error", async () => {
  if (!Bun.which("curl")) throw new Error("curl is not installed: the skill's examples need it (apt-get install curl)");
  const blocks = shellBlocks(skill.body);
  expect(blocks.length).toBeGreaterThanOrEqual(4);
  const placeCall = blocks.findIndex((b) => /-X POST "\$AGENTICAI_URL\/api\/call"/.test(b));
  expect(placeCall).toBeGreaterThanOrEqual(0);
  expect(blocks[placeCall]).toContain("report_schema");

  const server = await startSimulatedServer();
  let callId = "";
  for (const [i, block] of blocks.entries()) {
    // Only the id from the place-call block may be left for the assistant to fill in.
    expect(block.replaceAll("<call_id>", "")).not.toMatch(/<[a-z_]+>/);
    if (block.includes("<call_id>")) expect(callId, `block ${i + 1} needs a call id first`).not.toBe("");
    const result = await runBlock(block.replaceAll("<call_id>", callId), server.url);
    const where = `block ${i + 1}:\n${block}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
    expect(result.code, where).toBe(0);
    expect(result.stdout.trim(), where).not.toBe("");
    checkAnswer(result.stdout, block, where);
    if (i === placeCall) {
      callId = String(JSON.parse(result.stdout).call_id);
      expect(callId, where).toMatch(/^[0-9a-f-]{36}$/);
      await waitForGreeting(server.url, callId);
    }
  }
  expect(callId).not.toBe("");
}, 30_000);
