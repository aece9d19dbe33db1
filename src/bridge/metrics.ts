import type { ResponseDoneEvent } from "openai/resources/realtime/realtime";
import { z } from "../config/zod.ts";

const count = () => z.int().check(z.minimum(0));
const ms = (about: string) => z.nullable(z.number().check(z.describe(about)));

/**
 * Per-call measurements, stored with the call when the bridge closes (and after every response). A schema
 * rather than only a type: the API's description (GET /openapi.json) shows it, and cannot drift from it.
 */
export const CallMetricsSchema = z.lazy(() =>
  z.object({
    model_connect_ms: ms("how long the model session took to be ready"),
    time_to_first_audio_ms: ms("media stream start → first agent audio sent"),
    turn_latency_ms: z.array(z.number()).check(z.describe("caller stopped speaking → first agent audio, per turn")),
    barge_ins: count(),
    barge_in_reaction_ms: z.array(z.number()),
    frames_in: count(),
    frames_out: count(),
    frames_dropped_in: count(),
    frames_dropped_out: count(),
    gap_filled_ms: z.number().check(z.describe("silence put in where Twilio dropped audio and its timestamps jumped")),
    model_reconnects: count(),
    usage: z.object({
      input_tokens: count(),
      output_tokens: count(),
      total_tokens: count(),
      input_audio_tokens: count(),
      output_audio_tokens: count(),
      cached_tokens: count(),
      cached_audio_tokens: count().check(z.describe("of cached_tokens, those that were audio (priced apart)")),
    }),
  }),
);
export type CallMetrics = z.output<typeof CallMetricsSchema>;

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

/**
 * The metrics of the bridges before this one on the same call (its stream dropped and was taken over), as stored:
 * whatever an older build left out starts from zero. Null for none, or for what is not an object.
 */
export function storedMetrics(json: string | null): CallMetrics | null {
  if (!json) return null;
  try {
    const v = JSON.parse(json) as Partial<CallMetrics> | null;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
    const base = createMetrics();
    return { ...base, ...v, usage: { ...base.usage, ...v.usage } };
  } catch {
    return null;
  }
}

/** A call's metrics over two bridges: counts added, per-turn lists joined, the first bridge's one-off timings kept. */
export function sumMetrics(a: CallMetrics, b: CallMetrics): CallMetrics {
  // Metrics stored before a count existed lack it: they add nothing to it.
  const add = <K extends keyof CallMetrics["usage"]>(k: K) => (a.usage[k] ?? 0) + (b.usage[k] ?? 0);
  return {
    model_connect_ms: a.model_connect_ms ?? b.model_connect_ms,
    time_to_first_audio_ms: a.time_to_first_audio_ms ?? b.time_to_first_audio_ms,
    turn_latency_ms: [...a.turn_latency_ms, ...b.turn_latency_ms],
    barge_ins: a.barge_ins + b.barge_ins,
    barge_in_reaction_ms: [...a.barge_in_reaction_ms, ...b.barge_in_reaction_ms],
    frames_in: a.frames_in + b.frames_in,
    frames_out: a.frames_out + b.frames_out,
    frames_dropped_in: a.frames_dropped_in + b.frames_dropped_in,
    frames_dropped_out: a.frames_dropped_out + b.frames_dropped_out,
    gap_filled_ms: a.gap_filled_ms + b.gap_filled_ms,
    model_reconnects: a.model_reconnects + b.model_reconnects,
    usage: {
      input_tokens: add("input_tokens"),
      output_tokens: add("output_tokens"),
      total_tokens: add("total_tokens"),
      input_audio_tokens: add("input_audio_tokens"),
      output_audio_tokens: add("output_audio_tokens"),
      cached_tokens: add("cached_tokens"),
      cached_audio_tokens: add("cached_audio_tokens"),
    },
  };
}
