import type { CallCost } from "../cost/pricing.ts";
import type { AttemptRow, CallRow, EventRow, TurnRow } from "../store/store.ts";
import type { CallOptions } from "./options.ts";
import type { CallReport } from "./report.ts";
import { scheduledForText } from "./schedule.ts";
import { iso } from "./time.ts";

const optionsOf = (c: CallRow): CallOptions | null => (c.options ? (JSON.parse(c.options) as CallOptions) : null);

/** The API's shape of a call: the original API's list fields first, then everything the store knows. */
export function callSummary(c: CallRow) {
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
    // When a call placed for later is (or was) due to be dialled, in its window's zone; null if at once.
    scheduled_for: c.scheduled_for === null ? null : scheduledForText(c.scheduled_for, optionsOf(c)),
  };
}

/**
 * A call as a live list shows it: the summary plus how it ended and, while it goes on, who spoke last
 * (the transcript's newest turn), so a list row needs neither the whole detail nor the whole transcript.
 */
export function callListing(c: CallRow, lastTurn: TurnRow | undefined) {
  return {
    ...callSummary(c),
    ended_at: iso(c.ended_at),
    duration_s: c.duration_s,
    end_reason: c.end_reason,
    outcome: finalReport(c)?.outcome ?? null,
    cost: costOf(c),
    speaker: c.ended_at === null && lastTurn ? lastTurn.role : null,
    last_said_at: lastTurn ? iso(lastTurn.started_at) : null,
  };
}

/**
 * Every attempt, the finished ones first and then the one the call row follows: under way, ended, or
 * (with `scheduled` status) waiting for its time.
 */
export function attemptsView(c: CallRow, past: AttemptRow[]) {
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

export interface CallExtras {
  events: EventRow[];
  turns: TurnRow[];
  attempts: AttemptRow[];
}

export function callDetail(c: CallRow, { events, turns, attempts }: CallExtras) {
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
    transcript: turns.map((t) => ({
      role: t.role,
      text: t.text,
      at: iso(t.started_at),
      interrupted: t.interrupted === 1,
    })),
    metrics: c.metrics ? (JSON.parse(c.metrics) as unknown) : null,
    callback_url: c.callback_url,
    notify: c.notify === 1,
    report_schema: c.report_schema ? (JSON.parse(c.report_schema) as unknown) : null,
    options: optionsOf(c),
    answered_by: c.answered_by,
    transferred_to: c.transferred_to,
    transfer_status: c.transfer_status,
    attempts: attemptsView(c, attempts),
    next_attempt_at: iso(c.next_attempt_at),
    report: finalReport(c),
    cost: costOf(c),
  };
}

/** What the call cost, once its report is made: `estimated` until Twilio's own price is in. */
export function costOf(c: CallRow): CallCost | null {
  return c.cost ? (JSON.parse(c.cost) as CallCost) : null;
}

/** `$0.0421 (estimated)`: four decimals, as a person reads a call's cost. */
export function costText(cost: CallCost): string {
  return `$${cost.total.toFixed(4)} (telephony $${cost.telephony.toFixed(4)}, model $${cost.model.toFixed(4)}${cost.estimated ? ", estimated" : ""})`;
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
