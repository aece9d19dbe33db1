// Who answered, and when the agent may speak: a call screener, a hold queue, a phone menu, or a person. An
// outbound call starts by listening: the server, not the model, decides when the agent answers, until the other
// side's first words say what it is (gatekeepers/phrases.ts) or its sound says music (gatekeepers/music.ts).
// Then: a screener is answered once and waited on in silence; a hold gets no audio and no replies; a menu is heard
// to its end before the agent picks an option; a person gets the model's turn-taking back.
import { MENU_CHOICE, personCameOnDirective, SCREENING_ANSWER } from "../agent/lines.ts";
import type { Config } from "../config/schema.ts";
import { createMusicMeter, type MusicMeter, meterFrame } from "../gatekeepers/music.ts";
import { classify, type Heard, mayBeHold, mayBeMenu, menuOptions, menuSignature } from "../gatekeepers/phrases.ts";
import type { Logger } from "../log.ts";
import { type TurnMode, vadSilenceMs } from "../model/realtime.ts";
import type { GateAtDrop } from "./line-state.ts";

export interface GatekeeperPolicy {
  /** How long the agent waits, silent, for the person after answering a screener (s); null: not looked for. */
  screeningWaitS: number | null;
  /** The longest hold (s); null: holds are not looked for. */
  holdMaxS: number | null;
}

export type GatekeeperEvent = { type: "screened" } | { type: "hold_started" } | { type: "hold_ended"; seconds: number };

export type GatekeeperEnd = "screened" | "hold_timeout" | "ivr_stuck";

export interface GatekeeperDeps {
  config: Config;
  log: Logger;
  outbound: boolean;
  policy: GatekeeperPolicy;
  send(message: string): void;
  /** The message that changes who decides when the agent answers (the call's model protocol's). */
  turnTaking(turns: TurnMode): string | null;
  /** Has the model reply now, following the directive, or to the conversation when there is none. */
  ask(directive: string | null): void;
  /** Stops the agent at once: the reply under way and the audio queued for the caller. */
  silenceAgent(): void;
  later(ms: number, fn: () => void): () => void;
  /** The caller audio heard so far, ms: holds are timed in it, as the call's duration is. */
  audioMs(): number;
  end(reason: GatekeeperEnd): void;
  /** The call's voicemail policy, for a screener that declined before a beep. */
  voicemail(): void;
  report(event: GatekeeperEvent): void;
  /** What snapshot() says has changed (a hold began or ended, a person came on): worth keeping for a takeover. */
  changed(): void;
  /** Who was on the line when the call's stream dropped, for a bridge that takes the call over. */
  resumed?: GateAtDrop;
}

export interface Gatekeeper {
  /** Who decides when the agent answers now: for a model session set up again. */
  turnMode(): TurnMode;
  /** A finished transcript of the other side. */
  heard(text: string): void;
  speech(started: boolean): void;
  /** Each caller frame, for the music and beep meter: `gateFrame(watch, payload)`. */
  frame(payload: string): void;
  /** What a caller frame reads of the gatekeeper, for the caller line's path (caller-audio.ts). */
  readonly watch: GateWatch;
  /** On hold or waiting on a screener: a quiet line is expected, and the silence rules wait. */
  holdsLine(): boolean;
  /** Twilio's machine detection said a machine answered: true when that is a screener, menu or hold queue. */
  machineAnswered(answeredBy: string): Promise<boolean>;
  /** From here on the call is ending its own way (a voicemail message, a goodbye): nothing changes. */
  final(): void;
  /** What a bridge taking the call over after a drop goes on from. */
  snapshot(): GateAtDrop;
  close(): void;
}

type Stage = "listening" | "screening" | "screened" | "declined" | "menu" | "hold" | "person" | "final";

/** Music this long, with no words worth answering, is a hold. */
const MUSIC_HOLD_MS = 4_000;
/** Quiet after a screener's prompt before the agent answers it: screeners ask, then wait. */
const SCREENER_QUIET_MS = 800;
/** Quiet after a menu's last option before the agent picks one: menus pause 1–1.5 s between options. */
const MENU_QUIET_MS = 2_500;
/** The same menu this many times in a row means the agent is not getting anywhere. */
const MENU_REPEATS = 3;
/** After a screener declines, how long a beep may take to say that a voicemail is recording. */
const BEEP_WAIT_MS = 4_000;
/** How long a machine verdict waits for the words being transcribed, which say what answered. */
const VERDICT_WAIT_MS = 3_000;

/** A machine verdict these stages take for what they are, rather than as voicemail. */
const ABSORBS_MACHINES = new Set<Stage>(["screening", "screened", "declined", "menu", "hold"]);
const HOLDS_LINE = new Set<Stage>(["screening", "screened", "declined", "hold"]);

