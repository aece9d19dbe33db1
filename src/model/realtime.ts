// OpenAI Realtime (GA) over a plain WebSocket: URL, session shape, and the one hot server event.
import type { RealtimeClientEvent, RealtimeSessionCreateRequest } from "openai/resources/realtime/realtime";
import type { Config } from "../config/schema.ts";
import { startsWithin, stringField } from "../wire/json-field.ts";

/** `OPENAI_BASE_URL` + `/realtime?model=`; http→ws so a local model server needs no TLS. */
export function realtimeUrl(baseUrl: string, model: string): string {
  return `${baseUrl.replace(/\/+$/, "").replace(/^http/, "ws")}/realtime?model=${encodeURIComponent(model)}`;
}

export const END_CALL_TOOL = {
  type: "function",
  name: "end_call",
  description: "Hang up the phone call. Say goodbye first; call this only when the conversation is over.",
  parameters: {
    type: "object",
    properties: { reason: { type: "string", description: "Why the call is ending" } },
    required: ["reason"],
  },
} as const;

export function sessionConfig(config: Config, instructions: string): RealtimeSessionCreateRequest {
  const { vad } = config.openai;
  const format =
    config.audio.format === "pcm" ? ({ type: "audio/pcm", rate: 24000 } as const) : ({ type: "audio/pcmu" } as const);
  const turnDetection =
    vad.type === "semantic_vad"
      ? { type: "semantic_vad" as const, eagerness: vad.eagerness, create_response: true, interrupt_response: true }
      : {
          type: "server_vad" as const,
          threshold: vad.threshold,
          prefix_padding_ms: vad.prefix_padding_ms,
          silence_duration_ms: vad.silence_ms,
          create_response: true,
          interrupt_response: true,
        };
  return {
    type: "realtime",
    model: config.openai.model,
    output_modalities: ["audio"],
    instructions,
    audio: {
      input: { format, transcription: { model: config.openai.transcription_model }, turn_detection: turnDetection },
      output: { format, voice: config.openai.voice },
    },
    tools: [END_CALL_TOOL],
    tool_choice: "auto",
  };
}

export const clientEvent = (event: RealtimeClientEvent) => JSON.stringify(event);

export const appendMessage = (audio: string) => `{"type":"input_audio_buffer.append","audio":"${audio}"}`;

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
