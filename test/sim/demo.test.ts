// The demo runs whole, faster than real time: the same server, carrier and model as `agenticai demo`.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { runDemo } from "../../src/sim/demo.ts";
import { demoScenario } from "../../src/sim/scenarios.ts";
import { tempDir } from "../support/app.ts";

const dataDir = tempDir();
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test("agenticai demo: a conversation with one barge-in, hung up by the agent, recorded in stereo", async () => {
  const lines: string[] = [];
  // Under the usual umask, and into a data dir that does not exist yet: the demo makes it, privately.
  const freshDir = join(dataDir, "fresh");
  const umask = process.umask(0o022);
  const result = await runDemo({ speed: 8, dataDir: freshDir, out: (l) => lines.push(l) }).finally(() =>
    process.umask(umask),
  );
  expect(result.ok).toBe(true);
  const { call } = result;
  const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
  expect([mode(freshDir), mode(dirname(result.recordingPath!)), mode(result.recordingPath!)]).toEqual([
    "700",
    "700",
    "600",
  ]);
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

  // The report, made by the simulated report model once the call ended, is printed after the summary.
  expect(call.report).toMatchObject({
    outcome: "completed_goal",
    source: "model",
    facts: { caller_said: "Perfect, thanks, goodbye!" },
    next_steps: [],
  });
  expect(printed.indexOf("\nReport\n")).toBeGreaterThan(printed.indexOf("\nSummary\n"));
  expect(printed).toMatch(/\n {2}outcome\s+completed_goal\n {2}source\s+model\n {2}summary\s+The agent .*goodbye/);
  expect(printed).toMatch(/\n {2}facts\s+caller_said: Perfect, thanks, goodbye!\n\s+turns: 7\n/);
  expect(printed).toMatch(/\n {2}next steps\s+none$/);
  // Without an event receiver there is nothing to deliver, and nothing about events is printed.
  expect(printed).not.toContain("event ");
}, 30_000);

test("agenticai demo with an event receiver: each delivery is printed as it lands", async () => {
  const received: { type: string; signature: string | null }[] = [];
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = (await req.json()) as { type: string };
      received.push({ type: body.type, signature: req.headers.get("webhook-signature") });
      return new Response(null, { status: 204 });
    },
  });
  try {
    const lines: string[] = [];
    const url = `http://127.0.0.1:${receiver.port}/hooks`;
    const result = await runDemo({ speed: 8, dataDir, out: (l) => lines.push(l), events: { url } });
    expect(result.ok).toBe(true);
    const types = ["call.initiated", "call.ringing", "call.answered", "call.answered_by", "call.ended"];
    expect(received.map((r) => r.type)).toEqual(types);
    expect(received.every((r) => r.signature?.startsWith("v1,"))).toBe(true);
    const printed = lines.join("\n");
    expect(printed).toContain(`events to ${url}`);
    for (const type of types)
      expect(printed).toMatch(new RegExp(`\\[ *[\\d.]+ s\\] event ${type} to events → delivered \\(204\\)`));
    // The deliveries are part of the timeline: all of them before the summary.
    expect(printed.lastIndexOf("event call.ended")).toBeLessThan(printed.indexOf("\nSummary\n"));
  } finally {
    await receiver.stop(true);
  }
}, 30_000);

test.each(["voicemail", "transfer", "consult", "toll-fraud", "report"])(
  "agenticai demo --scenario %s ends the way the scenario shows",
  async (name) => {
    const scenario = demoScenario(name)!;
    const lines: string[] = [];
    const result = await runDemo({ speed: 4, dataDir, out: (l) => lines.push(l), scenario });
    expect(result.ok).toBe(true);
    expect(lines[0]).toContain(scenario.about);
    if (scenario.refused) expect(lines.join("\n")).toContain("400: 'to' +19005550100 is not allowed");
    else expect(scenario.endsWith).toContain(result.call.end_reason);
  },
  30_000,
);

test("agenticai demo --provider google: the same conversation on the simulated Gemini Live model", async () => {
  const lines: string[] = [];
  const result = await runDemo({
    speed: 8,
    dataDir: join(dataDir, "gemini"),
    out: (l) => lines.push(l),
    provider: "google",
  });
  expect(result.ok).toBe(true);
  expect(result.call).toMatchObject({ end_reason: "agent_hangup", options: { provider: "google", voice: "Kore" } });
  const said = result.call.transcript.map((t: { role: string; text: string }) => `${t.role}: ${t.text}`);
  expect(said[0]).toBe("agent: Hi, it is Ava from Acme Dental, about your visit tomorrow at ten.");
  expect(said.at(-1)).toBe("agent: Goodbye!");
  expect(lines.join("\n")).toContain("Gemini Live");
});
