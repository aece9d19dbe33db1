// The data dir filling up mid-call (SQLITE_FULL), for real: the server's data dir is a small tmpfs,
// filled to the last block while a call is talking. The server logs the error, answers 5xx JSON for
// what it cannot store, keeps serving /health and the live call, and catches up once space returns.
//
// Mounting needs root with CAP_SYS_ADMIN (chmod alone stops nothing for root, and SQLite's
// max_page_count is per connection, so a second connection cannot limit the server's); elsewhere the
// test is skipped.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { startTestApp, type TestApp, tempDir } from "../support/app.ts";
import { until } from "../support/until.ts";

const dir = tempDir("agenticai-full-");
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m,mode=700", "tmpfs", dir]).status === 0;
const filler = join(dir, "filler");

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
  rmSync(filler, { force: true });
});
beforeAll(() => {
  if (!mounted) console.warn("storage fault test skipped: cannot mount a tmpfs (needs root)");
});
afterAll(() => {
  if (mounted && spawnSync("umount", [dir]).status !== 0) spawnSync("umount", ["-l", dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** Writes until the filesystem has not a byte left. */
function fillDisk(): void {
  const fd = openSync(filler, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

const logged = (msg: string) => app!.logs.filter((l) => l.msg === msg);

describe.skipIf(!mounted)("the data dir is full mid-call", () => {
  test("5xx JSON for what cannot be stored, /health and the live call go on, recovery once space returns", async () => {
    const a = await startTestApp({
      dataDir: dir,
      config: { openai: { vad: { silence_ms: 200 } } },
      model: { callerTranscripts: ["Written to a full disk."], replyMs: 200 },
    });
    app = a;
    const { id, sid } = await a.call();
    const media = await a.answer(sid, { instantPlayback: true });
    await until(() => media.totalAudioBytes >= 1600, "greeting audio");

    fillDisk();
    // The caller speaks: the bridge's batched transcript write fails in its timer.
    await media.sendSpeech(400);
    await media.sendSilence(300);
    await until(
      () => logged("storing transcript turns and metrics failed; holding them and retrying").length > 0,
      "batch write error logged",
    );

    const placed = await a.api("/api/call", { body: { to: "+15551230002", webhook_url: a.url } });
    expect(placed.status).toBe(503);
    expect(placed.body).toEqual({
      success: false,
      error: "Storage unavailable: the database cannot be written (disk full or read-only)",
    });
    const failed = logged("request failed").at(-1);
    expect(String((failed?.error as { message?: string })?.message ?? failed?.error)).toMatch(/full/i);
    expect((await a.api("/health")).status).toBe(200);
    expect((await a.api(`/api/calls/${id}`)).body.active).toBe(true);
    expect(media.isOpen()).toBe(true);

    rmSync(filler);
    // The turn held back while the disk was full is stored once there is room.
    await until(
      async () => (await a.ctx.store.transcript(id)).some((t) => t.text === "Written to a full disk."),
      "held-back turn stored",
    );
    expect(logged("stored the held transcript turns and metrics")).toHaveLength(1);
    const other = await a.call({ to: "+15551230003" });
    expect((await a.api(`/api/calls/${other.id}`)).body.status).toBe("queued");
    expect((await a.api(`/api/calls/${id}/end`, { method: "POST" })).status).toBe(200);
  }, 10_000);
});
