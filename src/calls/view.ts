// The API's shapes of a call, each a zod schema its type comes from: the handlers build these objects, and the
// API's description (GET /openapi.json) and the MCP tools' output schemas are generated from the same schemas.
import { type CallMetrics, CallMetricsSchema } from "../bridge/metrics.ts";
import { z } from "../config/zod.ts";
import type { CallCost } from "../cost/pricing.ts";
import { OUTCOMES } from "../model/report.ts";
import { type AttemptRow, type CallRow, END_REASONS, type EventRow, type TurnRow } from "../store/store.ts";
import { CALL_STATUSES } from "../twilio/status.ts";
import { type CallOptions, CallOptionsSchema } from "./options.ts";
import { type CallReport, CallReportSchema } from "./report.ts";
import { scheduledForText } from "./schedule.ts";
import { iso } from "./time.ts";

const time = () => z.iso.datetime();
const maybeTime = () => z.nullable(z.iso.datetime());
const described = <T extends z.ZodMiniType>(schema: T, description: string) => schema.check(z.describe(description));

export const CallStatusSchema = z.lazy(() =>
  described(
    z.enum([...CALL_STATUSES, "scheduled"]),
    "Twilio's status words: queued, ringing, in-progress, then how it ended; scheduled for a call placed for later",
  ),
);
export const EndReasonSchema = z.lazy(() => z.nullable(z.enum(END_REASONS)));

/** The original API's list fields: GET /api/calls lists calls in this shape. */
const summaryShape = () => ({
  call_id: described(z.string(), "the call's UUID"),
  to_number: z.string(),
  from_number: z.nullable(z.string()),
  status: CallStatusSchema,
  direction: z.enum(["outbound", "inbound"]),
  active: described(z.boolean(), "false once the call has ended"),
  call_sid: described(z.nullable(z.string()), "Twilio's CallSid of the current attempt"),
  created_at: time(),
  answered_at: maybeTime(),
  metadata: described(z.record(z.string(), z.unknown()), "the request's metadata, exactly as sent"),
  scheduled_for: described(
    z.nullable(z.iso.datetime({ offset: true })),
    "when a call placed for later is (or was) due to be dialled, in its window's zone; null if at once",
  ),
});
export const CallSummarySchema = z.lazy(() => z.object(summaryShape()));
export type CallSummary = z.output<typeof CallSummarySchema>;

/** The API's shape of a call: the original API's list fields first, then everything the store knows. */
export function callSummary(c: CallRow): CallSummary {
  return {
    call_id: c.id,
    to_number: c.to_number,
    from_number: c.from_number,
    status: c.status,
    direction: c.direction,
    active: c.ended_at === null,
    call_sid: c.call_sid,
    created_at: iso(c.created_at),
    answered_at: iso(c.answered_at),
    metadata: JSON.parse(c.metadata) as Record<string, unknown>,
    scheduled_for: c.scheduled_for === null ? null : scheduledForText(c.scheduled_for, optionsOf(c)),
  };
}

const optionsOf = (c: CallRow): CallOptions | null => (c.options ? (JSON.parse(c.options) as CallOptions) : null);

/** What a call cost, once its report is made. */
export const CallCostSchema = z.lazy(() =>
  z.object({
    currency: z.literal("USD"),
    telephony: described(z.number(), "Twilio's own price once it is in, until then the estimate"),
    model: described(z.number(), "the realtime model's tokens and the report model's"),
    total: z.number(),
    estimated: described(z.boolean(), "true while telephony is the estimate (pricing.telephony_per_min)"),
  }),
);

/** What the call cost, once its report is made: `estimated` until Twilio's own price is in. */
export function costOf(c: CallRow): CallCost | null {
  return c.cost ? (JSON.parse(c.cost) as CallCost) : null;
}

