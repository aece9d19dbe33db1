// The simulated conversation: what the agent and the caller say, as text and as recorded speech
// (8 kHz μ-law fixtures made by audio/make.sh). The voice model and the callee read the same script.
// The callers that test the agent's abilities reuse those recordings: the voice model "transcribes"
// each caller turn from the script's text, so only the speech's timing has to fit.
import agentBye from "./audio/agent-bye.ulaw" with { type: "file" };
import agentGreeting from "./audio/agent-greeting.ulaw" with { type: "file" };
import agentMoved from "./audio/agent-moved.ulaw" with { type: "file" };
import agentOffer from "./audio/agent-offer.ulaw" with { type: "file" };
import beep from "./audio/beep.ulaw" with { type: "file" };
import callerBye from "./audio/caller-bye.ulaw" with { type: "file" };
import callerMove from "./audio/caller-move.ulaw" with { type: "file" };
import callerYes from "./audio/caller-yes.ulaw" with { type: "file" };
import voicemail from "./audio/voicemail.ulaw" with { type: "file" };

export interface Line {
  text: string;
  audio: Uint8Array;
}

export interface CallerStep {
  line: Line;
  /** Speak this many ms into the agent's reply instead of waiting for it to finish. */
  interruptAfterMs?: number;
}

export interface Script {
  /** The agent's lines in order: the greeting, then one per caller turn. */
  agent: Line[];
  caller: CallerStep[];
  voicemail: Uint8Array;
  /** The ivr persona's phone menu, and what it says once the agent's key has put the call through. */
  ivr: { menu: Line; connected: Line };
  /** The wants-human persona's one request. */
  wantsHuman: Line;
  /** The asks-owner persona's question for the agent's owner, and its goodbye once it has the answer. */
  asksOwner: { question: Line; goodbye: Line };
  /** What the gatekeeper personas say: a call screener, a hold queue, a two-level phone menu. */
  gatekeepers: Gatekeepers;
}

export interface Gatekeepers {
  screener: { prompt: Line; relay: Line; declined: Line; person: Line };
  hold: { opener: Line; announcements: [Line, Line]; person: Line };
  menu: { opener: Line; levels: Line[][]; connecting: Line; person: Line };
}

/** What the voice model hears and says on one kind of call: caller turns in order, agent replies in order. */
export interface Conversation {
  callerTranscripts: string[];
  agentReplies: (string | Line)[];
}

/** The personas whose calls the voice model has a scripted side for. */
export const SCENARIOS = [
  "talks",
  "ivr",
  "wants-human",
  "asks-owner",
  "screener",
  "screener-declines",
  "hold",
  "hold-forever",
  "ivr-levels",
  "ivr-loop",
] as const;
export type Scenario = (typeof SCENARIOS)[number];

const load = async (path: string) => new Uint8Array(await Bun.file(path).arrayBuffer());

/** A dentist's office confirming an appointment; the caller cuts in once, then says goodbye. */
export async function loadScript(): Promise<Script> {
  const line = async (text: string, path: string): Promise<Line> => ({ text, audio: await load(path) });
  const [greeting, offer, moved, bye, yes, move, callerGoodbye, mail, tone] = await Promise.all([
    line("Hi, it is Ava from Acme Dental, about your visit tomorrow at ten.", agentGreeting),
    line("Would you like a reminder text the day before?", agentOffer),
    line("Sure, you are now booked for eleven.", agentMoved),
    line("Goodbye!", agentBye),
    line("Yes, hello.", callerYes),
    line("Sorry, can we move it to eleven?", callerMove),
    line("Perfect, thanks, goodbye!", callerBye),
    load(voicemail),
    load(beep),
  ]);
  const voicemailAudio = new Uint8Array(mail.length + tone.length);
  voicemailAudio.set(mail);
  voicemailAudio.set(tone, mail.length);
  return {
    agent: [greeting, offer, moved, bye],
    caller: [{ line: yes }, { line: move, interruptAfterMs: 1200 }, { line: callerGoodbye }],
    voicemail: voicemailAudio,
    ivr: {
      menu: {
        text: "Thanks for calling Acme Dental. For appointments, press one. For billing, press two.",
        audio: mail,
      },
      connected: { text: "You are now connected.", audio: yes.audio },
    },
    wantsHuman: { text: "Can I talk to a person, please?", audio: move.audio },
    asksOwner: {
      question: { text: "Does Tuesday at three work for them?", audio: move.audio },
      goodbye: callerGoodbye,
    },
    gatekeepers: gatekeepers({ yes, move, callerGoodbye, mail }),
  };
}

/**
 * The gatekeepers' words, spoken with the caller recordings (the voice model "transcribes" the script's text, so
 * only the speech's timing and sound have to fit): each is one stretch of speech with no pause a turn ends on.
 */
