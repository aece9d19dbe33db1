// Who answers a simulated call, chosen by the number dialled. Each persona is what Twilio would
// report (status sequence) plus what the person does on the line once the media stream is up.

import type { MediaClient } from "./media-stream.ts";
import type { CallerStep, Script } from "./script.ts";

export type Persona =
  | "talks"
  | "busy"
  | "no-answer"
  | "hangs-up"
  | "interrupter"
  | "silent"
  | "voicemail"
  | "ivr"
  | "wants-human"
  | "asks-owner"
  | "busy-twice"
  | "screener"
  | "screener-declines"
  | "hold"
  | "hold-forever"
  | "ivr-levels"
  | "ivr-loop";

export const PERSONA_NUMBERS: Record<string, Persona> = {
  "+15550100001": "talks",
  "+15550100002": "busy",
  "+15550100003": "no-answer",
  "+15550100004": "hangs-up",
  "+15550100005": "interrupter",
  "+15550100006": "silent",
  "+15550100007": "voicemail",
  "+15550100008": "ivr",
  "+15550100009": "wants-human",
  "+15550100010": "asks-owner",
  "+15550100011": "busy-twice",
  "+15550100012": "talks",
  "+15550100013": "screener",
  "+15550100014": "screener-declines",
  "+15550100015": "hold",
  "+15550100016": "hold-forever",
  "+15550100017": "ivr-levels",
  "+15550100018": "ivr-loop",
};

/** What Twilio's AMD makes of each gatekeeper: a machine, as it does of screeners and menus; a queue's opener, a person. */
export const MACHINE_VERDICTS: Partial<Record<Persona, string>> = {
  screener: "machine_end_other",
  "screener-declines": "machine_end_other",
  "ivr-levels": "machine_end_other",
  "ivr-loop": "machine_end_other",
};

/** Where a simulated transfer goes: a person who answers a `<Dial>` and talks with whoever is put through. */
export const TRANSFER_NUMBER = "+15550100012";

/** Any number not in the table answers and talks, so the README's API examples hold a conversation. */
export function personaFor(number: string): Persona {
  return PERSONA_NUMBERS[number] ?? "talks";
}

/** The first number in the table that dials this persona. */
export function numberFor(persona: Persona): string {
  const number = Object.keys(PERSONA_NUMBERS).find((n) => PERSONA_NUMBERS[n] === persona);
  if (!number) throw new Error(`sim: no number answers as ${persona}`);
  return number;
}

/** busy-twice is engaged on this many calls before it answers, so a caller's retries get through. */
const BUSY_TWICE_BUSY_CALLS = 2;

/** Who answers the `attempt`-th call (from 1) to a number: busy-twice is busy, then talks. */
export function personaOnAttempt(number: string, attempt: number): Persona {
  const persona = personaFor(number);
  if (persona !== "busy-twice") return persona;
  return attempt <= BUSY_TWICE_BUSY_CALLS ? "busy" : "talks";
}

const POLL_MS = 20;
/** How long the agent must be quiet before a polite caller takes their turn. */
const TURN_GAP_MS = 400;
/** How long the ivr persona's menu listens for the agent's keypress before putting the call through. */
export const IVR_LISTEN_MS = 4000;
/**
 * How long asks-owner waits in silence before taking what it heard as the answer: the agent's "let me
 * check", a holding line and the answer follow one another with shorter gaps than this.
 */
const ANSWER_GAP_MS = 2000;

async function agentStartsSpeaking(line: MediaClient): Promise<void> {
  while (line.isOpen() && !line.agentPlaying) await line.wait(POLL_MS);
}

async function agentFinishes(line: MediaClient, gapMs = TURN_GAP_MS): Promise<void> {
  await agentStartsSpeaking(line);
  while (line.isOpen() && line.agentQuietMs < gapMs) await line.wait(POLL_MS);
}

/** Says each step in turn, after the agent's reply or into it. */
async function converse(line: MediaClient, steps: CallerStep[], interrupter: boolean): Promise<void> {
  for (const step of steps) {
    const cutIn = interrupter ? 800 : step.interruptAfterMs;
    if (cutIn === undefined) await agentFinishes(line);
    else {
      await agentStartsSpeaking(line);
      await line.wait(cutIn);
    }
    if (!line.isOpen()) return;
    await line.say(step.line.audio);
  }
}

/**
 * A phone menu: its prompt at once (over any greeting), a pause in which it takes the agent's tones
 * (it does not decode them: any key will do), then the person it connects to, who talks as `talks` does.
 */
async function phoneMenu(line: MediaClient, script: Script): Promise<void> {
  await line.say(script.ivr.menu.audio);
  await line.wait(IVR_LISTEN_MS);
  if (!line.isOpen()) return;
  await line.say(script.ivr.connected.audio);
  await converse(line, script.caller, false);
}

