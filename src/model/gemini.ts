// Google's Gemini Live API over a plain WebSocket, the twin of realtime.ts: the URL, every client message the
// bridge sends, and the reading of server messages into the same handlers the OpenAI codec feeds. Gemini has no
// response ids, no speech events and no response.create: a reply is one model turn, named here; the caller's
// turn starts with its first transcribed words (or an interruption) and ends when the model's turn starts.
import type { RealtimeFunctionTool, RealtimeServerEvent } from "openai/resources/realtime/realtime";
import type { Config } from "../config/schema.ts";
import type {
  GeminiClientMessage,
  GeminiServerContent,
  GeminiServerMessage,
  GeminiSetup,
  GeminiUsage,
} from "./gemini-types.ts";
import type { CallSpeech, ModelHandlers, TurnMode } from "./realtime.ts";

/** The prebuilt voices of Gemini's native-audio Live models, as Google lists them; a request's `voice` must be one. */
export const GEMINI_VOICES = [
  "Achernar",
  "Achird",
  "Algenib",
  "Algieba",
  "Alnilam",
  "Aoede",
  "Autonoe",
  "Callirrhoe",
  "Charon",
  "Despina",
  "Enceladus",
  "Erinome",
  "Fenrir",
  "Gacrux",
  "Iapetus",
  "Kore",
  "Laomedeia",
  "Leda",
  "Orus",
  "Puck",
  "Pulcherrima",
  "Rasalgethi",
  "Sadachbia",
  "Sadaltager",
  "Schedar",
  "Sulafat",
  "Umbriel",
  "Vindemiatrix",
  "Zephyr",
  "Zubenelgenubi",
] as const;

export function geminiVoiceProblem(voice: string): string | null {
  return (GEMINI_VOICES as readonly string[]).includes(voice)
    ? null
    : `must be one of the model's voices: ${GEMINI_VOICES.join(", ")}`;
}

/** `GEMINI_BASE_URL` (an origin) as ws(s), the versioned service path, and the key as Google's docs put it. */
export function geminiUrl(config: Config): string {
  const { base_url, api_version, api_key } = config.gemini;
  const origin = base_url.replace(/\/+$/, "").replace(/^http/, "ws");
  const service = `google.ai.generativelanguage.${api_version}.GenerativeService.BidiGenerateContent`;
  return `${origin}/ws/${service}?key=${encodeURIComponent(api_key ?? "")}`;
}

/** Twilio's 8 kHz, told to the API as is: it resamples whatever rate the mime type names. */
export const GEMINI_INPUT_MIME = "audio/pcm;rate=8000";

const message = (m: GeminiClientMessage) => JSON.stringify(m);

export interface GeminiSessionSpec {
  model: string;
  instructions: string;
  tools: RealtimeFunctionTool[];
  speech: CallSpeech;
  /** The handle of the session this one resumes, when there is one. */
  handle: string | null;
}

export function geminiSetup(spec: GeminiSessionSpec): GeminiSetup {
  const declarations = spec.tools.map((t) => ({
    name: t.name ?? "",
    ...(t.description && { description: t.description }),
    parametersJsonSchema: t.parameters,
  }));
  return {
    model: spec.model.startsWith("models/") ? spec.model : `models/${spec.model}`,
    generationConfig: {
      responseModalities: ["AUDIO"],
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: spec.speech.voice } } },
    },
    systemInstruction: { parts: [{ text: spec.instructions }] },
    ...(declarations.length > 0 && { tools: [{ functionDeclarations: declarations }] }),
    inputAudioTranscription: {},
    outputAudioTranscription: {},
    sessionResumption: spec.handle ? { handle: spec.handle } : {},
    contextWindowCompression: { slidingWindow: {} },
  };
}

export const setupMessage = (spec: GeminiSessionSpec) => message({ setup: geminiSetup(spec) });

/** Built as a string, as OpenAI's append is: base64 needs no escaping, and it goes out 50 times a second. */
export const geminiAudioMessage = (pcm8: string) =>
  `{"realtimeInput":{"audio":{"data":"${pcm8}","mimeType":"${GEMINI_INPUT_MIME}"}}}`;

/** Text the model takes as the user's input and answers: how server-decided lines reach it. */
export const geminiTextMessage = (text: string) => message({ realtimeInput: { text } });

