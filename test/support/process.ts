import { afterEach } from "bun:test";
// Running src/main.ts as a child process with a clean environment.

import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { ENV_OVERRIDES } from "../../src/config/env.ts";
import { tempDir } from "./temp.ts";

export const repoRoot = resolve(import.meta.dir, "../..");

/**
 * Nothing from the parent but PATH/HOME; every config variable blanked so neither the parent's
 * AGENTICAI_API_TOKEN/PORT nor a stray .env in the repo root reach the child (set variables win over .env).
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? tmpdir(),
    AGENTICAI_SERVER_URL: "",
  };
  for (const [name] of ENV_OVERRIDES) env[name] = "";
  return { ...env, ...extra };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `src/main.ts` as a child process with piped output and only the given environment. */
function spawnMain(args: string[], env: Record<string, string>) {
  return Bun.spawn([process.execPath, "src/main.ts", ...args], {
    cwd: repoRoot,
    env: childEnv(env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Runs the CLI to completion; a command that unexpectedly starts a server is killed rather than hanging the suite. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return finish(spawnMain(args, env));
}

/** A child's exit code and whole output; one still running after `timeoutMs` is killed. */
export async function finish(proc: Subprocess<"ignore", "pipe", "pipe">, timeoutMs = 10_000): Promise<Run> {
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

export interface ServerProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** "http://127.0.0.1:PORT", no trailing slash. */
  url: string;
  port: number;
  /** Parsed JSON log lines from stdout so far. */
  logs: Record<string, any>[];
  stderr: () => string;
}

/**
 * Starts `bun src/main.ts <args>` and resolves once its log names the URL it listens on. The child is
 * added to `children` so the test can kill whatever is left in afterEach.
 */
export async function spawnServer(
  args: string[],
  env: Record<string, string>,
  children: Set<ServerProcess>,
): Promise<ServerProcess> {
  const proc = spawnMain(args, env);
  const logs: Record<string, any>[] = [];
  let stderr = "";
  void new Response(proc.stderr)
    .text()
    .then((t) => (stderr = t))
    .catch(() => undefined);
  const child: ServerProcess = { proc, url: "", port: 0, logs, stderr: () => stderr };
  children.add(child);

  // Keep draining stdout for the life of the process, so it never blocks on a full pipe.
  const listening = new Promise<string>((resolveUrl, reject) => {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of proc.stdout) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          let record: Record<string, any>;
          try {
            record = JSON.parse(line);
          } catch {
            record = { msg: "(not JSON)", line };
          }
          logs.push(record);
          if (record.msg === "agenticai listening") resolveUrl(String(record.url));
        }
      }
      reject(new Error(`server exited before listening (code ${await proc.exited}): ${stderr}`));
    })().catch(reject);
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  try {
    child.url = (await listening).replace(/\/$/, "");
  } finally {
    clearTimeout(timer);
  }
  child.port = Number(new URL(child.url).port);
  return child;
}

/**
 * `server --simulate` on loopback, with a data dir of its own and an empty config file, so nothing of the
 * repository's config.yaml or the parent's environment reaches it; `env` adds to its environment.
 */
export function spawnSimulated(children: Set<ServerProcess>, env: Record<string, string> = {}): Promise<ServerProcess> {
  const dir = tempDir("agenticai-simulated-");
  writeFileSync(join(dir, "config.yaml"), "");
  const files = { AGENTICAI_DATA_DIR: join(dir, "data"), AGENTICAI_CONFIG: join(dir, "config.yaml") };
  return spawnServer(["server", "--simulate"], { HOST: "127.0.0.1", PORT: "0", ...files, ...env }, children);
}

/**
 * The server children and clean-ups of a test file, ended after each of its tests: a crash test leaves
 * servers running on purpose.
 */
export function cleanedAfterEach(): { children: Set<ServerProcess>; cleanups: (() => unknown)[] } {
  const children = new Set<ServerProcess>();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const child of children) {
      child.proc.kill("SIGKILL");
      await child.proc.exited;
    }
    children.clear();
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  return { children, cleanups };
}

/** A JSON request to a child server: GET, or POST with `body`. */
export async function childApi(
  child: ServerProcess,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(child.url + path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