export function createGatekeeper(d: GatekeeperDeps): Gatekeeper {
  const g = createState(d);
  const on = stageHandlers(g, d);
  if (d.resumed) goOnFrom(g, d, d.resumed);
  return {
    turnMode: () => g.turns,
    heard(text) {
      g.unheard = false;
      if (worthClassifying(g, text)) on[g.stage]?.(classify(text, g.screenerHint && g.stage === "listening"), text);
      for (const waiter of g.waiters.splice(0)) waiter();
    },
    speech(started) {
      g.unheard ||= started;
      g.speaking = started;
      // The model reports the end of speech only after its turn detection's silence: the quiet began then.
      g.quietSince = started ? null : d.audioMs() - vadSilenceMs(d.config, g.turns);
    },
    frame: (payload) => gateFrame(g, payload),
    watch: g,
    holdsLine: () => HOLDS_LINE.has(g.stage),
    snapshot: () => ({
      person: g.stage === "person",
      hold_since: g.holdSince === null ? null : Date.now() - g.holdBefore - (d.audioMs() - g.holdSince),
      screened: g.everScreened,
    }),
    machineAnswered: (answeredBy) => machineAnswered(g, d, answeredBy),
    final() {
      finish(g, d);
      setTurns(g, d, "off");
    },
    close() {
      // What the line was is already kept for a bridge that takes the call over: a hold ended here goes on there.
      g.closing = true;
      finish(g, d);
    },
  };
}

const MUSIC_STARTS_HOLD = new Set<Stage>(["listening", "menu", "person"]);

/** One caller frame. It reads only the watch, which is its own meter: it runs for every frame of every call. */
export function gateFrame(g: GateWatch, payload: string): void {
  // The meter listens for hold music, and for the beep after a screener's refusal; nothing else needs it.
  if (g.holdsHeard || g.stage === "declined") meterFrame(g, payload);
  // Read only when something waits on the audio clock: most frames of most calls have nothing to time.
  if (g.quietAction || g.deadline) audioClockDue(g, g.d.audioMs());
  if (g.musicMs >= MUSIC_HOLD_MS && MUSIC_STARTS_HOLD.has(g.stage)) startHold(g, g.d, "music");
  else if (g.stage === "declined" && g.tones > g.tonesAtDecline) voicemailAfterBeep(g, g.d);
}

/** The gatekeeper's state, opaque outside this module but for the caller line, which hands it each frame. */
export type GateWatch = State;

/**
 * The music meter's readings are the state's own fields, not an object of their own: a caller frame then touches
 * one object of the gatekeeper's, which matters when hundreds of calls' worth of them are not in the CPU's cache.
 */
interface State extends MusicMeter {
  d: GatekeeperDeps;
  /** Holds are looked for: the meter listens for music on every frame. */
  holdsHeard: boolean;
  stage: Stage;
  turns: TurnMode;
  /** Speech heard that no transcript has described yet. */
  unheard: boolean;
  /** The other side is speaking now. */
  speaking: boolean;
  /** The bridge is closing: what changes now is not the line's. */
  closing: boolean;
  /** Machine verdicts waiting for the words that say what answered. */
  waiters: (() => void)[];
  screenerHint: boolean;
  beep: boolean;
  everScreened: boolean;
  /** Since when the other side has been quiet, in caller audio (ms); null while it speaks. */
  quietSince: number | null;
  /** What to do once the other side has been quiet this long (ms of caller audio, so timed as the line is). */
  quietAction: { ms: number; run(): void } | null;
  holdSince: number | null;
  /** How long the hold under way had lasted before this bridge took the call over (ms): hold.max_s counts it. */
  holdBefore: number;
  /** The stage's time limit (a screener's wait, a beep's, a hold's), in caller audio like the quiet. */
  deadline: { at: number; run(): void } | null;
  tonesAtDecline: number;
  menuHeard: string[];
  menuReadings: string[];
}

function createState(d: GatekeeperDeps): State {
  return {
    d,
    holdsHeard: d.policy.holdMaxS !== null,
    stage: d.outbound ? "listening" : "person",
    turns: d.outbound ? "server" : "auto",
    ...createMusicMeter(),
    unheard: false,
    speaking: false,
    closing: false,
    waiters: [],
    screenerHint: false,
    beep: false,
    everScreened: false,
    quietSince: null,
    quietAction: null,
    holdSince: null,
    holdBefore: 0,
    deadline: null,
    tonesAtDecline: 0,
    menuHeard: [],
    menuReadings: [],
  };
}