/**
 * One earlier turn of the conversation, for a new session to know it; no reply is asked for. Gemini's turns are the
 * user's or the model's: a note from the server goes in as the user's.
 */
export const historyTurnMessage = (role: "user" | "assistant" | "system", text: string) =>
  message({
    clientContent: {
      turns: [{ role: role === "assistant" ? "model" : "user", parts: [{ text }] }],
      turnComplete: false,
    },
  });

export const toolResponseMessage = (id: string, name: string, output: unknown) =>
  message({
    toolResponse: {
      // A function's response is an object; our tools' outputs are, and anything else is wrapped as one.
      functionResponses: [{ id, name, response: isRecord(output) ? output : { output } }],
    },
  });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

// ── Server messages ─────────────────────────────────────────────────────────────────────────────

/** What the reader of one call's Gemini session keeps between messages, across the sockets that resume it. */
export interface GeminiReader {
  read(data: string | ArrayBuffer | Uint8Array, on: ModelHandlers): void;
  /**
   * The server asks for a reply (`line`: with a line of its own to say): true when its message is to be sent.
   * Asked while a reply is starting to what was just heard, a plain request is that reply; a line replaces it.
   */
  ask(line: boolean): boolean;
  /** Who decides when the agent answers now: a turn the server did not ask for is not played unless `auto`. */
  setTurns(turns: TurnMode): void;
  /** The latest handle the server gave to resume this session, if any. */
  handle(): string | null;
  /** A tool call the server took back: its response must not be sent. */
  cancelled(id: string): boolean;
}

interface Reply {
  id: string;
  itemId: string;
  /** Not asked for while the server decides when the agent answers: its audio is not played, its calls refused. */
  muted: boolean;
  said: string;
}

interface Heard {
  itemId: string;
  heard: string;
}

interface ReaderState {
  seq: number;
  reply: Reply | null;
  /** The caller's turn under way. */
  caller: Heard | null;
  /** The caller's turn the reply under way answers: words transcribed late still belong to it. */
  answered: (Heard & { late: string }) | null;
  asked: boolean;
  /** A reply is starting: the caller's turn is being told to the bridge, which may ask for a reply now. */
  opening: boolean;
  /** Asked, while the reply started, to say a line instead: that reply is not played, the line's is. */
  superseded: boolean;
  turns: TurnMode;
  usage: GeminiUsage[];
  handle: string | null;
  cancelled: Set<string>;
}

// The bridge reads OpenAI's event shapes: the Gemini messages are told to it in those, with the fields it reads.
const told = (event: object) => event as RealtimeServerEvent;

export function createGeminiReader(turns: TurnMode = "auto"): GeminiReader {
  const s: ReaderState = {
    seq: 0,
    reply: null,
    caller: null,
    answered: null,
    asked: false,
    opening: false,
    superseded: false,
    turns,
    usage: [],
    handle: null,
    cancelled: new Set(),
  };
  const decoder = new TextDecoder();
  return {
    read(data, on) {
      const text = typeof data === "string" ? data : decoder.decode(data);
      const audio = audioData(text);
      if (audio !== null) return replyAudio(s, on, audio);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return on.malformed();
      }
      if (!isRecord(parsed)) return on.malformed();
      dispatch(s, parsed as GeminiServerMessage, on);
    },
    ask(line) {
      if (s.opening && !line) {
        s.asked = true;
        return false;
      }
      if (s.opening) s.superseded = true;
      s.asked = true;
      return true;
    },
    setTurns(t) {
      s.turns = t;
    },
    handle: () => s.handle,
    cancelled: (id) => s.cancelled.has(id),
  };
}

function dispatch(s: ReaderState, m: GeminiServerMessage, on: ModelHandlers): void {
  if (m.setupComplete) on.event(told({ type: "session.updated" }));
  if (m.usageMetadata) s.usage.push(m.usageMetadata);
  if (isRecord(m.serverContent)) serverContent(s, m.serverContent, on);
  if (isRecord(m.toolCall)) toolCall(s, m.toolCall, on);
  for (const id of m.toolCallCancellation?.ids ?? []) if (typeof id === "string") s.cancelled.add(id);
  const update = m.sessionResumptionUpdate;
  if (update?.resumable && typeof update.newHandle === "string" && update.newHandle) s.handle = update.newHandle;
  if (m.goAway) on.goAway?.();
}

