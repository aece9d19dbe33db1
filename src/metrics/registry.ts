// src/metrics/ owns /metrics: the instruments, the families and the exposition format. It imports only the
// bridge's per-call metrics type and the Twilio client it counts around; nothing calls back into it but the app.
//
// The server's Prometheus families. Counters and histograms live in memory since the start, fed at a
// few points that each happen once per call, request or delivery attempt; gauges are read at scrape
// time. Nothing here runs per audio frame: a call's frame counts come from its bridge's own metrics.
import type { CallMetrics } from "../bridge/metrics.ts";
import { once } from "../runtime/once.ts";
import { type Family, type Labels, render } from "./exposition.ts";
import { type Counter, counter, gauge, histogram } from "./instruments.ts";

export type TwilioOp = "create" | "update" | "fetch";
export type TwilioOutcome = "ok" | "refused" | "unreachable";
/** What one delivery attempt left: delivered, to be tried again, or given up (the outbox's `failed`). */
export type DeliveryOutcome = "delivered" | "retry" | "failed";

export interface EndedCall {
  direction: string;
  endReason: string;
  /** Seconds from answer to end; null for a call never answered, which has no talk time to measure. */
  durationS: number | null;
}

/** What is read fresh for each scrape. */
export interface Scrape {
  activeCalls: number;
  pendingEvents: number;
  /** Metrics of the bridges still open, whose counts are not folded in yet. */
  live: CallMetrics[];
  startedAt: number;
  version: string;
}

export interface MetricsRegistry {
  callEnded(call: EndedCall): void;
  /** A call's cost in USD, counted once, when it is settled (Twilio's price in, or no more asked for). */
  callCost(cost: { telephony: number; model: number }): void;
  /** Folds in a call's bridge metrics once, when its bridge closes. */
  bridgeClosed(m: CallMetrics): void;
  /** A call screener answered a call, or a hold of `holdS` seconds ended. */
  gatekeeper(event: { screened: true } | { holdS: number }): void;
  twilioRequest(op: TwilioOp, outcome: TwilioOutcome): void;
  eventAttempt(outcome: DeliveryOutcome): void;
  /** `route` is the route's pattern, so a call id in a path never makes a series of its own. */
  httpResponse(route: string, code: number): void;
  exposition(scrape: Scrape): string;
}

// Phone calls last from seconds to the 4 h limit; the rest are what a caller notices, from a snappy
// quarter second to a broken ten.
const CALL_DURATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
const TURN_LATENCY_BUCKETS = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
const MODEL_CONNECT_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10];
const FIRST_AUDIO_BUCKETS = [0.25, 0.5, 1, 1.5, 2, 3, 5, 10];

const DIRECTIONS: Labels[] = [{ direction: "in" }, { direction: "out" }];
const cross = (name: string, values: string[], rest: Labels[]) =>
  values.flatMap((v) => rest.map((l) => ({ ...l, [name]: v })));

function instruments() {
  return {
    calls: counter("agenticai_calls_total", "Calls ended since the server started.", ["direction", "end_reason"]),
    duration: histogram(
      "agenticai_call_duration_seconds",
      "Answered calls' length, from the answer to the end.",
      CALL_DURATION_BUCKETS,
    ),
    turnLatency: histogram(
      "agenticai_turn_latency_seconds",
      "From the end of the caller's speech to the agent's first audio, per turn.",
      TURN_LATENCY_BUCKETS,
    ),
    modelConnect: histogram(
      "agenticai_model_connect_seconds",
      "From preparing a call's bridge to its model session being ready.",
      MODEL_CONNECT_BUCKETS,
    ),
    firstAudio: histogram(
      "agenticai_time_to_first_audio_seconds",
      "From a call's media stream starting to the agent's first audio.",
      FIRST_AUDIO_BUCKETS,
    ),
    bargeIns: counter("agenticai_barge_ins_total", "Times a caller cut the agent off."),
    reconnects: counter("agenticai_model_reconnects_total", "Model sessions reopened during a call."),
    frames: counter(
      "agenticai_media_frames_total",
      "Media frames from (in) and to (out) Twilio.",
      ["direction"],
      DIRECTIONS,
    ),
    dropped: counter(
      "agenticai_media_frames_dropped_total",
      "Media frames dropped because a side could not keep up.",
      ["direction"],
      DIRECTIONS,
    ),
    screened: counter("agenticai_calls_screened_total", "Calls a call screener answered."),
    holds: counter("agenticai_holds_total", "Holds the agent waited through (ended, by a person or a hang-up)."),
    holdSeconds: counter("agenticai_hold_seconds_total", "Seconds calls spent on hold, added up."),
    twilio: counter(
      "agenticai_twilio_requests_total",
      "Requests to Twilio's REST API: ok, refused (Twilio answered with an error) or unreachable.",
      ["op", "outcome"],
      cross("op", ["create", "update", "fetch"], cross("outcome", ["ok", "refused", "unreachable"], [{}])),
    ),
    events: counter(
      "agenticai_events_delivered_total",
      "Event delivery attempts: delivered, failed and to be retried, or failed for good.",
      ["outcome"],
      [{ outcome: "delivered" }, { outcome: "retry" }, { outcome: "failed" }],
    ),
    cost: counter(
      "agenticai_call_cost_usd_total",
      "What ended calls cost in USD, by part: telephony (Twilio) and model (tokens), counted once a call's cost is settled.",
      ["part"],
      [{ part: "telephony" }, { part: "model" }],
    ),
  };
}