/** `$0.0421 (estimated)`: four decimals, as a person reads a call's cost. */
export function costText(cost: CallCost): string {
  return `$${cost.total.toFixed(4)} (telephony $${cost.telephony.toFixed(4)}, model $${cost.model.toFixed(4)}${cost.estimated ? ", estimated" : ""})`;
}

export const CallListingSchema = z.lazy(() =>
  z.object({
    ...summaryShape(),
    ended_at: maybeTime(),
    duration_s: z.nullable(z.number()),
    end_reason: EndReasonSchema,
    outcome: z.nullable(z.enum(OUTCOMES)),
    speaker: described(z.nullable(z.string()), "who spoke last, while the call goes on"),
    last_said_at: maybeTime(),
    cost: z.nullable(CallCostSchema),
  }),
);
export type CallListing = z.output<typeof CallListingSchema>;

/**
 * A call as a live list shows it: the summary plus how it ended and, while it goes on, who spoke last
 * (the transcript's newest turn), so a list row needs neither the whole detail nor the whole transcript.
 */
export function callListing(c: CallRow, lastTurn: TurnRow | undefined): CallListing {
  return {
    ...callSummary(c),
    ended_at: iso(c.ended_at),
    duration_s: c.duration_s,
    end_reason: c.end_reason,
    outcome: finalReport(c)?.outcome ?? null,
    speaker: c.ended_at === null && lastTurn ? lastTurn.role : null,
    last_said_at: lastTurn ? iso(lastTurn.started_at) : null,
    cost: costOf(c),
  };
}

export const AttemptSchema = z.lazy(() =>
  z.object({
    call_sid: z.nullable(z.string()),
    status: described(z.string(), "Twilio's status of the attempt, or scheduled while it waits for its time"),
    end_reason: z.nullable(z.string()),
    started_at: described(time(), "when the attempt was dialled, or is due while it waits"),
  }),
);
export type Attempt = z.output<typeof AttemptSchema>;

/**
 * Every attempt, the finished ones first and then the one the call row follows: under way, ended, or
 * (with `scheduled` status) waiting for its time.
 */
export function attemptsView(c: CallRow, past: AttemptRow[]): Attempt[] {
  const current = {
    call_sid: c.call_sid,
    status: c.next_attempt_at !== null ? "scheduled" : c.status,
    end_reason: c.next_attempt_at !== null ? null : c.end_reason,
    started_at: iso(c.next_attempt_at ?? c.attempt_started_at ?? c.created_at),
  };
  const done = past.map((a) => ({
    call_sid: a.call_sid,
    status: a.status,
    end_reason: a.end_reason,
    started_at: iso(a.started_at),
  }));
  return [...done, current];
}

export const TurnRoleSchema = z.lazy(() =>
  described(
    z.enum(["caller", "agent", "consult_question", "consult_answer"]),
    "the two sides of the call, or a question the agent asked the owner's assistant and the answer it got",
  ),
);

export const TurnSchema = z.lazy(() =>
  z.object({
    role: TurnRoleSchema,
    text: z.string(),
    at: time(),
    interrupted: z.boolean(),
  }),
);
export type Turn = z.output<typeof TurnSchema>;

