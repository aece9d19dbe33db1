// The simulators' side of the in-call abilities, without a server: the carrier's answering machine
// detection and <Dial>, the personas that test the agent, and the voice model's tool triggers.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import twilio from "twilio";
import { ULAW_DECODE } from "../../src/media/ulaw.ts";
import { type Carrier, startCarrier } from "../../src/sim/carrier.ts";
import { speechTone } from "../../src/sim/media-stream.ts";
import { IVR_LISTEN_MS, numberFor, personaOnAttempt, TRANSFER_NUMBER } from "../../src/sim/personas.ts";
import { loadScript, type Script } from "../../src/sim/script.ts";
import { type RealtimeSim, type SimConversation, startRealtimeSim, TOOL_TRIGGERS } from "../../src/sim/voice-model.ts";

const SPEED = 10;
const FRAME_MS = 20;

interface Hit {
  path: string;
  url: string;
  signature: string | null;
  params: Record<string, string>;
}

/** A media stream as the receiver saw it: one loudness flag per caller frame, and the socket to talk back on. */
interface Line {
  ws: ServerWebSocket<unknown>;
  streamSid: string;
  loud: boolean[];
}

/** Stands in for the server: answers the voice webhook and <Dial action> with TwiML, takes media streams, records all. */
function startReceiver() {
  const hits: Hit[] = [];
  const lines = new Map<string, Line>();
  const answers = { voice: "", dialAction: "<Response/>" };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, srv) {
      const u = new URL(req.url);
      if (u.pathname === "/media") return srv.upgrade(req) ? undefined : new Response("no upgrade", { status: 400 });
      const params = Object.fromEntries(new URLSearchParams(await req.text()));
      hits.push({ path: u.pathname, url: req.url, signature: req.headers.get("x-twilio-signature"), params });
      const byPath: Record<string, string> = {
        "/twilio/voice": answers.voice,
        "/twilio/dial-status": answers.dialAction,
      };
      const twiml = byPath[u.pathname];
      if (twiml === undefined) return new Response(null, { status: 204 });
      return new Response(twiml, { headers: { "Content-Type": "text/xml" } });
    },
    websocket: {
      message(ws, data) {
        const msg = JSON.parse(String(data));
        if (msg.event === "start") lines.set(msg.start.callSid, { ws, streamSid: msg.streamSid, loud: [] });
        if (msg.event !== "media") return;
        const line = [...lines.values()].find((l) => l.streamSid === msg.streamSid);
        line?.loud.push(rms(Buffer.from(msg.media.payload, "base64")) > 1000);
      },
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  const streamTwiml = `<Response><Connect><Stream url="ws://127.0.0.1:${server.port}/media"/></Connect></Response>`;
  answers.voice = streamTwiml;
  return { base, hits, lines, answers, streamTwiml, stop: () => server.stop(true) };
}

function rms(ulaw: Uint8Array): number {
  let sum = 0;
  for (const b of ulaw) sum += ULAW_DECODE[b]! ** 2;
  return Math.sqrt(sum / Math.max(1, ulaw.length));
}

