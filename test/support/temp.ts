// Temp dirs the tests make, removed after the whole run by test/support/cleanup.ts (preloaded, bunfig.toml):
// `bun test` never emits the process's "exit" event, so a run used to leave every one of them behind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const madeDirs: string[] = [];

export function tempDir(prefix = "agenticai-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
