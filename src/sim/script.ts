// The simulated conversation: what the agent and the caller say, as text and as recorded speech
// (8 kHz μ-law fixtures made by audio/make.sh). The voice model and the callee read the same script.
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
}

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
  };
}
