// The demo runs whole, faster than real time: the same server, carrier and model as `agenticai demo`.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { runDemo } from "../../src/sim/demo.ts";
import { tempDir } from "../support/app.ts";

const dataDir = tempDir();
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test("agenticai demo: a conversation with one barge-in, hung up by the agent, recorded in stereo", async () => {
  const lines: string[] = [];
  const result = await runDemo({ speed: 8, dataDir, out: (l) => lines.push(l) });
  expect(result.ok).toBe(true);
  const { call } = result;
  expect(call).toMatchObject({ status: "completed", end_reason: "agent_hangup", active: false });
  expect(call.transcript.map((t: { role: string; text: string }) => `${t.role}: ${t.text}`)).toEqual([
    "agent: Hi, it is Ava from Acme Dental, about your visit tomorrow at ten.",
    "caller: Yes, hello.",
    "agent: Would you like a reminder text the day before?",
    "caller: Sorry, can we move it to eleven?",
    "agent: Sure, you are now booked for eleven.",
    "caller: Perfect, thanks, goodbye!",
    "agent: Goodbye!",
  ]);
  expect(call.transcript[2].interrupted).toBe(true);
  expect(call.metrics.barge_ins).toBe(1);
  expect(call.metrics.turn_latency_ms).toHaveLength(3);
  expect(call.status_history.map((h: { status: string }) => h.status)).toEqual([
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
  ]);

  // The recording is a real stereo WAV of the whole conversation (about 14 s of stream time).
  expect(result.recordingSeconds).toBeGreaterThan(10);
  expect(result.recordingSeconds).toBeLessThan(25);
  const wav = readFileSync(result.recordingPath!);
  expect(wav.toString("ascii", 0, 4)).toBe("RIFF");
  expect(wav.readUInt16LE(22)).toBe(2);
  expect(wav.readUInt32LE(24)).toBe(8000);
  expect(wav.readUInt32LE(40)).toBe(Math.round(result.recordingSeconds * 8000) * 4);

  const printed = lines.join("\n");
  expect(printed).toContain("Caller ▸ Sorry, can we move it to eleven?");
  expect(printed).toContain("the caller cut in");
  expect(printed).toMatch(/end reason\s+agent_hangup/);
  expect(printed).toContain("recording");
}, 30_000);
