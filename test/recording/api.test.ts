// Recording whole simulated calls through the real server, and serving them.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ULAW_DECODE } from "../../src/media/ulaw.ts";
import { ensureRecordingsDir, recordingPath, recordingsDir } from "../../src/recording/files.ts";
import { conversation, loadScript } from "../../src/sim/script.ts";
import { startTestApp, type TestApp, type TestAppOptions, tempDir } from "../support/app.ts";
import { until } from "../support/until.ts";

setDefaultTimeout(30_000);
const TALKS = "+15550100001";

let app: TestApp | null = null;
afterEach(async () => {
  await app?.stop();
  app = null;
});

async function start(opts: TestAppOptions = {}): Promise<TestApp> {
  const script = await loadScript();
  app = await startTestApp({
    ...opts,
    config: { limits: { api_requests_per_minute: 1_000_000 }, ...opts.config },
    publicUrlSelf: true,
    model: { ...conversation(script, "talks") },
    fake: { autoCalls: { script, record: true, speed: 2 } },
  });
  return app;
}

const ended = (a: TestApp, id: string) =>
  until(async () => ((await a.api(`/api/calls/${id}`)).body.active ? null : true), "the call to end", 25_000);

/** Mean absolute level of one channel of a 16-bit stereo WAV body. */
function level(wav: Buffer, channel: 0 | 1): number {
  let sum = 0;
  const n = (wav.length - 44) / 4;
  for (let i = 0; i < n; i++) sum += Math.abs(wav.readInt16LE(44 + i * 4 + channel * 2));
  return sum / n;
}

const ulawLevel = (ulaw: Uint8Array) => ulaw.reduce((s, b) => s + Math.abs(ULAW_DECODE[b]!), 0) / ulaw.length;

describe("recordings", () => {
  test("record: true keeps what each side heard, the agent's cut-off audio left out, served with ranges", async () => {
    const a = await start();
    const { id } = await a.call({ to: TALKS, record: true });
    await ended(a, id);
    const res = await fetch(`${a.url}/api/calls/${id}/recording`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    const wav = Buffer.from(await res.arrayBuffer());
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
    expect(statSync(recordingPath(a.dataDir, id)).mode & 0o777).toBe(0o600);

    // The carrier's own recording is what the line heard; the server's must match it, side by side.
    const line = [...a.twilio.media.values()][0]!.recording();
    const seconds = (wav.length - 44) / 4 / 8000;
    expect(Math.abs(seconds - line.caller.length / 8000)).toBeLessThan(0.5);
    expect(level(wav, 0) / ulawLevel(line.caller)).toBeCloseTo(1, 1);
    expect(level(wav, 1) / ulawLevel(line.agent)).toBeCloseTo(1, 1);
    expect((await a.api(`/api/calls/${id}`)).body.metrics.barge_ins).toBe(1);

    const part = await fetch(`${a.url}/api/calls/${id}/recording`, { headers: { Range: "bytes=0-43" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 0-43/${wav.length}`);
    expect(Buffer.from(await part.arrayBuffer()).toString("ascii", 0, 4)).toBe("RIFF");
    const tail = await fetch(`${a.url}/api/calls/${id}/recording`, { headers: { Range: "bytes=-4" } });
    expect([tail.status, (await tail.arrayBuffer()).byteLength]).toEqual([206, 4]);
    const beyond = await fetch(`${a.url}/api/calls/${id}/recording`, { headers: { Range: `bytes=${wav.length}-` } });
    expect([beyond.status, beyond.headers.get("content-range")]).toEqual([416, `bytes */${wav.length}`]);
  });

  test("calls are not recorded unless asked; recording.enabled records them all", async () => {
    const a = await start();
    const { id } = await a.call({ to: "+15550100004" });
    await ended(a, id);
    const res = await a.api(`/api/calls/${id}/recording`);
    expect(res).toMatchObject({ status: 404, body: { success: false, error: "No recording for this call" } });
    await a.stop();
    const b = await start({ config: { recording: { enabled: true } } });
    const second = await b.call({ to: "+15550100004" });
    await ended(b, second.id);
    expect((await fetch(`${b.url}/api/calls/${second.id}/recording`)).status).toBe(200);
    const opted = await b.call({ to: "+15550100004", record: false });
    await ended(b, opted.id);
    expect((await b.api(`/api/calls/${opted.id}/recording`)).status).toBe(404);
  });

  test("the recording is the API's: a token is needed when one is set", async () => {
    const a = await start({ config: { server: { api_token: "t".repeat(24) } as any } });
    const res = await fetch(`${a.url}/api/calls/00000000-0000-4000-8000-000000000000/recording`);
    expect(res.status).toBe(401);
  });

  test("recordings past recording.retention_days are deleted at start", async () => {
    const dataDir = tempDir();
    ensureRecordingsDir(dataDir);
    const old = join(recordingsDir(dataDir), "old.wav");
    const fresh = join(recordingsDir(dataDir), "fresh.wav");
    writeFileSync(old, "x");
    writeFileSync(fresh, "x");
    const eightDaysAgo = (Date.now() - 8 * 86_400_000) / 1000;
    utimesSync(old, eightDaysAgo, eightDaysAgo);
    app = await startTestApp({ dataDir, config: { recording: { retention_days: 7 } } });
    try {
      await until(() => readdirSync(recordingsDir(dataDir)).length === 1, "the old recording to go");
      expect(readdirSync(recordingsDir(dataDir))).toEqual(["fresh.wav"]);
    } finally {
      await app.stop();
      app = null;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
