// Who answers a simulated call, chosen by the number dialled. Each persona is what Twilio would
// report (status sequence) plus what the person does on the line once the media stream is up.
import type { MediaClient } from "./media-stream.ts";
import type { Script } from "./script.ts";

export type Persona = "talks" | "busy" | "no-answer" | "hangs-up" | "interrupter" | "silent" | "voicemail";

export const PERSONA_NUMBERS: Record<string, Persona> = {
  "+15550100001": "talks",
  "+15550100002": "busy",
  "+15550100003": "no-answer",
  "+15550100004": "hangs-up",
  "+15550100005": "interrupter",
  "+15550100006": "silent",
  "+15550100007": "voicemail",
};

/** Any number not in the table answers and talks, so the README's API examples hold a conversation. */
export function personaFor(number: string): Persona {
  return PERSONA_NUMBERS[number] ?? "talks";
}

const POLL_MS = 20;
/** How long the agent must be quiet before a polite caller takes their turn. */
const TURN_GAP_MS = 400;

async function agentStartsSpeaking(line: MediaClient): Promise<void> {
  while (line.isOpen() && !line.agentPlaying) await line.wait(POLL_MS);
}

async function agentFinishes(line: MediaClient): Promise<void> {
  await agentStartsSpeaking(line);
  while (line.isOpen() && line.agentQuietMs < TURN_GAP_MS) await line.wait(POLL_MS);
}

/** Plays the persona on an answered call's media stream; returns when the persona is done with the line. */
export async function runPersona(persona: Persona, line: MediaClient, script: Script): Promise<void> {
  line.startLine();
  switch (persona) {
    case "talks":
    case "interrupter":
      for (const step of script.caller) {
        const cutIn = persona === "interrupter" ? 800 : step.interruptAfterMs;
        if (cutIn === undefined) await agentFinishes(line);
        else {
          await agentStartsSpeaking(line);
          await line.wait(cutIn);
        }
        if (!line.isOpen()) return;
        await line.say(step.line.audio);
      }
      return;
    case "hangs-up":
      await line.wait(1500);
      line.stop();
      return;
    case "voicemail":
      await line.say(script.voicemail);
      return;
    default:
      return;
  }
}
