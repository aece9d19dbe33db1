// Stopping the agent mid-reply where the other side stopped hearing it: Twilio drops the audio it holds, the
// model truncates the item at that point, and the rest of the reply is discarded. The caller cutting in does
// this, and so does the server when a voicemail's beep means the message must start now. Gemini has no truncate:
// it stopped its reply itself, and our transcript keeps to what was played (turns.ts, from the marks).
import type { ModelProtocol } from "../model/protocol.ts";
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
  protocol: ModelProtocol;
  turns: Turns;
}

export interface Cut {
  /** Cuts the agent off; false when nothing was playing, keypad tones are (they must not be lost), or it is held. */
  (): boolean;
  /** From now on the agent is not cut off: what it says next must be heard whole (a voicemail message). */
  hold(): void;
}

export function createCut(p: CutParts): Cut {
  let held = false;
  const cut = () => {
    // Keypad tones are for a machine that talks over them: cutting them would lose the keypress.
    if (held || p.agentAudio.tonesPending()) return false;
    const at = interrupt(p.playback, performance.now(), p.responses.active);
    if (!at || !p.agentAudio.clear()) return false;
    p.link.send(p.protocol.truncate(at.itemId, at.audioEndMs));
    p.turns.agentInterrupted(at.itemId);
    return true;
  };
  return Object.assign(cut, {
    hold() {
      held = true;
    },
  });
}