async function until<T>(what: string, get: () => T | undefined | null | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

const valid = (token: string, h: Hit) => twilio.validateRequest(token, h.signature ?? "", h.url, h.params);

let script: Script;
let rx: ReturnType<typeof startReceiver>;
let carrier: Carrier;
let client: twilio.Twilio;

beforeAll(async () => {
  script = await loadScript();
  rx = startReceiver();
  carrier = await startCarrier({ autoCalls: { script, speed: SPEED } });
  client = twilio(carrier.accountSid, carrier.authToken);
  client.api.baseUrl = carrier.url;
});

afterEach(async () => {
  for (const call of carrier.calls.values()) {
    if (call.status === "in-progress") await client.calls(call.sid).update({ status: "completed" });
  }
  await carrier.flush();
  rx.hits.length = 0;
  rx.answers.voice = rx.streamTwiml;
  rx.answers.dialAction = "<Response/>";
});

afterAll(async () => {
  await carrier.stop();
  await rx.stop();
});

function place(to: string, amd: boolean) {
  return client.calls.create({
    to,
    from: carrier.phoneNumber,
    url: `${rx.base}/twilio/voice?call_id=c1`,
    statusCallback: `${rx.base}/twilio/status?call_id=c1`,
    statusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
    ...(amd && {
      machineDetection: "DetectMessageEnd",
      asyncAmd: "true",
      asyncAmdStatusCallback: `${rx.base}/twilio/amd?call_id=c1`,
      asyncAmdStatusCallbackMethod: "POST",
    }),
  });
}

const hit = (path: string, callSid: string) => rx.hits.find((h) => h.path === path && h.params.CallSid === callSid);

describe("asynchronous answering machine detection", () => {
  test("voicemail: machine_end_beep once its greeting and beep have played, signed, recorded in sent", async () => {
    const call = await place(numberFor("voicemail"), true);
    const amd = await until("the AMD callback", () => hit("/twilio/amd", call.sid));
    expect(Object.keys(amd.params).sort()).toEqual(["AccountSid", "AnsweredBy", "CallSid", "MachineDetectionDuration"]);
    expect(amd.params).toMatchObject({ AccountSid: carrier.accountSid, AnsweredBy: "machine_end_beep" });
    expect(amd.url).toBe(`${rx.base}/twilio/amd?call_id=c1`);
    expect(valid(carrier.authToken, amd)).toBe(true);
    const greetingMs = script.voicemail.length / 8;
    const duration = Number(amd.params.MachineDetectionDuration);
    expect(duration).toBeGreaterThanOrEqual(greetingMs);
    expect(duration).toBeLessThan(greetingMs + 400);
    // Every frame of the greeting and beep had gone out on the line when the verdict came.
    expect(rx.lines.get(call.sid)!.loud.length * FRAME_MS).toBeGreaterThanOrEqual(greetingMs);
    const sent = await until("the record in sent", () => carrier.sent.find((s) => s.url === amd.url));
    expect(sent).toMatchObject({ status: 204, signature: amd.signature, params: amd.params });
    expect((await client.calls(call.sid).fetch()).answeredBy).toBe("machine_end_beep");
  });

  test("a person: human about 1500 ms of stream time after the stream starts", async () => {
    const call = await place(numberFor("talks"), true);
    const amd = await until("the AMD callback", () => hit("/twilio/amd", call.sid));
    expect(amd.params.AnsweredBy).toBe("human");
    expect(Number(amd.params.MachineDetectionDuration)).toBeGreaterThanOrEqual(1500);
    expect(Number(amd.params.MachineDetectionDuration)).toBeLessThan(1900);
    expect(valid(carrier.authToken, amd)).toBe(true);
    // Status callbacks after the verdict carry it too.
    await client.calls(call.sid).update({ status: "completed" });
    await carrier.flush();
    expect(rx.hits.findLast((h) => h.path === "/twilio/status")?.params.AnsweredBy).toBe("human");
  });

  test("no callback when the create did not ask for async AMD", async () => {
    const call = await place(numberFor("voicemail"), false);
    await until("3 s of the line", () => (rx.lines.get(call.sid)?.loud.length ?? 0) * FRAME_MS > 3000);
    expect(rx.hits.filter((h) => h.path === "/twilio/amd")).toHaveLength(0);
    expect(carrier.sent.filter((s) => s.url.includes("/twilio/amd") && s.params.CallSid === call.sid)).toHaveLength(0);
  });
});

/** The TwiML our server sends to transfer a call, written by the twilio SDK. */
function dialTwiml(to: string, action?: string, timeout = 20): string {
  const r = new twilio.twiml.VoiceResponse();
  r.dial({ callerId: carrier.phoneNumber, timeout, ...(action && { action, method: "POST" }) }, to);
  return r.toString();
}

describe("<Dial>", () => {
  test("a transfer by REST update: the stream ends, the dial is recorded, its action posted signed, the call completes", async () => {
    const call = await place(numberFor("talks"), false);
    await until("the media stream", () => rx.lines.get(call.sid));
    const action = `${rx.base}/twilio/dial-status?call_id=c1&leg=1`;
    await client.calls(call.sid).update({ twiml: dialTwiml(TRANSFER_NUMBER, action) });
    const status = await until("the dial action", () => hit("/twilio/dial-status", call.sid));
    const dial = carrier.dials.find((d) => d.callSid === call.sid)!;
    expect(dial).toMatchObject({
      to: TRANSFER_NUMBER,
      callerId: carrier.phoneNumber,
      timeout: 20,
      action,
      method: "POST",
    });
    expect(dial).toMatchObject({ status: "completed", duration: 2 });
    expect(dial.dialCallSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(dial.dialCallSid).not.toBe(call.sid);
    expect(status.url).toBe(action);
    expect(status.params).toMatchObject({
      AccountSid: carrier.accountSid,
      CallStatus: "in-progress",
      DialCallStatus: "completed",
      DialCallSid: dial.dialCallSid,
      DialCallDuration: "2",
    });
    expect(valid(carrier.authToken, status)).toBe(true);
    expect(carrier.media.get(call.sid)?.isOpen()).toBe(false);
    const done = await until("the completed callback", () =>
      rx.hits.find((h) => h.path === "/twilio/status" && h.params.CallStatus === "completed"),
    );
    expect(rx.hits.indexOf(done)).toBeGreaterThan(rx.hits.indexOf(status));
    expect(carrier.calls.get(call.sid)?.status).toBe("completed");
  });

  test("busy: DialCallStatus busy, and the TwiML the action answers runs before the call ends", async () => {
    rx.answers.dialAction = "<Response><Say>Nobody is free.</Say><Hangup/></Response>";
    const call = await place(numberFor("talks"), false);
    await until("the media stream", () => rx.lines.get(call.sid));
    await client.calls(call.sid).update({ twiml: dialTwiml(numberFor("busy"), `${rx.base}/twilio/dial-status`) });
    const status = await until("the dial action", () => hit("/twilio/dial-status", call.sid));
    expect(status.params).toMatchObject({ DialCallStatus: "busy", DialCallDuration: "0" });
    await until("the call to end", () => carrier.calls.get(call.sid)?.status === "completed");
  });

  test("no answer rings out after min(timeout, 4) s; without an action the document goes on", async () => {
    const number = `<Dial timeout="2"><Number>${numberFor("no-answer")}</Number></Dial>`;
    rx.answers.voice = `<Response><Say>Connecting.</Say>${number}<Pause length="1"/></Response>`;
    const call = await place(numberFor("talks"), false);
    await until("the dial", () => carrier.dials.find((d) => d.callSid === call.sid));
    const started = performance.now();
    await until("the call to end", () => carrier.calls.get(call.sid)?.status === "completed");
    // Two seconds of ringing and the one-second pause after it, at SPEED.
    expect(performance.now() - started).toBeGreaterThanOrEqual((3000 / SPEED) * 0.9);
    expect(carrier.dials.find((d) => d.callSid === call.sid)).toMatchObject({
      to: numberFor("no-answer"),
      timeout: 2,
      action: undefined,
      status: "no-answer",
      duration: 0,
    });
    expect(hit("/twilio/dial-status", call.sid)).toBeUndefined();
  });
});

describe("busy-twice", () => {
  test("the first two calls to it are busy, the third answers", async () => {
    const own = await startCarrier({ autoCalls: { script, speed: SPEED } });
    const c = twilio(own.accountSid, own.authToken);
    c.api.baseUrl = own.url;
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const call = await c.calls.create({
          to: numberFor("busy-twice"),
          from: own.phoneNumber,
          url: `${rx.base}/twilio/voice`,
          statusCallback: `${rx.base}/twilio/status`,
        });
        outcomes.push(
          await until("busy or answered", () =>
            ["busy", "in-progress"].find((s) => s === own.calls.get(call.sid)?.status),
          ),
        );
      }
      expect(outcomes).toEqual(["busy", "busy", "in-progress"]);
      expect([1, 2, 3].map((n) => personaOnAttempt(numberFor("busy-twice"), n))).toEqual(["busy", "busy", "talks"]);
      expect(personaOnAttempt(numberFor("busy"), 3)).toBe("busy");
    } finally {
      await own.stop();
    }
  });
});

