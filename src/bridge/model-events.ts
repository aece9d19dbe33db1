// One named handler per model event the bridge acts on. Audio deltas, the hot path, go straight to
// the agent-audio part; everything else is parsed once by the codec and dispatched here by type.
import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import type { Logger } from "../log.ts";
import type { ModelHandlers } from "../model/realtime.ts";
import type { AgentAudio } from "./agent-audio.ts";
import { type CallerLine, flushCallerAudio } from "./caller-audio.ts";
import type { Gatekeeper } from "./gatekeeper.ts";
import type { Hangup } from "./hangup.ts";
import { addUsage, type CallMetrics } from "./metrics.ts";
import type { ModelLink } from "./model-link.ts";
import type { Playback } from "./playback.ts";
import type { ToolCalls } from "./tool-calls.ts";
import type { Turns } from "./turns.ts";

/** The response the model is streaming now, if any: a barge-in discards its rest, and a new one must wait. */
export interface Responses {
  active: string | null;
  /** A response.create is on its way and the model has not created it yet: another would be refused. */
  requested: boolean;
  /** Called with the next response's id once the model creates it (the shutdown farewell waits for it). */
  onNextCreated: ((responseId: string) => void) | null;
}

export interface ModelEventParts {
  log: Logger;
  link: ModelLink;
  metrics: CallMetrics;
  playback: Playback;
  responses: Responses;
  callerLine: CallerLine;
  agentAudio: AgentAudio;
  turns: Turns;
  toolCalls: ToolCalls;
  hangup: Hangup;
  /** Cuts the agent off where the caller stopped hearing it (cut.ts). */
  cutAgent(): boolean;
  /** Who answered: it hears each finished transcript of the other side, and when they speak. */
  gate: Gatekeeper;
  /** The session is configured: send what opens the conversation (the greeting), unless this is a resume. */
  onSessionReady(): void;
  /** The caller started or stopped speaking (the silence watch listens). */
  callerSpeaking(speaking: boolean): void;
  /** A turn ended: what the line is now is worth keeping (line-state.ts). */
  lineChanged(): void;
}

/** Error codes (or types) after which the model will not go on over this socket. */
const FATAL_ERRORS = new Set(["insufficient_quota", "invalid_api_key", "session_expired"]);

/** Logs the model's error; after a fatal one nothing more comes over this session, so the link drops it. */
function modelError(log: Logger, link: ModelLink, responses: Responses) {
  return (event: Extract<RealtimeServerEvent, { type: "error" }>) => {
    const code = event.error.code ?? "";
    // A refused response.create never becomes a response; waiting for it would hold every later one.
    responses.requested = false;
    log.warn("model reported an error", { code, type: event.error.type, message: event.error.message });
    if (FATAL_ERRORS.has(code) || FATAL_ERRORS.has(event.error.type)) link.drop(`model error ${code}`);
  };
}

type Handlers = {
  [T in RealtimeServerEvent["type"]]?: (event: Extract<RealtimeServerEvent, { type: T }>) => void;
};

export function modelEventHandlers(p: ModelEventParts): ModelHandlers {
  const { log, link, metrics, playback, responses, turns } = p;

  /** The caller spoke over the agent: cut the reply where the caller stopped hearing it. */
  const bargeIn = () => {
    const t0 = performance.now();
    if (!p.cutAgent()) return;
    metrics.barge_in_reaction_ms.push(Math.round((performance.now() - t0) * 1000) / 1000);
    metrics.barge_ins++;
  };

  const handlers: Handlers = {
    "session.updated": () => {
      if (!link.markReady()) return;
      flushCallerAudio(p.callerLine);
      p.onSessionReady();
    },
    "input_audio_buffer.speech_started": (event) => {
      turns.callerStarted(event.item_id);
      p.callerSpeaking(true);
      p.gate.speech(true);
      bargeIn();
    },
    "input_audio_buffer.speech_stopped": () => {
      turns.callerStopped();
      p.callerSpeaking(false);
      p.gate.speech(false);
      p.lineChanged();
    },
    "conversation.item.input_audio_transcription.completed": (event) => {
      turns.callerTranscript(event.item_id, event.transcript);
      p.gate.heard(event.transcript);
    },
    "conversation.item.input_audio_transcription.failed": (event) => {
      turns.callerTranscript(event.item_id, null);
      p.gate.heard("");
    },
    "response.output_audio_transcript.done": (event) => turns.agentTranscript(event.item_id, event.transcript),
    "response.created": (event) => {
      responses.active = event.response.id ?? null;
      responses.requested = false;
      const next = responses.onNextCreated;
      responses.onNextCreated = null;
      if (next && responses.active) next(responses.active);
    },
    "response.function_call_arguments.done": (event) =>
      p.toolCalls.called(event.response_id, event.call_id, event.name, event.arguments),
    "response.done": (event) => {
      const id = event.response.id ?? null;
      if (responses.active === id) responses.active = null;
      // No more deltas come for a finished response, so it need not be remembered as discarded.
      if (id) playback.discarded.delete(id);
      addUsage(metrics, event.response.usage);
      turns.saveMetrics();
      p.lineChanged();
      p.toolCalls.replyDone(id);
      p.hangup.replyDone(id);
    },
    error: modelError(log, link, responses),
  };

  return {
    audioDelta: p.agentAudio.delta,
    event: (event) => (handlers[event.type] as ((e: RealtimeServerEvent) => void) | undefined)?.(event),
    malformed: () => log.warn("model sent a message that is not JSON"),
    goAway: link.renew,
    answer: link.send,
  };
}