/** Asks what only the agent's owner can answer, waits out the check and the answer, then says goodbye. */
async function asksOwner(line: MediaClient, script: Script): Promise<void> {
  await agentFinishes(line);
  if (!line.isOpen()) return;
  await line.say(script.asksOwner.question.audio);
  await agentFinishes(line, ANSWER_GAP_MS);
  if (!line.isOpen()) return;
  await line.say(script.asksOwner.goodbye.audio);
}

/** Pauses between a menu's options: long enough that a 500 ms turn detector ends a turn in each. */
export const MENU_PAUSE_MS = 1500;
/** Between things a gatekeeper says that are separate turns, whatever the turn detection. */
const TURN_APART_MS = 2500;
/** Each stretch of hold music in the hold persona's queue: three of them, over 40 s. */
export const HOLD_MUSIC_MS = [15_000, 15_000, 12_000];

/** A call screener: its prompt, then (after the agent's answer) a relay and the person, or a refusal. */
async function screener(line: MediaClient, script: Script, declines: boolean): Promise<void> {
  const g = script.gatekeepers.screener;
  await line.say(g.prompt.audio);
  await agentFinishes(line, 1500);
  if (!line.isOpen()) return;
  if (declines) return line.say(g.declined.audio);
  await line.say(g.relay.audio);
  await line.wait(3000);
  if (!line.isOpen()) return;
  await line.say(g.person.audio);
  await converse(line, script.caller.slice(1), false);
}

/** Hold music, loaded when a persona plays it: the CLI reads the scenarios' list through this module on every start. */
const music = async (ms: number) => (await import("./hold-music.ts")).holdMusic(ms);

/** A hold queue: its opener, three stretches of music with an announcement between each, then a person. */
async function holdQueue(line: MediaClient, script: Script): Promise<void> {
  const g = script.gatekeepers.hold;
  const spoken = [g.opener, ...g.announcements];
  for (const [i, musicMs] of HOLD_MUSIC_MS.entries()) {
    await line.say(spoken[i]!.audio);
    await line.wait(1000);
    await line.say(await music(musicMs));
    await line.wait(1000);
    if (!line.isOpen()) return;
  }
  await line.say(g.person.audio);
  await converse(line, script.caller.slice(1), false);
}

async function holdForever(line: MediaClient): Promise<void> {
  while (line.isOpen()) await line.say(await music(10_000));
}

/** One reading of a menu level, its options apart; then it waits for a keypress (any key) or reads it again. */
async function readMenu(line: MediaClient, level: Script["gatekeepers"]["menu"]["levels"][number]): Promise<void> {
  for (const [i, option] of level.entries()) {
    if (i > 0) await line.wait(MENU_PAUSE_MS);
    await line.say(option.audio);
  }
}

/** A two-level phone menu with an opener, then a short hold, then the person at the front desk. */
async function phoneMenuLevels(line: MediaClient, script: Script): Promise<void> {
  const g = script.gatekeepers.menu;
  await line.say(g.opener.audio);
  await line.wait(MENU_PAUSE_MS);
  for (const level of g.levels) {
    await readMenu(line, level);
    await agentFinishes(line, 600);
    if (!line.isOpen()) return;
  }
  await line.say(g.connecting.audio);
  await line.wait(TURN_APART_MS);
  await line.say(await music(5000));
  await line.wait(1000);
  await line.say(g.person.audio);
  await converse(line, script.caller.slice(1), false);
}

/** A menu that reads its first level again and again, whatever is pressed. */
async function phoneMenuLoop(line: MediaClient, script: Script): Promise<void> {
  while (line.isOpen()) {
    await readMenu(line, script.gatekeepers.menu.levels[0]!);
    await line.wait(TURN_APART_MS * 2);
  }
}

/** Plays the persona on an answered call's media stream; returns when the persona is done with the line. */
export async function runPersona(persona: Persona, line: MediaClient, script: Script): Promise<void> {
  line.startLine();
  switch (persona) {
    case "talks":
    case "interrupter":
      return converse(line, script.caller, persona === "interrupter");
    case "hangs-up":
      await line.wait(1500);
      line.stop();
      return;
    case "voicemail":
      await line.say(script.voicemail);
      return;
    case "ivr":
      return phoneMenu(line, script);
    case "wants-human":
      // Asks once, then stays on the line, quiet, until the call is handed over or ended.
      await agentFinishes(line);
      if (line.isOpen()) await line.say(script.wantsHuman.audio);
      return;
    case "asks-owner":
      return asksOwner(line, script);
    case "screener":
    case "screener-declines":
      return screener(line, script, persona === "screener-declines");
    case "hold":
      return holdQueue(line, script);
    case "hold-forever":
      return holdForever(line);
    case "ivr-levels":
      return phoneMenuLevels(line, script);
    case "ivr-loop":
      return phoneMenuLoop(line, script);
    default:
      return;
  }
}
