// Whole calls past the phone network's gatekeepers, through the real server, the simulated carrier playing each
// gatekeeper persona and the simulated voice model: a call screener, a hold queue, a two-level phone menu, and the
// ways each can end. What the callee heard is read from the carrier's recording of the line, frame by frame.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { ULAW_DECODE } from "../../src/media/ulaw.ts";
import { numberFor, type Persona } from "../../src/sim/personas.ts";
import { conversation, loadScript, type Scenario, type Script } from "../../src/sim/script.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { decodeDtmf } from "../support/goertzel.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { until } from "../support/until.ts";

// The line runs four times faster than real time; the server times gatekeepers in the line's audio.
const SPEED = 4;
const FRAME_MS = 20;
setDefaultTimeout(60_000);

const TASK =
  "You are Ava from Acme Dental. Call the clinic and change the existing appointment of Jordan Lee tomorrow from ten to eleven.";

let app: TestApp;
let receiver: Receiver;
let script: Script;

beforeAll(async () => {
  script = await loadScript();
  receiver = startReceiver();
  app = await startTestApp({
    config: { limits: { api_requests_per_minute: 1_000_000 }, events: { url: receiver.url } },
    publicUrlSelf: true,
    fake: { autoCalls: { script, record: true, speed: SPEED } },
  });
});
afterAll(async () => {
  await app.stop();
  await receiver.stop();
});

interface Placed {
  id: string;
  sid: string;
  call: any;
}

/** Places a call to the persona with the voice model playing its side. */
async function dial(persona: Persona, body: Record<string, unknown> = {}) {
  app.model.setConversation(conversation(script, persona as Scenario));
  return app.call({ to: numberFor(persona), prompt: TASK, ...body });
}

/** The call once it has ended and its report is made. */
const reported = (id: string) =>
  until(
    async () => {
      const { body: c } = await app.api(`/api/calls/${id}`);
      return !c.active && c.report ? c : null;
    },
    "the call to end and its report",
    55_000,
  );

/** Places a call to the persona; resolves once the call and its report are done. */
async function place(persona: Persona, body: Record<string, unknown> = {}) {
  const { id, sid } = await dial(persona, body);
  return { id, sid, call: await reported(id) } as Placed;
}

/** Loud stretches of one side of the recording, as [first frame, last frame], split by quiet of `gap` frames. */
function segments(ulaw: Uint8Array, gap = 25): [number, number][] {
  const out: [number, number][] = [];
  let quiet = gap;
  for (let f = 0; f * 160 < ulaw.length; f++) {
    let sum = 0;
    for (let i = f * 160; i < (f + 1) * 160 && i < ulaw.length; i++) sum += ULAW_DECODE[ulaw[i]!]! ** 2;
    const loud = Math.sqrt(sum / 160) > 300;
    if (loud && quiet >= gap) out.push([f, f]);
    else if (loud) out.at(-1)![1] = f;
    quiet = loud ? 0 : quiet + 1;
  }
  return out;
}

const line = (sid: string) => app.twilio.media.get(sid)!.recording();
const said = (call: any) => call.transcript.map((t: { role: string; text: string }) => `${t.role}: ${t.text}`);
const events = (id: string, type: string) =>
  receiver.requests.filter((r) => r.json?.type === type && r.json.data.call_id === id).map((r) => r.json.data);
/** The agent's audio starts within this many ms of the end of the person's first sentence. */
const REPLY_WITHIN_MS = 3000;

/** Frames from the end of the caller's segment `i` to the agent's first audio after it. */
function replyFrames(sid: string, i: number): number {
  const { caller, agent } = line(sid);
  const end = segments(caller)[i]![1];
  const reply = segments(agent).find(([start]) => start > end);
  return reply![0] - end;
}

/** Loud agent frames between two frames of the line. */
function agentFramesBetween(sid: string, from: number, to: number): number {
  return segments(line(sid).agent, 1)
    .filter(([s, e]) => e >= from && s <= to)
    .reduce((n, [s, e]) => n + Math.min(e, to) - Math.max(s, from) + 1, 0);
}

