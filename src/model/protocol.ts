// The one seam between the bridge and a voice model's wire: which provider a call speaks to, chosen per call,
// and each thing the bridge says to it or reads from it. OpenAI's methods are realtime.ts's builders as they
// were (μ-law passes through, the append is a template string, audio deltas take the no-parse path); Gemini's
// are gemini.ts's, with its reader's state kept here for the call's life, across the sockets that resume it.
import type { RealtimeFunctionTool } from "openai/resources/realtime/realtime";
import type { Config } from "../config/schema.ts";
import { createUlawToPcm8, createUlawToPcm24 } from "../media/transcode.ts";
import { accountHeaders } from "./chat.ts";
import {
  createGeminiReader,
  geminiAudioMessage,
  geminiTextMessage,
  geminiUrl,
  historyTurnMessage,
  setupMessage,
  toolResponseMessage,
} from "./gemini.ts";
import {
  appendMessage,
  type CallSpeech,
  functionOutputMessage,
  type HistoryRole,
  historyMessage,
  type ModelHandlers,
  readModelEvent,
  realtimeUrl,
  responseCancelMessage,
  responseCreateMessage,
  sessionConfig,
  sessionUpdate,
  type TurnMode,
  truncateMessage,
  turnTaking,
  userTextMessage,
} from "./realtime.ts";