function serverContent(s: ReaderState, c: GeminiServerContent, on: ModelHandlers): void {
  const heard = c.inputTranscription?.text;
  if (typeof heard === "string" && heard) callerHeard(s, on, heard);
  if (c.interrupted) interrupted(s, on);
  for (const part of c.modelTurn?.parts ?? []) {
    const data = part.inlineData?.data;
    if (typeof data === "string" && part.inlineData?.mimeType?.startsWith("audio/")) replyAudio(s, on, data);
  }
  const said = c.outputTranscription?.text;
  if (typeof said === "string" && said) openReply(s, on).said += said;
  if (c.turnComplete) turnComplete(s, on);
}

/** The caller's words, a piece at a time: the first of a turn is when the caller started speaking. */
function callerHeard(s: ReaderState, on: ModelHandlers, text: string): void {
  // Words of the turn the model is answering, transcribed after its reply began: no new turn, no barge-in.
  if (s.reply && s.answered) {
    s.answered.late += text;
    return;
  }
  if (!s.caller) callerStarted(s, on);
  s.caller!.heard += text;
}

function callerStarted(s: ReaderState, on: ModelHandlers): void {
  s.caller = { itemId: `gemini_in_${++s.seq}`, heard: "" };
  on.event(told({ type: "input_audio_buffer.speech_started", item_id: s.caller.itemId }));
}

/** The caller's turn is over (the model answers it): the bridge hears it stopped, and what was said. */
function callerDone(s: ReaderState, on: ModelHandlers): void {
  const caller = s.caller;
  if (!caller) return;
  s.caller = null;
  s.answered = { ...caller, late: "" };
  on.event(told({ type: "input_audio_buffer.speech_stopped" }));
  const transcript = caller.heard.trim();
  on.event(told({ type: "conversation.item.input_audio_transcription.completed", item_id: caller.itemId, transcript }));
}

/** The late words of the answered turn, told as that turn's whole transcript once the reply is over. */
function lateWords(s: ReaderState, on: ModelHandlers): void {
  const answered = s.answered;
  s.answered = null;
  if (!answered?.late) return;
  const transcript = (answered.heard + answered.late).trim();
  on.event(
    told({ type: "conversation.item.input_audio_transcription.completed", item_id: answered.itemId, transcript }),
  );
}

/** The caller spoke over the model, which has stopped: the bridge cuts the agent off as on speech_started. */
function interrupted(s: ReaderState, on: ModelHandlers): void {
  replyDone(s, on);
  if (!s.caller) callerStarted(s, on);
  else on.event(told({ type: "input_audio_buffer.speech_started", item_id: s.caller.itemId }));
}

/**
 * The model's turn starts, so the caller's is over: the bridge hears what was said first, and may decide there
 * and then (the gatekeeper: a person answered) who answers, before this reply is played or not.
 */
function openReply(s: ReaderState, on: ModelHandlers): Reply {
  if (s.reply) return s.reply;
  s.opening = true;
  callerDone(s, on);
  s.opening = false;
  const n = ++s.seq;
  const muted = s.superseded || (!s.asked && s.turns !== "auto");
  // A superseded reply leaves the request standing for the line asked instead.
  if (!s.superseded) s.asked = false;
  s.superseded = false;
  s.reply = { id: `gemini_resp_${n}`, itemId: `gemini_out_${n}`, muted, said: "" };
  if (!muted) on.event(told({ type: "response.created", response: { id: s.reply.id } }));
  return s.reply;
}

function replyAudio(s: ReaderState, on: ModelHandlers, data: string): void {
  const reply = openReply(s, on);
  if (!reply.muted) on.audioDelta(reply.id, reply.itemId, data);
}