describe("call screening", () => {
  test("a screener, then the person: the agent answers it once with who and why, waits silently, then greets the person", async () => {
    const { id, sid, call } = await place("screener", { caller_identity: "Ava, calling for Dr. Lee's office" });
    expect(call).toMatchObject({ end_reason: "agent_hangup", screened: true, answered_by: "machine_end_other" });
    expect(call.report.screened).toBe(true);
    const ended = await receiver.until(() => events(id, "call.ended")[0], 5_000, "call.ended");
    expect(ended).toMatchObject({ screened: true });
    const answers = said(call).filter((t: string) => t.startsWith("agent: Hi, this is Ava, calling for Dr. Lee's"));
    expect(answers).toHaveLength(1);
    // Between its answer and the person, the agent says nothing: not to the relay, not to the quiet.
    const lines = said(call);
    const person = lines.indexOf("caller: Hello? This is Jordan.");
    expect(lines.slice(lines.indexOf(answers[0]) + 1, person)).toEqual([
      "caller: Thanks, stay on the line while I see if this person is available.",
    ]);
    // Caller segments: the prompt, the relay, the person.
    expect(replyFrames(sid, 2) * FRAME_MS).toBeLessThan(REPLY_WITHIN_MS);
    expect(lines.at(-1)).toBe("agent: Goodbye!");
  });

  test("a screener that declines: the call ends as screened, with no voicemail message", async () => {
    const { call } = await place("screener-declines");
    expect(call).toMatchObject({ end_reason: "screened", screened: true });
    expect(said(call).filter((t: string) => t.startsWith("agent: Hi, this is"))).toHaveLength(1);
    expect(call.report).toMatchObject({ screened: true });
  });

  test("screening: false: a screener is talked to as a person would be", async () => {
    const { call } = await place("screener-declines", { screening: false, silence: { hangup_s: 3 } });
    expect(call.screened).toBe(false);
    expect(call.end_reason).not.toBe("screened");
  });
});

describe("hold", () => {
  test("40 s of music with two announcements, then a person: no word from the agent on hold, a reply within 3 s", async () => {
    const { id, sid, call } = await place("hold");
    expect(call.end_reason).toBe("agent_hangup");
    // The opener, then 42 s of music, announcements and pauses, measured in the line's audio.
    expect(call.hold_s).toBeGreaterThanOrEqual(45);
    expect(call.hold_s).toBeLessThan(60);
    expect(call.report.hold_s).toBe(call.hold_s);
    await receiver.until(() => events(id, "call.ended")[0], 5_000, "call.ended");
    expect(events(id, "call.hold_started")).toHaveLength(1);
    expect(events(id, "call.hold_ended")).toMatchObject([{ seconds: call.hold_s, hold_s: call.hold_s }]);
    // Caller segments: opener, music, announcement, music, announcement, music, the person.
    const caller = segments(line(sid).caller);
    expect(agentFramesBetween(sid, caller[0]![1], caller[6]![0])).toBe(0);
    expect(replyFrames(sid, 6) * FRAME_MS).toBeLessThan(REPLY_WITHIN_MS);
    // The music is no turn of the conversation, and the announcements get no reply.
    const lines = said(call);
    expect(lines.filter((l: string) => l === "caller: ")).toEqual([]);
    const person = lines.indexOf("caller: Hi, thanks for holding, this is Sam at Acme Clinic. How can I help?");
    expect(lines.slice(1, person).every((l: string) => l.startsWith("caller:"))).toBe(true);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/^agenticai_hold_seconds_total [1-9]/m);
  });

  test("music and nothing else: the hold starts on the music, and ends the call at hold.max_s", async () => {
    const { id, call } = await place("hold-forever", { hold: { max_s: 10 } });
    expect(call.end_reason).toBe("hold_timeout");
    expect(call.hold_s).toBeGreaterThanOrEqual(10);
    expect(call.hold_s).toBeLessThan(11);
    expect(call.transcript.filter((t: { role: string }) => t.role === "caller")).toEqual([]);
    await receiver.until(() => events(id, "call.ended")[0], 5_000, "call.ended");
    expect(events(id, "call.hold_ended")).toHaveLength(1);
    expect(call.report.hold_s).toBe(call.hold_s);
  });
});

