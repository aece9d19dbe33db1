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
}

/** What the voice model hears and says on one kind of call: caller turns in order, agent replies in order. */
export interface Conversation {
  callerTranscripts: string[];
  agentReplies: (string | Line)[];
}

/** The personas whose calls the voice model has a scripted side for. */
export type Scenario = "talks" | "ivr" | "wants-human" | "asks-owner";

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
  }
}
