import type { ResponseDoneEvent } from "openai/resources/realtime/realtime";

/** Per-call measurements, stored with the call when the bridge closes (and after every response). */
export interface CallMetrics {
  model_connect_ms: number | null;
  time_to_first_audio_ms: number | null;
  turn_latency_ms: number[];
  barge_ins: number;
  barge_in_reaction_ms: number[];
  frames_in: number;
  frames_out: number;
  frames_dropped_in: number;
  frames_dropped_out: number;
  /** Silence put in where Twilio's timestamps jumped (it drops audio when congested). */
  gap_filled_ms: number;
  model_reconnects: number;
  usage: {
    input_tokens: number;
    output_tokens: number;
    total_tokens: number;
    input_audio_tokens: number;
    output_audio_tokens: number;
    cached_tokens: number;
    /** Of cached_tokens, those that were audio (priced apart from cached text). */
    cached_audio_tokens: number;
  };
}

export function createMetrics(): CallMetrics {
  return {
    model_connect_ms: null,
    time_to_first_audio_ms: null,
    turn_latency_ms: [],
    barge_ins: 0,
    barge_in_reaction_ms: [],
    frames_in: 0,
    frames_out: 0,
    frames_dropped_in: 0,
    frames_dropped_out: 0,
    gap_filled_ms: 0,
    model_reconnects: 0,
    usage: {
      input_tokens: 0,
      output_tokens: 0,
      total_tokens: 0,
      input_audio_tokens: 0,
      output_audio_tokens: 0,
      cached_tokens: 0,
      cached_audio_tokens: 0,
    },
  };
}

export function addUsage(m: CallMetrics, usage: ResponseDoneEvent["response"]["usage"]): void {
  if (!usage) return;
  m.usage.input_tokens += usage.input_tokens ?? 0;
  m.usage.output_tokens += usage.output_tokens ?? 0;
  m.usage.total_tokens += usage.total_tokens ?? 0;
  m.usage.input_audio_tokens += usage.input_token_details?.audio_tokens ?? 0;
  m.usage.output_audio_tokens += usage.output_token_details?.audio_tokens ?? 0;
  m.usage.cached_tokens += usage.input_token_details?.cached_tokens ?? 0;
  m.usage.cached_audio_tokens += usage.input_token_details?.cached_tokens_details?.audio_tokens ?? 0;
}