/** Stream time the receiver has heard on a line, in frames. */
const frames = (line: Line) => line.loud.length;
/** Start and end frames of each stretch of caller speech, pauses shorter than `gap` frames bridged. */
function speech(line: Line, gap = 25): [number, number][] {
  const out: [number, number][] = [];
  line.loud.forEach((loud, i) => {
    if (!loud) return;
    const last = out.at(-1);
    if (last && i - last[1] <= gap) last[1] = i;
    else out.push([i, i]);
  });
  return out;
}

/** Plays agent audio to the caller: `ms` of a loud tone, as the server would send it. */
function agentSays(line: Line, ms: number): void {
  const payload = Buffer.from(speechTone(ms)).toString("base64");
  line.ws.send(JSON.stringify({ event: "media", streamSid: line.streamSid, media: { payload } }));
}

const framesOf = (audio: Uint8Array) => Math.ceil(audio.length / 160);

describe("personas that test the agent", () => {
  test("ivr: its menu at once, four seconds listening for keys, then 'You are now connected'", async () => {
    const call = await place(numberFor("ivr"), false);
    const line = await until("the media stream", () => rx.lines.get(call.sid));
    await until("two things said", () => speech(line).length >= 2 && frames(line) > speech(line)[1]![1] + 30);
    const [menu, connected] = speech(line);
    expect(menu![0]).toBeLessThan(5);
    expect(menu![1]).toBeLessThanOrEqual(framesOf(script.ivr.menu.audio));
    const pause = (connected![0] - framesOf(script.ivr.menu.audio)) * FRAME_MS;
    expect(pause).toBeGreaterThanOrEqual(IVR_LISTEN_MS);
    expect(pause).toBeLessThan(IVR_LISTEN_MS + 200);
  });

  test("wants-human: once the greeting is over, asks for a person, once", async () => {
    const call = await place(numberFor("wants-human"), false);
    const line = await until("the media stream", () => rx.lines.get(call.sid));
    agentSays(line, 1000);
    await until("the request", () => speech(line).length === 1 && frames(line) > speech(line)[0]![1] + 100);
    const [ask] = speech(line);
    expect(ask![0] * FRAME_MS).toBeGreaterThanOrEqual(1000 + 400);
    expect(ask![0] * FRAME_MS).toBeLessThan(1000 + 700);
  });

  test("asks-owner: asks, waits through the check and a pause, and says goodbye two seconds after the answer", async () => {
    const call = await place(numberFor("asks-owner"), false);
    const line = await until("the media stream", () => rx.lines.get(call.sid));
    agentSays(line, 1000);
    const [, asked] = await until("the question", () => {
      const s = speech(line)[0];
      return s && frames(line) > s[1] + 30 && s;
    });
    agentSays(line, 500);
    // A consult that takes a second after "let me check": the caller must not take that pause as the answer.
    const heard = frames(line);
    await until("a pause", () => frames(line) >= heard + 75);
    agentSays(line, 500);
    const answerEnds = frames(line) + 25;
    const goodbye = await until("the goodbye", () => speech(line)[1]);
    expect(speech(line)[0]![1]).toBe(asked);
    expect((goodbye[0] - answerEnds) * FRAME_MS).toBeGreaterThanOrEqual(1900);
    expect((goodbye[0] - answerEnds) * FRAME_MS).toBeLessThan(2400);
  });
});

