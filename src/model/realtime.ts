// src/model/ owns the voice and report models' wire formats (Realtime GA, Gemini Live, Chat Completions, report
// schemas). It imports only config, media/ and wire/: the bridge and the workers drive it, it knows no call.
//
// OpenAI Realtime (GA) over a plain WebSocket: the URL, every client event the bridge sends, and the reading of
// server events, with fast paths for the frequent ones.
import type {
  RealtimeClientEvent,
  RealtimeFunctionTool,
  RealtimeServerEvent,
  RealtimeSessionCreateRequest,
} from "openai/resources/realtime/realtime";
import type { Config } from "../config/schema.ts";
import { startsWithin, stringField } from "../wire/json-field.ts";

/** `OPENAI_BASE_URL` + `/realtime?model=`; http→ws so a local model server needs no TLS. */
export function realtimeUrl(baseUrl: string, model: string): string {
  return `${baseUrl.replace(/\/+$/, "").replace(/^http/, "ws")}/realtime?model=${encodeURIComponent(model)}`;
}

/**
 * Who decides when the agent answers. `auto`: the model, at the end of each turn of the other side. `server`: the
 * server asks for each reply, while speech still cuts the agent off (while it finds out who answered). `menu`: as
 * `server`, with pauses of a phone menu kept inside one turn. `off`: nobody answers by itself and speech does not
 * cut the agent off (on hold, and while a voicemail message is left).
 */
export type TurnMode = "auto" | "server" | "menu" | "off";

/** A phone menu pauses a second or more between options; this keeps them in one turn. */
const MENU_SILENCE_MS = 2_000;

/**
 * The voices the Realtime model speaks in (audio.output.voice), as OpenAI lists them; a request's `voice` must be
 * one. Another provider's codec keeps its own list beside it.
 */
export const REALTIME_VOICES = [
  "alloy",
  "ash",
  "ballad",
  "cedar",
  "coral",
  "echo",
  "marin",
  "sage",
  "shimmer",
  "verse",
] as const;

/** Why the model would refuse this voice, or null when it speaks in it. */
export function voiceProblem(voice: string): string | null {
  return (REALTIME_VOICES as readonly string[]).includes(voice)
    ? null
    : `must be one of the model's voices: ${REALTIME_VOICES.join(", ")}`;
}

/** How one call sounds: its voice, and its language (BCP 47) when it has one. */
export interface CallSpeech {
  voice: string;
  language: string | null;
}

/**
 * The transcription model takes ISO 639-1 codes: the primary subtag of a tag such as es-MX, when it is one (a
 * three-letter language is left to the model to recognise).
 */
export const transcriptionLanguage = (tag: string | null): string | undefined => {
  const primary = tag?.split("-")[0]?.toLowerCase();
  return primary && /^[a-z]{2}$/.test(primary) ? primary : undefined;
};

export function sessionConfig(
  config: Config,
  instructions: string,
  tools: RealtimeFunctionTool[],
  speech: CallSpeech = { voice: config.openai.voice, language: null },
  turns: TurnMode = "auto",
): RealtimeSessionCreateRequest {
  const language = transcriptionLanguage(speech.language);
  const format =
    config.audio.format === "pcm" ? ({ type: "audio/pcm", rate: 24000 } as const) : ({ type: "audio/pcmu" } as const);
  return {
    type: "realtime",
    model: config.openai.model,
    output_modalities: ["audio"],
    instructions,
    audio: {
      input: {
        format,
        transcription: { model: config.openai.transcription_model, ...(language && { language }) },
        turn_detection: turnDetection(config, turns),
      },
      output: { format, voice: speech.voice },
    },
    tools,
    tool_choice: "auto",
  };
}

/** How much silence ends a turn of the other side in this mode: the model reports a turn's end only after it. */
export function vadSilenceMs(config: Config, turns: TurnMode): number {
  const { silence_ms } = config.openai.vad;
  return turns === "menu" ? Math.max(silence_ms, MENU_SILENCE_MS) : silence_ms;
}

