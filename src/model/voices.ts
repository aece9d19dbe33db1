// Which voices each provider's model speaks in, apart from the codecs' sessions: the server checks config.yaml's
// voices before it listens, without loading the audio path.
import { geminiVoiceProblem } from "./gemini.ts";
import type { Provider } from "./protocol.ts";
import { voiceProblem } from "./realtime.ts";

/** Why this provider's model would refuse this voice, or null when it speaks in it. */
export const providerVoiceProblem = (provider: Provider, voice: string): string | null =>
  provider === "google" ? geminiVoiceProblem(voice) : voiceProblem(voice);