type Event = Record<string, any>;

/** A client of the simulated voice model, as the server's bridge is one: GA session.update, μ-law in. */
async function openSession(sim: RealtimeSim, tools: string[]) {
  const ws = new WebSocket(`${sim.httpBaseUrl.replace(/^http/, "ws")}/realtime?model=gpt-realtime`, {
    headers: { Authorization: `Bearer ${sim.apiKey}` },
  });
  const events: Event[] = [];
  ws.onmessage = (e) => events.push(JSON.parse(String(e.data)));
  await new Promise((resolve) => (ws.onopen = resolve));
  const send = (event: Event) => ws.send(JSON.stringify(event));
  send({
    type: "session.update",
    session: { type: "realtime", tools: tools.map((name) => ({ type: "function", name })) },
  });
  await until("session.updated", () => events.some((e) => e.type === "session.updated"));
  /** Waits for the next response to finish; returns its transcript and the function calls it made. */
  const nextReply = async () => {
    const from = events.length;
    const done = await until("response.done", () => events.slice(from).find((e) => e.type === "response.done"));
    const mine = events.slice(from).filter((e) => e.response_id === done.response.id);
    const transcript = mine.find((e) => e.type === "response.output_audio_transcript.done")?.transcript;
    const calls = mine.filter((e) => e.type === "response.function_call_arguments.done");
    return {
      transcript,
      calls: calls.map((c) => ({ name: c.name, call_id: c.call_id, args: JSON.parse(c.arguments) })),
    };
  };
  return {
    send,
    nextReply,
    /** A caller turn: speech, then enough silence for turn detection to end it; returns the agent's reply. */
    async callerSpeaks() {
      const reply = nextReply();
      send({ type: "input_audio_buffer.append", audio: Buffer.from(speechTone(300)).toString("base64") });
      send({ type: "input_audio_buffer.append", audio: Buffer.alloc(8 * 600, 0xff).toString("base64") });
      return reply;
    },
    close: () => ws.close(),
  };
}