function turnDetection(config: Config, turns: TurnMode) {
  const { vad } = config.openai;
  const create_response = turns === "auto";
  const interrupt_response = turns !== "off";
  if (vad.type === "semantic_vad") {
    const eagerness = turns === "menu" ? "low" : vad.eagerness;
    return { type: "semantic_vad" as const, eagerness, create_response, interrupt_response };
  }
  return {
    type: "server_vad" as const,
    threshold: vad.threshold,
    prefix_padding_ms: vad.prefix_padding_ms,
    silence_duration_ms: vadSilenceMs(config, turns),
    create_response,
    interrupt_response,
  };
}

// ── Client events: every message the bridge sends the model is built here ──────────────────────

const clientEvent = (event: RealtimeClientEvent) => JSON.stringify(event);

export const sessionUpdate = (session: RealtimeSessionCreateRequest) =>
  clientEvent({ type: "session.update", session });

/** Changes who decides when the agent answers (see TurnMode), leaving the rest of the session as it is. */
export const turnTaking = (config: Config, turns: TurnMode) =>
  sessionUpdate({ type: "realtime", audio: { input: { turn_detection: turnDetection(config, turns) } } });

/** Built as a string: the audio is base64 and needs no escaping, and it goes out 50 times a second. */
export const appendMessage = (audio: string) => `{"type":"input_audio_buffer.append","audio":"${audio}"}`;

/** Cuts the item's audio where the caller stopped hearing it, so the model knows what was said. */
export const truncateMessage = (itemId: string, audioEndMs: number) =>
  clientEvent({ type: "conversation.item.truncate", item_id: itemId, content_index: 0, audio_end_ms: audioEndMs });

export const functionOutputMessage = (callId: string, output: unknown) =>
  clientEvent({
    type: "conversation.item.create",
    item: { type: "function_call_output", call_id: callId, output: JSON.stringify(output) },
  });

/** A response; its `instructions`, when given, replace the session's for that response only. */
export const responseCreateMessage = (instructions?: string) =>
  clientEvent(
    instructions === undefined ? { type: "response.create" } : { type: "response.create", response: { instructions } },
  );

/** Stops the response being generated; what it already sent still plays unless the caller's audio is cleared. */
export const responseCancelMessage = () => clientEvent({ type: "response.cancel" });

/** Something the caller's side did that the model should know, as a user message in the conversation. */
export const userTextMessage = (text: string) =>
  clientEvent({
    type: "conversation.item.create",
    item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
  });

/** Who said a line of a conversation restored into a new session: the other side, the agent, or the server. */
export type HistoryRole = "user" | "assistant" | "system";

/**
 * A line of the conversation so far, put back into a new session as the GA protocol writes it: the other side's
 * words as a user message's input_text, the agent's as an assistant message's output_text, a note as a system
 * message. Text, not audio: the session hears them as what was said.
 */
export const historyMessage = (role: HistoryRole, text: string) =>
  clientEvent({
    type: "conversation.item.create",
    item:
      role === "assistant"
        ? { type: "message", role, content: [{ type: "output_text", text }] }
        : { type: "message", role, content: [{ type: "input_text", text }] },
  });

// ── Server events ───────────────────────────────────────────────────────────────────────────────

export interface ModelHandlers {
  /** `response.output_audio.delta`, the hot one, as plain values: no parse, no object. */
  audioDelta(responseId: string, itemId: string, delta: string): void;
  /** Every other event the bridge acts on, parsed. */
  event(event: RealtimeServerEvent): void;
  malformed(): void;
  /** The server will close this socket soon (Gemini's goAway): another one resumes the session. */
  goAway?(): void;
  /** Sends the model a message the codec answers by itself (Gemini: a refused tool call's response). */
  answer?(message: string): void;
}

/** Reads one text message from the model; reply transcript deltas are dropped unread (see isTranscriptDelta). */
export function readModelEvent(text: string, on: ModelHandlers): void {
  const delta = audioDelta(text);
  if (delta) {
    on.audioDelta(delta.responseId, delta.itemId, delta.delta);
    return;
  }
  if (!isTranscriptDelta(text)) parseAndDispatch(text, on);
}