function toolCall(s: ReaderState, call: NonNullable<GeminiServerMessage["toolCall"]>, on: ModelHandlers): void {
  const reply = openReply(s, on);
  for (const f of call.functionCalls ?? []) {
    if (typeof f.id !== "string" || typeof f.name !== "string") {
      on.malformed();
      continue;
    }
    // A reply nobody asked for must not act (press keys on hold, hang up on a screener): refused, yet answered.
    if (reply.muted) on.answer?.(toolResponseMessage(f.id, f.name, { ok: false, error: "Not now: stay silent." }));
    else {
      const args = JSON.stringify(isRecord(f.args) ? f.args : {});
      const event = { response_id: reply.id, call_id: f.id, name: f.name, arguments: args };
      on.event(told({ type: "response.function_call_arguments.done", ...event }));
    }
  }
  // The model waits for the responses: its reply so far is done, and the tool calls' outputs go out now.
  replyDone(s, on);
}

function turnComplete(s: ReaderState, on: ModelHandlers): void {
  replyDone(s, on);
  lateWords(s, on);
}

function replyDone(s: ReaderState, on: ModelHandlers): void {
  const reply = s.reply;
  s.reply = null;
  const usage = openAiUsage(s.usage.splice(0));
  if (!reply || reply.muted) {
    if (usage) on.event(told({ type: "response.done", response: { id: null, usage } }));
    return;
  }
  if (reply.said) {
    const transcript = reply.said.trim();
    on.event(told({ type: "response.output_audio_transcript.done", item_id: reply.itemId, transcript }));
  }
  on.event(told({ type: "response.done", response: { id: reply.id, usage } }));
}

const modality = (details: GeminiUsage["promptTokensDetails"], kind: string) =>
  (details ?? []).reduce((n, d) => n + (d.modality === kind && typeof d.tokenCount === "number" ? d.tokenCount : 0), 0);

/** Gemini's usageMetadata in the fields the call's metrics add up (OpenAI's names). */
export function openAiUsage(all: GeminiUsage[]) {
  if (all.length === 0) return undefined;
  const sum = {
    input_tokens: 0,
    output_tokens: 0,
    total_tokens: 0,
    audio_in: 0,
    audio_out: 0,
    cached: 0,
    cached_audio: 0,
  };
  for (const u of all) {
    sum.input_tokens += u.promptTokenCount ?? 0;
    sum.output_tokens += u.responseTokenCount ?? 0;
    sum.total_tokens += u.totalTokenCount ?? 0;
    sum.audio_in += modality(u.promptTokensDetails, "AUDIO");
    sum.audio_out += modality(u.responseTokensDetails, "AUDIO");
    sum.cached += u.cachedContentTokenCount ?? 0;
    sum.cached_audio += modality(u.cacheTokensDetails, "AUDIO");
  }
  return {
    input_tokens: sum.input_tokens,
    output_tokens: sum.output_tokens,
    total_tokens: sum.total_tokens,
    input_token_details: {
      audio_tokens: sum.audio_in,
      cached_tokens: sum.cached,
      cached_tokens_details: { audio_tokens: sum.cached_audio },
    },
    output_token_details: { audio_tokens: sum.audio_out },
  };
}

/** Keys that, outside the audio's data, mean the message holds more than one chunk of reply audio. */
const NOT_AUDIO_ONLY = [
  "Transcription",
  "turnComplete",
  "interrupted",
  "generationComplete",
  "usageMetadata",
  '"text"',
];

/**
 * The audio of a message that holds one chunk of reply audio and nothing else, without a JSON parse of its
 * (large) payload; the API may indent its JSON, so whitespace is allowed. Anything else returns null.
 */
export function audioData(text: string): string | null {
  const at = text.indexOf('"inlineData"');
  if (at < 0 || at > 160 || text.indexOf('"inlineData"', at + 12) >= 0) return null;
  const key = text.indexOf('"data"', at + 12);
  if (key < 0) return null;
  let start = key + 6;
  while (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 10) start++;
  if (text.charCodeAt(start) !== 58) return null;
  start++;
  while (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 10) start++;
  if (text.charCodeAt(start) !== 34) return null;
  const end = text.indexOf('"', start + 1);
  if (end < 0) return null;
  for (const k of NOT_AUDIO_ONLY) if (text.lastIndexOf(k, at) >= 0 || text.indexOf(k, end) >= 0) return null;
  if (!text.startsWith("audio/pcm", text.indexOf('"', text.indexOf('"mimeType"') + 10) + 1)) return null;
  return text.slice(start + 1, end);
}