const httpCounter = () =>
  counter("agenticai_http_requests_total", "HTTP responses by route pattern and status code.", ["route", "code"]);

type Instruments = ReturnType<typeof instruments>;

function foldBridge(i: Instruments, m: CallMetrics): void {
  for (const ms of m.turn_latency_ms) i.turnLatency.observe(ms / 1000);
  if (m.model_connect_ms !== null) i.modelConnect.observe(m.model_connect_ms / 1000);
  if (m.time_to_first_audio_ms !== null) i.firstAudio.observe(m.time_to_first_audio_ms / 1000);
  i.bargeIns.inc({}, m.barge_ins);
  i.reconnects.inc({}, m.model_reconnects);
  i.frames.inc({ direction: "in" }, m.frames_in);
  i.frames.inc({ direction: "out" }, m.frames_out);
  i.dropped.inc({ direction: "in" }, m.frames_dropped_in);
  i.dropped.inc({ direction: "out" }, m.frames_dropped_out);
}

/** Sums one of the live bridges' counters, picked by direction where the family has one. */
const liveSum = (live: CallMetrics[], pick: (m: CallMetrics, labels: Labels) => number) => (labels: Labels) =>
  live.reduce((n, m) => n + pick(m, labels), 0);

function families(i: Instruments, http: Counter, s: Scrape): Family[] {
  return [
    gauge("agenticai_calls_active", "Calls under way (not ended, not waiting for a retry).", s.activeCalls),
    i.calls.family(),
    i.duration.family(),
    i.turnLatency.family(),
    i.modelConnect.family(),
    i.firstAudio.family(),
    i.bargeIns.family(liveSum(s.live, (m) => m.barge_ins)),
    i.reconnects.family(liveSum(s.live, (m) => m.model_reconnects)),
    i.frames.family(liveSum(s.live, (m, l) => (l.direction === "in" ? m.frames_in : m.frames_out))),
    i.dropped.family(liveSum(s.live, (m, l) => (l.direction === "in" ? m.frames_dropped_in : m.frames_dropped_out))),
    i.screened.family(),
    i.holds.family(),
    i.holdSeconds.family(),
    i.twilio.family(),
    gauge("agenticai_events_pending", "Events in the outbox waiting to be delivered.", s.pendingEvents),
    i.events.family(),
    i.cost.family(),
    http.family(),
    gauge("agenticai_build_info", "The running build; always 1.", [{ labels: { version: s.version }, value: 1 }]),
    gauge("process_start_time_seconds", "Start time of the process since the Unix epoch.", s.startedAt / 1000),
  ];
}

export function createMetricsRegistry(): MetricsRegistry {
  // Every response is counted from the first; the other families are made on first use, since a cold start's first
  // /health (an orchestrator's readiness probe) would otherwise wait for them. A scrape makes them too, so their preset
  // series show at 0 as before.
  const http = httpCounter();
  const instrumentsNow = once(instruments);
  return {
    callEnded(call) {
      const i = instrumentsNow();
      i.calls.inc({ direction: call.direction, end_reason: call.endReason });
      if (call.durationS !== null) i.duration.observe(call.durationS);
    },
    callCost(cost) {
      const i = instrumentsNow();
      i.cost.inc({ part: "telephony" }, cost.telephony);
      i.cost.inc({ part: "model" }, cost.model);
    },
    bridgeClosed: (m) => foldBridge(instrumentsNow(), m),
    gatekeeper(event) {
      const i = instrumentsNow();
      if ("screened" in event) return i.screened.inc();
      i.holds.inc();
      i.holdSeconds.inc({}, event.holdS);
    },
    twilioRequest: (op, outcome) => instrumentsNow().twilio.inc({ op, outcome }),
    eventAttempt: (outcome) => instrumentsNow().events.inc({ outcome }),
    httpResponse: (route, code) => http.inc({ route, code: String(code) }),
    exposition: (s) => render(families(instrumentsNow(), http, s)),
  };
}
