// Running src/main.ts as a child process with a clean environment.
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { ENV_OVERRIDES } from "../../src/config/env.ts";

export const repoRoot = resolve(import.meta.dir, "../..");

/**
 * Nothing from the parent but PATH/HOME; every config variable blanked so neither the parent's
 * AGENTICAI_API_TOKEN/PORT nor a stray .env in the repo root reach the child (set variables win over .env).
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir(), AGENTICAI_SERVER_URL: "" };
  for (const [name] of ENV_OVERRIDES) env[name] = "";
  return { ...env, ...extra };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion; a command that unexpectedly starts a server is killed rather than hanging the suite. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const proc = Bun.spawn([process.execPath, "src/main.ts", ...args], { cwd: repoRoot, env: childEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}