function gatekeepers(r: { yes: Line; move: Line; callerGoodbye: Line; mail: Uint8Array }): Gatekeepers {
  const say = (text: string, audio: Uint8Array): Line => ({ text, audio });
  return {
    screener: {
      prompt: say(
        "Hi, the person you're calling is using a screening service. Please state your name and the reason for calling.",
        r.mail,
      ),
      relay: say("Thanks, stay on the line while I see if this person is available.", r.move.audio),
      declined: say("Sorry, the person you are calling is not available. Goodbye.", r.callerGoodbye.audio),
      person: say("Hello? This is Jordan.", r.yes.audio),
    },
    hold: {
      opener: say("Thank you for calling Acme Clinic. All of our agents are busy. Please stay on the line.", r.mail),
      announcements: [
        say("Your call is important to us. The estimated wait time is two minutes.", r.move.audio),
        say("Thank you for your patience. Please continue to hold.", r.callerGoodbye.audio),
      ],
      person: say("Hi, thanks for holding, this is Sam at Acme Clinic. How can I help?", r.yes.audio),
    },
    menu: {
      opener: say("Thank you for calling Acme Clinic.", r.yes.audio),
      levels: [
        [say("For appointments, press one.", r.move.audio), say("For billing, press two.", r.yes.audio)],
        [
          say("For a new appointment, press one.", r.move.audio),
          say("To change an existing appointment, press two.", r.callerGoodbye.audio),
        ],
      ],
      connecting: say("Please hold while we connect you.", r.yes.audio),
      person: say("Front desk, this is Sam speaking. How can I help you?", r.move.audio),
    },
  };
}

/**
 * The voice model's side of a persona's call. The agent's lines that come before a tool call are scripted
 * here; what it says about a tool's result comes from the voice model's trigger table.
 */
export function conversation(script: Script, scenario: Scenario): Conversation {
  const caller = script.caller.map((s) => s.line.text);
  const [greeting, ...rest] = script.agent;
  switch (scenario) {
    case "talks":
      return { callerTranscripts: caller, agentReplies: script.agent };
    case "ivr":
      // The menu talks over the greeting; once through, the agent greets the person who picks up.
      return {
        callerTranscripts: [script.ivr.menu.text, script.ivr.connected.text, ...caller],
        agentReplies: [greeting!, "I will press one for appointments.", greeting!, ...rest],
      };
    case "wants-human":
      return { callerTranscripts: [script.wantsHuman.text], agentReplies: [greeting!, "Of course, one moment."] };
    case "asks-owner":
      return {
        callerTranscripts: [script.asksOwner.question.text, script.asksOwner.goodbye.text],
        agentReplies: [greeting!, "Let me check with them.", script.agent.at(-1)!],
      };
    default:
      return gatekeeperConversation(script, scenario);
  }
}

/** What the agent is told to move: the gatekeeper scenarios end with the person agreeing, then goodbye. */
const TO_PERSON = "Hi, this is Ava from Acme Dental. I am calling to move your visit tomorrow from ten to eleven.";

/**
 * The voice model's side behind a gatekeeper. Music is a turn of its own, transcribed as nothing. A menu's
 * options make one turn once the agent listens for the whole menu; keypresses are function calls, said silently.
 */
function gatekeeperConversation(script: Script, scenario: Scenario): Conversation {
  const g = script.gatekeepers;
  const [greeting, , moved, bye] = script.agent;
  const rest = [script.caller[1]!.line.text, script.caller[2]!.line.text];
  const toPerson = [greeting!, TO_PERSON, moved!, bye!];
  switch (scenario) {
    case "screener":
      return {
        callerTranscripts: [g.screener.prompt.text, g.screener.relay.text, g.screener.person.text, ...rest],
        agentReplies: toPerson,
      };
    case "screener-declines":
      return { callerTranscripts: [g.screener.prompt.text, g.screener.declined.text], agentReplies: [greeting!] };
    case "hold": {
      const [first, second] = g.hold.announcements;
      const heard = [g.hold.opener.text, "", first.text, "", second.text, "", g.hold.person.text, ...rest];
      return { callerTranscripts: heard, agentReplies: toPerson };
    }
    case "hold-forever":
      return { callerTranscripts: [], agentReplies: [greeting!] };
    case "ivr-levels": {
      const levels = g.menu.levels.map((level) => level.map((l) => l.text).join(" "));
      const heard = [g.menu.opener.text, ...levels, g.menu.connecting.text, "", g.menu.person.text, ...rest];
      return { callerTranscripts: heard, agentReplies: [greeting!, "", "", TO_PERSON, moved!, bye!] };
    }
    default: {
      const level = g.menu.levels[0]!.map((l) => l.text).join(" ");
      return { callerTranscripts: [level, level, level, level], agentReplies: [greeting!, "", "", "", ""] };
    }
  }
}