export const PROVIDERS = ["openai", "google"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** The session a socket opens with. */
export interface SessionSpec {
  instructions: string;
  tools: RealtimeFunctionTool[];
  speech: CallSpeech;
  turns: TurnMode;
}

export interface ModelProtocol {
  readonly provider: Provider;
  readonly model: string;
  /** The model's audio is 24 kHz PCM, for the resampler to Twilio's μ-law; false: μ-law already. */
  readonly pcmOut: boolean;
  /**
   * The model answers user text and tool outputs by itself (Gemini): no separate request for a reply follows them.
   */
  readonly inputPromptsReply: boolean;
  /** What a failed handshake's HTTP status means for this provider's settings. */
  readonly keyHint: string;
  socket(): { url: string; headers?: Record<string, string> };
  /** The first message on a socket; on Gemini it resumes the session when the server gave a handle. */
  setup(spec: SessionSpec): string;
  /** One Twilio frame (base64 μ-law) as the message that appends it to the model's input. */
  appendFrame(payload: string): string;
  /** Silence of about this long, as an append message: where Twilio dropped audio. */
  appendSilence(ms: number): string;
  /**
   * Asks for a reply: `directive` is the line the server wants said; `instructions` the same directive with the
   * call's instructions around it, for a provider whose reply replaces the session's instructions (OpenAI).
   */
  reply(directive: string | undefined, instructions: string | undefined): string | null;
  /** Stops the reply being generated; null where the protocol has no such message. */
  cancel(): string | null;
  userText(text: string): string;
  /** One earlier turn of the conversation, given to a new session (a call resumed after its stream dropped). */
  history(role: HistoryRole, text: string): string;
  toolOutput(callId: string, name: string, output: unknown): string | null;
  /** Changes who decides when the agent answers; null when nothing need be sent (Gemini decides at the bridge). */
  turnTaking(turns: TurnMode): string | null;
  /** Cuts the model's memory of its reply where the caller stopped hearing it; null where it cannot. */
  truncate(itemId: string, audioEndMs: number): string | null;
  read(data: string | ArrayBuffer | Uint8Array, on: ModelHandlers): void;
  /**
   * `read` bound to one call's handlers, made once: the model socket hands each message straight to it, so a
   * delta walks through no more objects than it must (each one not in the CPU's cache costs more than its work).
   */
  reader(on: ModelHandlers): (data: string | ArrayBuffer | Uint8Array) => void;
}

/** Who speaks, in what voice, on a call. */
export interface CallModel {
  provider: Provider;
  model: string;
  speech: CallSpeech;
}

export function createModelProtocol(config: Config, call: CallModel): ModelProtocol {
  return call.provider === "google" ? geminiProtocol(config, call) : openAiProtocol(config, call);
}

function openAiProtocol(config: Config, call: CallModel): ModelProtocol {
  const pcm = config.audio.format === "pcm";
  const toPcm = pcm ? createUlawToPcm24() : null;
  // OpenAI sends text frames: a decoder is made only if a binary one ever comes, not one per call up front.
  let decoder: TextDecoder | null = null;
  const text = (data: string | ArrayBuffer | Uint8Array) => {
    if (typeof data === "string") return data;
    decoder ??= new TextDecoder();
    return decoder.decode(data);
  };
  // The model is in the URL; the session names it too, as Realtime GA takes it.
  const session = { ...config, openai: { ...config.openai, model: call.model } };
  return {
    provider: "openai",
    model: call.model,
    pcmOut: pcm,
    inputPromptsReply: false,
    keyHint: "check OPENAI_API_KEY",
    socket: () => ({
      url: realtimeUrl(config.openai.base_url, call.model),
      headers: { Authorization: `Bearer ${config.openai.api_key ?? ""}`, ...accountHeaders(config.openai) },
    }),
    setup: (spec) => sessionUpdate(sessionConfig(session, spec.instructions, spec.tools, spec.speech, spec.turns)),
    appendFrame: toPcm ? (payload) => appendMessage(toPcm(payload)) : appendMessage,
    // Whole groups of 3 bytes, so the silence is plain base64 of one repeated character.
    appendSilence: (ms) => appendMessage((pcm ? "A" : "/").repeat(Math.floor((ms * (pcm ? 48 : 8)) / 3) * 4)),
    reply: (_, instructions) => responseCreateMessage(instructions),
    cancel: responseCancelMessage,
    userText: userTextMessage,
    history: historyMessage,
    toolOutput: (callId, _, output) => functionOutputMessage(callId, output),
    turnTaking: (turns) => turnTaking(config, turns),
    truncate: truncateMessage,
    read: (data, on) => readModelEvent(text(data), on),
    reader: (on) => (data) => readModelEvent(text(data), on),
  };
}

/** Asked of a reply when the server wants the model to answer what was said, with no line of its own. */
const ANSWER_NOW = "(Answer the other side now.)";

function geminiProtocol(config: Config, call: CallModel): ModelProtocol {
  const toPcm8 = createUlawToPcm8();
  const reader = createGeminiReader();
  return {
    provider: "google",
    model: call.model,
    pcmOut: true,
    inputPromptsReply: true,
    keyHint: "check GEMINI_API_KEY",
    socket: () => ({ url: geminiUrl(config) }),
    setup(spec) {
      reader.setTurns(spec.turns);
      return setupMessage({ ...spec, model: call.model, handle: reader.handle() });
    },
    appendFrame: (payload) => geminiAudioMessage(toPcm8(payload)),
    // 16-bit zeros: "AAAA" is 3 bytes, so whole groups of 3 bytes keep it plain base64.
    appendSilence: (ms) => geminiAudioMessage("A".repeat(Math.floor((ms * 16) / 3) * 4)),
    reply: (directive) => (reader.ask(directive !== undefined) ? geminiTextMessage(directive ?? ANSWER_NOW) : null),
    cancel: () => null,
    userText(text) {
      reader.ask(true);
      return geminiTextMessage(text);
    },
    history: historyTurnMessage,
    toolOutput(callId, name, output) {
      if (reader.cancelled(callId)) return null;
      reader.ask(false);
      return toolResponseMessage(callId, name, output);
    },
    turnTaking(turns) {
      reader.setTurns(turns);
      return null;
    },
    truncate: () => null,
    read: reader.read,
    reader: (on) => (data) => reader.read(data, on),
  };
}

/** The provider's configured model and voice, for a call that names neither. */
export function providerDefaults(config: Config, provider: Provider): { model: string; voice: string } {
  return provider === "google"
    ? { model: config.gemini.model, voice: config.gemini.voice }
    : { model: config.openai.model, voice: config.openai.voice };
}

/** The provider's key is configured: a call on it can be connected. */
export const providerKey = (config: Config, provider: Provider): string | undefined =>
  provider === "google" ? config.gemini.api_key : config.openai.api_key;