describe("voice model tool triggers", () => {
  let sim: RealtimeSim;
  beforeAll(() => {
    sim = startRealtimeSim();
  });
  afterAll(() => sim.stop());

  async function turn(conversation: SimConversation, tools: string[]) {
    sim.setConversation(conversation);
    const session = await openSession(sim, tools);
    return { session, reply: await session.callerSpeaks() };
  }

  test("the table is exported with its rules", () => {
    expect(TOOL_TRIGGERS.map((t) => t.tool)).toEqual(["send_dtmf", "transfer_call", "consult_assistant"]);
    const dtmf = TOOL_TRIGGERS[0]!;
    const keys = ["press one", "Press 5", "press star", "press pound", "press hash", "press zero"].map((t) =>
      dtmf.args(t, dtmf.when.exec(t)!),
    );
    expect(keys.map((k) => k.digits)).toEqual(["1", "5", "*", "#", "#", "0"]);
  });

  test("a menu's 'press one': the scripted line, then send_dtmf 1 in the same response", async () => {
    const menu = "For appointments, press one. For billing, press two.";
    const { session, reply } = await turn({ callerTranscripts: [menu], agentReplies: ["Pressing one."] }, [
      "send_dtmf",
    ]);
    expect(reply).toMatchObject({ transcript: "Pressing one.", calls: [{ name: "send_dtmf", args: { digits: "1" } }] });
    session.close();
  });

  test("no trigger when the tool is not offered: a plain reply", async () => {
    const asks = ["For billing, press two.", "Can I speak to a representative?", "Does Tuesday work for them?"];
    for (const transcript of asks) {
      const { session, reply } = await turn({ callerTranscripts: [transcript] }, ["end_call"]);
      expect(reply).toEqual({ transcript: "OK.", calls: [] });
      session.close();
    }
  });

  test("asking for a person: transfer_call, then a handoff line once its output is in", async () => {
    const asks = { callerTranscripts: ["Can I speak to a representative?"] };
    const { session, reply } = await turn(asks, ["end_call", "transfer_call"]);
    expect(reply.transcript).toBe("Of course, one moment.");
    expect(reply.calls).toMatchObject([{ name: "transfer_call", args: { reason: expect.any(String) } }]);
    const output = JSON.stringify({ ok: true, result: "The transfer is ready." });
    session.send({
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: reply.calls[0]!.call_id, output },
    });
    const handoff = session.nextReply();
    session.send({ type: "response.create" });
    expect((await handoff).transcript).toBe("I am connecting you to a person now.");
    expect(sim.sessions.at(-1)!.toolOutputs).toEqual([
      { call_id: reply.calls[0]!.call_id, name: "transfer_call", output },
    ]);
    session.close();
  });

  test("a question for the owner: consult_assistant with the words, a holding line, then the answer", async () => {
    const question = "Does Tuesday at three work for them?";
    const { session, reply } = await turn({ callerTranscripts: [question] }, ["consult_assistant"]);
    expect(reply).toMatchObject({
      transcript: "Let me check with them.",
      calls: [{ name: "consult_assistant", args: { question } }],
    });
    const holding = session.nextReply();
    session.send({ type: "response.create", response: { instructions: "Ask them to hold." } });
    expect((await holding).transcript).toBe("Please hold on a moment while I check.");
    const output = JSON.stringify({ ok: true, answer: "Yes, Tuesday at three works." });
    session.send({
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: reply.calls[0]!.call_id, output },
    });
    const answer = session.nextReply();
    session.send({ type: "response.create" });
    expect((await answer).transcript).toBe("I checked: Yes, Tuesday at three works.");
    const simSession = sim.sessions.at(-1)!;
    expect(simSession.toolCalls).toEqual([
      { name: "consult_assistant", call_id: reply.calls[0]!.call_id, arguments: { question } },
    ]);
    expect(simSession.toolOutputs.map((o) => o.name)).toEqual(["consult_assistant"]);
    session.close();
  });

  test("a goodbye outranks a trigger, and outputs of calls it did not make are kept unnamed", async () => {
    const { session, reply } = await turn({ callerTranscripts: ["Press one, goodbye!"] }, ["end_call", "send_dtmf"]);
    expect(reply.calls.map((c) => c.name)).toEqual(["end_call"]);
    session.send({
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: "call_x", output: "{}" },
    });
    await until("the output", () => sim.sessions.at(-1)!.toolOutputs.length === 1);
    expect(sim.sessions.at(-1)!.toolOutputs).toEqual([{ call_id: "call_x", output: "{}" }]);
    session.close();
  });
});