/** The whole call, as GET /api/calls/{id} shows it. */
export const callDetailShape = () => ({
  ...summaryShape(),
  prompt: z.string(),
  webhook_url: z.string(),
  updated_at: time(),
  ended_at: maybeTime(),
  duration_s: z.nullable(z.number()),
  end_reason: EndReasonSchema,
  error: z.nullable(z.string()),
  status_history: z.array(
    z.object({
      status: z.string(),
      at: time(),
      source: z.enum(["api", "status_callback", "voice_webhook", "reconcile", "sweeper", "resume"]),
      sequence: z.nullable(z.number()),
    }),
  ),
  transcript: z.array(TurnSchema),
  metrics: z.nullable(CallMetricsSchema),
  callback_url: z.nullable(z.string()),
  notify: z.boolean(),
  report_schema: z.nullable(z.unknown()),
  options: described(z.nullable(CallOptionsSchema), "the call's in-call policies, as resolved when it was created"),
  answered_by: z.nullable(z.string()),
  screened: z.boolean().check(z.describe("a call screener answered the call")),
  hold_s: z.number().check(z.describe("seconds on hold, all holds added up")),
  transferred_to: z.nullable(z.string()),
  transfer_status: z.nullable(z.string()),
  attempts: z.array(AttemptSchema),
  next_attempt_at: maybeTime(),
  report: described(z.nullable(CallReportSchema), "null until the call has ended and its report is made"),
  cost: described(z.nullable(CallCostSchema), "what the call cost, once its report is made"),
});
export const CallDetailSchema = z.lazy(() => z.object(callDetailShape()));
export type CallDetail = z.output<typeof CallDetailSchema>;

export interface CallExtras {
  events: EventRow[];
  turns: TurnRow[];
  attempts: AttemptRow[];
}

export const turnView = (t: TurnRow): Turn => ({
  role: t.role,
  text: t.text,
  at: iso(t.started_at),
  interrupted: t.interrupted === 1,
});

export function callDetail(c: CallRow, { events, turns, attempts }: CallExtras): CallDetail {
  return {
    ...callSummary(c),
    prompt: c.prompt,
    webhook_url: c.webhook_url,
    updated_at: iso(c.updated_at),
    ended_at: iso(c.ended_at),
    duration_s: c.duration_s,
    end_reason: c.end_reason,
    error: c.error,
    status_history: events
      .filter((e) => e.verdict === "apply")
      .map((e) => ({ status: e.status, at: iso(e.at), source: e.source, sequence: e.sequence })),
    transcript: turns.map(turnView),
    metrics: c.metrics ? (JSON.parse(c.metrics) as CallMetrics) : null,
    callback_url: c.callback_url,
    notify: c.notify === 1,
    report_schema: c.report_schema ? (JSON.parse(c.report_schema) as unknown) : null,
    options: optionsOf(c),
    answered_by: c.answered_by,
    screened: c.screened === 1,
    hold_s: c.hold_s,
    transferred_to: c.transferred_to,
    transfer_status: c.transfer_status,
    attempts: attemptsView(c, attempts),
    next_attempt_at: iso(c.next_attempt_at),
    report: finalReport(c),
    cost: costOf(c),
  };
}

/** The report once it is final: one the agent recorded during the call is a draft until the call ends. */
export function finalReport(c: CallRow): CallReport | null {
  return c.report && c.report_due === 0 ? (JSON.parse(c.report) as CallReport) : null;
}

/** The report as a person reads it, after the transcript, with what the call cost. */
export function reportText(report: CallReport | null, cost: CallCost | null = null): string {
  if (!report) return "";
  const lines = [`Report (${report.source}): ${report.outcome}`, `  ${report.summary}`];
  for (const [key, value] of Object.entries(report.facts)) lines.push(`  ${key}: ${JSON.stringify(value)}`);
  for (const step of report.next_steps) lines.push(`  next: ${step}`);
  if (cost) lines.push(`  cost: ${costText(cost)}`);
  return `${lines.join("\n")}\n`;
}

const SPEAKERS: Record<TurnRow["role"], string> = {
  agent: "Agent",
  caller: "Caller",
  consult_question: "Agent to the owner's assistant",
  consult_answer: "Owner's assistant",
};

/** One line per turn, as a person would read it: `[12:00:03] Agent: Hello… (interrupted)`. */
export function transcriptText(turns: TurnRow[]): string {
  return (
    turns
      .map(
        (t) =>
          `[${new Date(t.started_at).toISOString().slice(11, 19)}] ${SPEAKERS[t.role]}: ${t.text}${t.interrupted ? " (interrupted)" : ""}`,
      )
      .join("\n") + (turns.length ? "\n" : "")
  );
}