describe("phone menus", () => {
  test("two levels, 1.5 s between options: each heard out, 1 then 2 pressed, nothing said over the menu", async () => {
    const { sid, call } = await place("ivr-levels");
    expect(call.end_reason).toBe("agent_hangup");
    expect(call.answered_by).toBe("machine_end_other");
    const { caller, agent } = line(sid);
    expect(decodeDtmf(agent).map((d) => d.digit)).toEqual(["1", "2"]);
    // Caller segments: opener, two options, two options; the agent is silent from the opener to the last option.
    const heard = segments(caller);
    const tones = segments(agent, 1).filter(([s]) => s > heard[0]![1]);
    expect(tones[0]![0]).toBeGreaterThan(heard[2]![1]);
    expect(tones[1]![0]).toBeGreaterThan(heard[4]![1]);
    // The turn detection was relaxed for the menu and restored for the person.
    const session = app.model.sessions.at(-1)!;
    const turns = session.received
      .filter((e) => e.type === "session.update")
      .map((e) => e.session.audio.input.turn_detection);
    expect(turns.map((t) => [t.create_response, t.silence_duration_ms])).toEqual([
      [false, 500],
      [false, 2000],
      [false, 500],
      [true, 500],
    ]);
    expect(said(call).at(-1)).toBe("agent: Goodbye!");
  });

  test("a menu that repeats itself three times without progress ends as ivr_stuck, with its options reported", async () => {
    const { call } = await place("ivr-loop");
    expect(call.end_reason).toBe("ivr_stuck");
    expect(call.report.menu_options).toEqual([
      { key: "1", label: "appointments" },
      { key: "2", label: "billing" },
    ]);
  });
});

describe("the request", () => {
  const post = (body: Record<string, unknown>) =>
    app.api("/api/call", { method: "POST", body: { to: numberFor("talks"), webhook_url: app.url, ...body } });

  test.each([
    [{ caller_identity: "x".repeat(201) }, "'caller_identity' must be at most 200 characters"],
    [{ caller_identity: 7 }, "'caller_identity' must be a string"],
    [{ screening: { wait_s: 2 } }, "'screening.wait_s' must be at least 5"],
    [{ screening: true }, `'screening' must be false or an object such as {"wait_s": 45}`],
    [{ hold: { max_s: "long" } }, "'hold.max_s' must be a number of seconds"],
    [{ hold: { max: 60 } }, `'hold' must be false or an object such as {"max_s": 1800}`],
  ])("%j is refused: %s", async (body, error) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error });
  });

  test("what a call was placed with, and config's defaults for what it left out", async () => {
    const placed = await post({ caller_identity: " Ava, for Dr. Lee ", hold: false });
    const { body: call } = await app.api(`/api/calls/${placed.body.call_id}`);
    expect(call.options).toMatchObject({ caller_identity: "Ava, for Dr. Lee", screening: { wait_s: 45 }, hold: false });
    expect(call).toMatchObject({ screened: false, hold_s: 0 });
    await app.api(`/api/calls/${placed.body.call_id}/end`, { method: "POST" });
  });
});

describe("a hold across a dropped stream", () => {
  test("the new stream goes on on hold, silent, and hold.max_s counts from the hold's start, not the resume", async () => {
    const { id, sid } = await dial("hold-forever", { hold: { max_s: 12 } });
    await until(() => events(id, "call.hold_started").length === 1, "the hold", 20_000);
    await Bun.sleep(1000);
    expect(app.twilio.dropStream(sid)).toBe(true);
    const call = await reported(id);
    expect(call.end_reason).toBe("hold_timeout");
    expect(call.status_history.filter((h: { source: string }) => h.source === "resume")).toHaveLength(1);
    // Both streams' parts of the hold. Each is timed in the line's audio, which runs SPEED times faster than the
    // clock here, while the time carried over the drop is the clock's: at real speed the sum is the limit.
    expect(call.hold_s).toBeGreaterThan(8);
    expect(call.hold_s).toBeLessThan(12 * 1.5);
    // The second session was set up on hold: nobody answers by itself, and speech does not cut the agent off.
    const second = app.model.sessions.at(-1)!;
    const setup = second.received.find((e) => e.type === "session.update")!.session;
    expect(setup.audio.input.turn_detection).toMatchObject({ create_response: false, interrupt_response: false });
    expect(call.transcript.filter((t: { role: string }) => t.role === "agent").length).toBeLessThanOrEqual(1);
  });
});