function setTurns(g: State, d: GatekeeperDeps, turns: TurnMode): void {
  if (g.turns === turns) return;
  g.turns = turns;
  const message = d.turnTaking(turns);
  if (message) d.send(message);
}

/** Runs what the audio clock has reached: a quiet spell long enough, then a deadline passed. */
function audioClockDue(g: State, now: number): void {
  if (g.quietAction && g.quietSince !== null && now - g.quietSince >= g.quietAction.ms) quietEnough(g);
  if (g.deadline && now >= g.deadline.at) runDeadline(g);
}

function runDeadline(g: State): void {
  const deadline = g.deadline!;
  g.deadline = null;
  deadline.run();
}

function setDeadline(g: State, d: GatekeeperDeps, ms: number, run: () => void): void {
  g.deadline = { at: d.audioMs() + ms, run };
}

function quietEnough(g: State): void {
  const action = g.quietAction!;
  g.quietAction = null;
  action.run();
}

function whenQuiet(g: State, ms: number, run: () => void): void {
  g.quietAction = { ms, run };
}

function toPerson(g: State, d: GatekeeperDeps, after: "screening" | "hold" | "menu" | null): void {
  if (g.stage === "hold") endHold(g, d);
  g.deadline = null;
  g.quietAction = null;
  g.stage = "person";
  setTurns(g, d, "auto");
  changed(g, d);
  d.log.info("a person is on the line", { after: after ?? "answer" });
  // A machine verdict waiting on these words decides first: for voicemail, the policy takes the line. Someone
  // already speaking again is answered by the model's own turn-taking when they stop, not talked over now.
  if (g.waiters.length === 0 && !g.speaking) d.ask(after ? personCameOnDirective(after) : null);
}

/**
 * Whether the stage could act on what the transcript is. A screener being answered acts on nothing, and a person on
 * the line only on a hold's or a menu's words (stageHandlers): those transcripts skip the other patterns.
 */
function worthClassifying(g: State, text: string): boolean {
  if (g.stage === "final" || g.stage === "screening") return false;
  return g.stage !== "person" || mayBeMenu(text) || (g.holdsHeard && mayBeHold(text));
}

type StageHandler = (heard: Heard, text: string) => void;

function stageHandlers(g: State, d: GatekeeperDeps): Partial<Record<Stage, StageHandler>> {
  const { screeningWaitS, holdMaxS } = d.policy;
  return {
    listening(heard, text) {
      if (heard === "noise") return;
      if (heard === "screener" && screeningWaitS !== null) return startScreening(g, d, screeningWaitS);
      if (heard === "hold" && holdMaxS !== null) return startHold(g, d, "words");
      if (heard === "menu" || heard === "recorded" || heard === "declined") return startMenu(g, d, text);
      toPerson(g, d, null);
    },
    // Until it has been answered, all the screener says is its prompt: "Go ahead" is not a person.
    screening() {},
    screened(heard) {
      if (heard === "person") toPerson(g, d, "screening");
      else if (heard === "declined") screenerDone(g, d, "declined");
    },
    menu(heard, text) {
      if (heard === "person") return toPerson(g, d, "menu");
      if (heard === "hold" && holdMaxS !== null) return startHold(g, d, "words");
      if (heard !== "noise") heardMenu(g, d, text);
    },
    hold(heard, text) {
      if (heard === "person") toPerson(g, d, "hold");
      else if (heard === "menu") startMenu(g, d, text);
    },
    person(heard, text) {
      if (heard === "hold" && holdMaxS !== null) startHold(g, d, "words");
      else if (heard === "menu" && menuOptions(text).length > 0) startMenu(g, d, text);
    },
  };
}

function startScreening(g: State, d: GatekeeperDeps, waitS: number): void {
  g.stage = "screening";
  g.everScreened = true;
  d.silenceAgent();
  d.report({ type: "screened" });
  changed(g, d);
  d.log.info("a call screener answered: the agent answers it once, then waits", { wait_s: waitS });
  setDeadline(g, d, waitS * 1000, () => screenerDone(g, d, "wait_over"));
  whenQuiet(g, SCREENER_QUIET_MS, () => {
    if (g.stage !== "screening") return;
    g.stage = "screened";
    d.ask(SCREENING_ANSWER);
  });
}

/** The screener declined, or the person never came: a beep means voicemail is recording, else the call ends. */
function screenerDone(g: State, d: GatekeeperDeps, why: "declined" | "wait_over"): void {
  if (g.stage !== "screening" && g.stage !== "screened") return;
  d.log.info("the screened call did not reach the person", { why });
  g.stage = "declined";
  g.quietAction = null;
  g.tonesAtDecline = g.tones;
  if (g.beep) {
    voicemailAfterBeep(g, d);
    return;
  }
  setDeadline(g, d, BEEP_WAIT_MS, () => {
    if (g.stage !== "declined") return;
    g.stage = "final";
    d.end("screened");
  });
}

