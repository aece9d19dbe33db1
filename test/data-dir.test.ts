// A data dir the server cannot make or write ends the start with one line and exit 2, as a config error does.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempDir } from "./support/app.ts";
import { childEnv, finish, type Run, repoRoot, runCli } from "./support/process.ts";

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A scratch dir others may enter (a `nobody` child must reach the data dir in it) with an empty config file. */
function scratch(): { dir: string; env: Record<string, string> } {
  const dir = tempDir("agenticai-data-dir-");
  dirs.push(dir);
  chmodSync(dir, 0o755);
  const config = join(dir, "config.yaml");
  writeFileSync(config, "");
  return { dir, env: { AGENTICAI_CONFIG: config, HOST: "127.0.0.1", PORT: "0" } };
}

/** Every directory from `path` up lets others in: a child dropped to `nobody` can then run bun and the checkout. */
function othersCanEnter(path: string): boolean {
  for (let p = path; ; p = dirname(p)) {
    if ((statSync(p).mode & 0o005) !== 0o005) return false;
    if (p === dirname(p)) return true;
  }
}

/** `server` run as `nobody`, since root may write anywhere whatever a directory's mode says. */
function serverAsNobody(env: Record<string, string>): Promise<Run> {
  const proc = Bun.spawn([process.execPath, "src/main.ts", "server"], {
    cwd: repoRoot,
    env: childEnv(env),
    uid: NOBODY,
    gid: NOBODY,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return finish(proc);
}

/** One line on stderr, no stack trace, nothing logged as listening. */
function expectOneLineRefusal(run: Run): string {
  expect(run.code).toBe(2);
  expect(run.stdout).not.toContain("agenticai listening");
  const lines = run.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("agenticai: cannot write the data dir ");
  return lines[0]!;
}

// A path that cannot be made fails the same for every user, root included, so this runs anywhere.
test("a data dir under a regular file: one line naming the dir and the cause, exit 2", async () => {
  const { dir, env } = scratch();
  writeFileSync(join(dir, "file"), "");
  const dataDir = join(dir, "file", "data");

  const line = expectOneLineRefusal(await runCli(["server"], { ...env, AGENTICAI_DATA_DIR: dataDir }));
  expect(line).toContain(`data dir ${dataDir} `);
  expect(line).toContain("ENOTDIR");
  expect(line).toContain("set AGENTICAI_DATA_DIR");
});

// The container's case: a directory owned by someone else (a root-owned bind mount). Root ignores modes,
// so as root the server runs as `nobody`; as anyone else, the directory is made read-only instead.
test.skipIf(asRoot && !(othersCanEnter(repoRoot) && othersCanEnter(dirname(process.execPath))))(
  "a data dir this user cannot write: one line that says how to give it to the user, exit 2",
  async () => {
    const { dir, env } = scratch();
    const dataDir = join(dir, "data");
    mkdirSync(dataDir, { mode: 0o755 });
    if (!asRoot) chmodSync(dataDir, 0o555);
    const childEnvVars = { ...env, AGENTICAI_DATA_DIR: dataDir };

    const run = asRoot ? await serverAsNobody(childEnvVars) : await runCli(["server"], childEnvVars);
    const [uid, gid] = asRoot ? [NOBODY, NOBODY] : [process.getuid!(), process.getgid!()];
    const line = expectOneLineRefusal(run);
    expect(line).toContain(`data dir ${dataDir} as uid ${uid} (EACCES`);
    expect(line).toContain(`chown -R ${uid}:${gid} it`);
    expect(line).toContain("named volume");
  },
);
