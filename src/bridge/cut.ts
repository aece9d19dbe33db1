// Stopping the agent mid-reply where the other side stopped hearing it: Twilio drops the audio it holds, the
// model truncates the item at that point, and the rest of the reply is discarded. The caller cutting in does
// this, and so does the server when a voicemail's beep means the message must start now.
import { truncateMessage } from "../model/realtime.ts";
import type { AgentAudio } from "./agent-audio.ts";
import type { Responses } from "./model-events.ts";
import type { ModelLink } from "./model-link.ts";
import { interrupt, type Playback } from "./playback.ts";
import type { Turns } from "./turns.ts";

export interface CutParts {
  playback: Playback;
  responses: Responses;
  agentAudio: AgentAudio;
  link: ModelLink;
  turns: Turns;
}

/** Cuts the agent off; false when nothing was playing (or keypad tones are, which must not be lost). */
export function createCut(p: CutParts): () => boolean {
  return () => {
    // Keypad tones are for a machine that talks over them: cutting them would lose the keypress.
    if (p.agentAudio.tonesPending()) return false;
    const cut = interrupt(p.playback, performance.now(), p.responses.active);
    if (!cut || !p.agentAudio.clear()) return false;
    p.link.send(truncateMessage(cut.itemId, cut.audioEndMs));
    p.turns.agentInterrupted(cut.itemId);
    return true;
  };
}