// Apart from the fast path above, for the same reason as in twilio/media.ts: the optimizer serves a
// small reader better than one that also holds the parse and its try/catch.
function parseAndDispatch(text: string, on: ModelHandlers): void {
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    on.malformed();
    return;
  }
  const type = isObject(event) ? event.type : undefined;
  // Only the events the server reads are handed on, and only once their fields have the types it reads.
  const valid =
    typeof type !== "string"
      ? false
      : Object.hasOwn(SERVER_EVENTS, type)
        ? SERVER_EVENTS[type]!(event as Fields)
        : null;
  if (valid === false) on.malformed();
  else if (valid) on.event(event as RealtimeServerEvent);
}

type Fields = Record<string, unknown>;
const isString = (v: unknown): v is string => typeof v === "string";
const isObject = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);
const optional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || v === null || check(v);
const isCount = (v: unknown) => optional(v, (n) => typeof n === "number" && Number.isFinite(n));
const counts = (o: unknown, keys: string[]) => optional(o, (d) => isObject(d) && keys.every((k) => isCount(d[k])));

/** `response.usage` as metrics add it up: numbers where present. */
const isUsage = (u: unknown) =>
  optional(
    u,
    (v) =>
      isObject(v) &&
      counts(v, ["input_tokens", "output_tokens", "total_tokens"]) &&
      counts(v.input_token_details, ["audio_tokens", "cached_tokens"]) &&
      counts(isObject(v.input_token_details) ? v.input_token_details.cached_tokens_details : undefined, [
        "audio_tokens",
      ]) &&
      counts(v.output_token_details, ["audio_tokens"]),
  );
const isResponse = (r: unknown) => isObject(r) && optional(r.id, isString) && isUsage(r.usage);

/**
 * The server events the bridge reads, each with a check of the fields it reads. A model (or whatever
 * answers on its URL) that sends other shapes is treated as having sent a malformed message.
 */
const SERVER_EVENTS: Record<string, (e: Fields) => boolean> = {
  "session.updated": () => true,
  "input_audio_buffer.speech_started": (e) => isString(e.item_id),
  "input_audio_buffer.speech_stopped": () => true,
  "conversation.item.input_audio_transcription.completed": (e) => isString(e.item_id) && isString(e.transcript),
  "conversation.item.input_audio_transcription.failed": (e) => isString(e.item_id),
  "response.output_audio_transcript.done": (e) => isString(e.item_id) && isString(e.transcript),
  "response.created": (e) => isResponse(e.response),
  "response.function_call_arguments.done": (e) =>
    isString(e.response_id) && isString(e.call_id) && isString(e.name) && isString(e.arguments),
  "response.done": (e) => isResponse(e.response),
  error: (e) => isObject(e.error),
};

export interface AudioDelta {
  responseId: string;
  itemId: string;
  delta: string;
}

const DELTA_TYPE = '"type":"response.output_audio.delta"';
/** Where the type may stand: before the ids and the payload, whatever the key order. */
const TYPE_WINDOW = 64;

const TRANSCRIPT_DELTA_TYPE = '"type":"response.output_audio_transcript.delta"';

/**
 * A reply's transcript also streams, a few tokens an event, and the bridge stores only the finished
 * transcript: these are dropped without a parse. Another key order is parsed, then ignored.
 */
export const isTranscriptDelta = (text: string): boolean => startsWithin(text, TRANSCRIPT_DELTA_TYPE, TYPE_WINDOW);

/**
 * `response.output_audio.delta` without a JSON parse of its (large) payload. The ids and the base64
 * delta contain no quotes or escapes; anything unexpected returns null and takes the full parser.
 */
export function audioDelta(text: string): AudioDelta | null {
  if (!startsWithin(text, DELTA_TYPE, TYPE_WINDOW)) return null;
  const responseId = stringField(text, "response_id");
  const itemId = stringField(text, "item_id");
  const delta = stringField(text, "delta");
  return responseId && itemId && delta !== null ? { responseId, itemId, delta } : null;
}
