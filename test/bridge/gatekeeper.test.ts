// The gatekeeper watch on its own, fed what a bridge feeds it (speech, transcripts, caller frames, machine
// verdicts) and recording what it has the bridge do: the paths a simulated call does not walk.
import { describe, expect, test } from "bun:test";
import { createGatekeeper, type GatekeeperDeps, type GatekeeperEvent } from "../../src/bridge/gatekeeper.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log.ts";
import { ULAW_ENCODE } from "../../src/media/ulaw.ts";
import { turnTaking } from "../../src/model/realtime.ts";

const config = ConfigSchema.parse({});
const frame = (level: number, hz = 440) => {
  const bytes = new Uint8Array(160);
  for (let i = 0; i < 160; i++)
    bytes[i] = ULAW_ENCODE[Math.round(level * Math.sin((2 * Math.PI * hz * i) / 8000)) & 0xffff]!;
  return Buffer.from(bytes).toString("base64");
};
const SILENCE = frame(0);
/** Speech's loudness jumps from frame to frame; a tone's, music's, does not. */
const SPEECH = [3000, 500, 2200, 300, 1500].map((level) => frame(level));
const BEEP = frame(8000, 1000);

function watch(policy = { screeningWaitS: 45, holdMaxS: 1800 }, outbound = true) {
  const did: string[] = [];
  const reported: GatekeeperEvent[] = [];
  let audioMs = 0;
  const deps: GatekeeperDeps = {
    config,
    log: createLogger(() => {}),
    outbound,
    policy,
    send: (m) => did.push(`send ${JSON.parse(m).session.audio.input.turn_detection.create_response}`),
    turnTaking: (turns) => turnTaking(config, turns),
    ask: (directive) => did.push(directive === null ? "ask" : `ask ${directive.slice(0, 29)}`),
    silenceAgent: () => did.push("silence"),
    later: (ms, fn) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
    audioMs: () => audioMs,
    end: (reason) => did.push(`end ${reason}`),
    voicemail: () => did.push("voicemail"),
    report: (e) => reported.push(e),
    changed: () => {},
  };
  const gate = createGatekeeper(deps);
  const frames = (payload: string, n: number) => {
    for (let i = 0; i < n; i++) {
      audioMs += 20;
      gate.frame(payload);
    }
  };
  const says = (text: string) => {
    gate.speech(true);
    for (let i = 0; i < 50; i++) frames(SPEECH[i % SPEECH.length]!, 1);
    gate.speech(false);
    gate.heard(text);
  };
  return { gate, did, reported, frames, says };
}

describe("screener", () => {
  const prompt = "Please state your name and the reason for calling.";

  test("answered once after the quiet, then a decline and a beep: the voicemail policy", () => {
    const w = watch();
    w.says(prompt);
    expect(w.did).toEqual(["silence"]);
    w.frames(SILENCE, 25);
    expect(w.did.filter((d) => d.startsWith("ask"))).toEqual(["ask An automated call screener an"]);
    expect(w.gate.holdsLine()).toBe(true);
    w.says("Sorry, they are not available.");
    w.frames(SILENCE, 10);
    w.frames(BEEP, 20);
    w.frames(SILENCE, 5);
    expect(w.did.at(-1)).toBe("voicemail");
    expect(w.reported).toEqual([{ type: "screened" }]);
  });

  test("a decline with no beep ends the call as screened; so does a wait that runs out", () => {
    const declined = watch();
    declined.says(prompt);
    declined.frames(SILENCE, 25);
    declined.says("Sorry, they are not available.");
    declined.frames(SILENCE, 199);
    expect(declined.did).not.toContain("end screened");
    declined.frames(SILENCE, 2);
    expect(declined.did.at(-1)).toBe("end screened");

    const waited = watch({ screeningWaitS: 5, holdMaxS: 1800 });
    waited.says(prompt);
    waited.frames(SILENCE, 250 + 201);
    expect(waited.did.at(-1)).toBe("end screened");
  });

  test("a machine verdict waits for the words being transcribed, and a screener keeps the call", async () => {
    const w = watch();
    w.gate.speech(true);
    const verdict = w.gate.machineAnswered("machine_end_other");
    w.gate.speech(false);
    w.gate.heard(prompt);
    expect(await verdict).toBe(true);
  });

  test("a machine verdict on a person's words leaves the call to the voicemail policy, unanswered", async () => {
    const w = watch();
    w.gate.speech(true);
    const verdict = w.gate.machineAnswered("machine_end_beep");
    w.gate.speech(false);
    w.gate.heard("Hello?");
    expect(await verdict).toBe(false);
    expect(w.did.filter((d) => d.startsWith("ask"))).toEqual([]);
  });
});

describe("hold", () => {
  test("words start it, turn-taking goes off, announcements keep it, a person ends it with a reply", () => {
    const w = watch();
    w.says("All of our agents are busy. Please stay on the line.");
    expect(w.did).toEqual(["send false", "silence"]);
    w.says("Your call is important to us.");
    w.says("");
    w.says("Hi, this is Sam, how can I help?");
    expect(w.did.slice(-2)).toEqual(["send true", "ask A person has just come on the"]);
    expect(w.reported).toEqual([{ type: "hold_started" }, { type: "hold_ended", seconds: 3 }]);
  });

  test("hold: false leaves hold phrases to the model", () => {
    const w = watch({ screeningWaitS: 45, holdMaxS: null as unknown as number });
    w.says("Please hold.");
    expect(w.did).toEqual(["send true", "ask"]);
  });
});

describe("inbound", () => {
  test("an inbound caller is a person from the start: the model takes its turns", () => {
    const w = watch(undefined, false);
    expect(w.gate.turnMode()).toBe("auto");
    w.says("Hi, I'd like to book a visit.");
    expect(w.did).toEqual([]);
  });
});