function voicemailAfterBeep(g: State, d: GatekeeperDeps): void {
  g.deadline = null;
  g.stage = "final";
  d.log.info("a beep followed the screener: the voicemail policy applies");
  d.voicemail();
}

/**
 * A bridge taking the call over goes on where the last one was: a person keeps the model's turn-taking, a hold goes
 * on (its time so far counted against hold.max_s), a screener met keeps machine verdicts from ending the call.
 */
function goOnFrom(g: State, d: GatekeeperDeps, at: GateAtDrop): void {
  g.everScreened = at.screened;
  if (at.hold_since !== null) {
    // The session is not set up yet: it starts in this mode, with nothing to send now.
    g.turns = "off";
    startHold(g, d, "resumed", at.hold_since);
  } else if (at.person) {
    g.stage = "person";
    g.turns = "auto";
  }
}

function startHold(g: State, d: GatekeeperDeps, why: "words" | "music" | "resumed", since?: number): void {
  const holdMaxS = d.policy.holdMaxS;
  if (holdMaxS === null || g.stage === "hold") return;
  g.stage = "hold";
  g.quietAction = null;
  setTurns(g, d, "off");
  d.silenceAgent();
  g.holdSince = d.audioMs();
  g.holdBefore = since === undefined ? 0 : Math.max(0, Date.now() - since);
  d.report({ type: "hold_started" });
  changed(g, d);
  d.log.info("on hold: the agent stays silent until a person comes on", { why, max_s: holdMaxS });
  setDeadline(g, d, Math.max(0, holdMaxS * 1000 - g.holdBefore), () => {
    if (g.stage !== "hold") return;
    d.log.info("the hold lasted too long; hanging up", { max_s: holdMaxS });
    finish(g, d);
    d.end("hold_timeout");
  });
}

function endHold(g: State, d: GatekeeperDeps): void {
  if (g.holdSince === null) return;
  g.deadline = null;
  const seconds = Math.round((d.audioMs() - g.holdSince) / 100) / 10;
  g.holdSince = null;
  d.report({ type: "hold_ended", seconds });
  changed(g, d);
}

function changed(g: State, d: GatekeeperDeps): void {
  if (!g.closing) d.changed();
}

function startMenu(g: State, d: GatekeeperDeps, text: string): void {
  if (g.stage === "hold") endHold(g, d);
  g.stage = "menu";
  setTurns(g, d, "menu");
  d.silenceAgent();
  d.log.info("a phone menu or recording answered: the agent listens to the end");
  heardMenu(g, d, text);
}

/** A menu's words: kept for this reading, and the agent picks an option once the menu pauses. */
function heardMenu(g: State, d: GatekeeperDeps, text: string): void {
  g.menuHeard.push(text);
  whenQuiet(g, MENU_QUIET_MS, () => {
    if (g.stage !== "menu") return;
    const reading = g.menuHeard.join(" ");
    g.menuHeard = [];
    const options = menuOptions(reading);
    g.menuReadings.push(
      menuSignature(options) ||
        reading
          .toLowerCase()
          .replace(/[^\p{L}\p{N}]+/gu, " ")
          .trim(),
    );
    const last = g.menuReadings.slice(-MENU_REPEATS);
    if (last.length === MENU_REPEATS && last.every((r) => r === last[0])) {
      d.log.info("the phone menu repeats itself without progress; hanging up", { options: options.length });
      g.stage = "final";
      return d.end("ivr_stuck");
    }
    d.ask(MENU_CHOICE);
  });
}

/** Twilio's AMD cannot tell a screener, a menu or a hold queue from a voicemail greeting: those stages decide. */
async function machineAnswered(g: State, d: GatekeeperDeps, answeredBy: string): Promise<boolean> {
  if (answeredBy === "machine_end_beep") g.beep = true;
  if (answeredBy === "machine_start" || answeredBy === "unknown") g.screenerHint = true;
  if (g.stage === "listening" && g.unheard) {
    await new Promise<void>((resolve) => {
      const cancel = d.later(VERDICT_WAIT_MS, resolve);
      g.waiters.push(() => {
        cancel();
        resolve();
      });
    });
  }
  if (g.stage === "declined" && g.beep) {
    voicemailAfterBeep(g, d);
    return true;
  }
  return ABSORBS_MACHINES.has(g.stage) || g.everScreened;
}

function finish(g: State, d: GatekeeperDeps): void {
  if (g.stage === "hold") endHold(g, d);
  g.deadline = null;
  g.quietAction = null;
  g.stage = "final";
}
