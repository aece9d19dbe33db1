// The call report: what happened, in a shape the assistant can act on. Calls that were never answered
// get one derived from their status; answered calls get the model's, unless the agent already
// recorded one with report_outcome during the call.
import type { AppContext } from "../app.ts";
import type { AgentOutcome } from "../bridge/tools.ts";
import { z } from "../config/zod.ts";
import { menuOptions } from "../gatekeepers/phrases.ts";
import { dropOptionalNulls } from "../model/json-schema.ts";
import { OUTCOMES, type Outcome, type ReportDraft } from "../model/report.ts";
import type { AttemptRow, CallRow, TurnRow } from "../store/store.ts";
import type { CallOptions } from "./options.ts";
import { iso } from "./time.ts";

/** The gatekeepers the agent did not get past, for a report made without a model. */
const GATEKEEPERS: Record<string, { outcome: Outcome; summary: string }> = {
  screened: { outcome: "no_answer", summary: "A call screener answered; the person never came on the line." },
  hold_timeout: { outcome: "no_answer", summary: "The call was put on hold and nobody came back in time." },
  ivr_stuck: { outcome: "failed", summary: "A phone menu repeated itself without getting anywhere." },
};

export const REPORT_SOURCES = ["model", "agent_tool", "fallback"] as const;
export type ReportSource = (typeof REPORT_SOURCES)[number];

/** The call report as the API, the events and the MCP tools show it. */
export const CallReportSchema = z.lazy(() =>
  z.object({
    outcome: z.enum(OUTCOMES),
    summary: z.string().check(z.describe("one to three sentences")),
    facts: z.record(z.string(), z.unknown()).check(z.describe("matching the request's report_schema when it gave one")),
    next_steps: z.array(z.string()),
    source: z.enum(REPORT_SOURCES),
    generated_at: z.iso.datetime(),
    answered_by: z.optional(z.string().check(z.describe("Twilio's answering machine detection result, when it ran"))),
    attempts: z.optional(z.int().check(z.describe("how many times the call was dialled, when more than once"))),
    /**
     * What the agent asked the owner's assistant mid-call, and the answer the other party heard ("(no answer: …)"
     * when none came, null when the call ended before it did).
     */
    consults: z.optional(
      z.array(z.object({ question: z.string(), answer: z.nullable(z.string()), asked_at: z.iso.datetime() })),
    ),
    screened: z.optional(z.literal(true).check(z.describe("a call screener answered the call"))),
    hold_s: z.optional(z.number().check(z.describe("seconds on hold, all holds added up, when the call was held"))),
    menu_options: z.optional(
      z
        .array(z.object({ key: z.string(), label: z.string() }))
        .check(z.describe("what a phone menu that went round in circles offered (end_reason ivr_stuck)")),
    ),
  }),
);
export type CallReport = z.output<typeof CallReportSchema>;

export const stamp = (draft: ReportDraft, source: ReportSource, at: number): CallReport => ({
  ...draft,
  source,
  generated_at: iso(at),
});

const UNANSWERED: Record<string, { outcome: Outcome; summary: string }> = {
  busy: { outcome: "busy", summary: "The line was busy." },
  "no-answer": { outcome: "no_answer", summary: "Nobody answered the call." },
  canceled: { outcome: "failed", summary: "The call was canceled before it was answered." },
  failed: { outcome: "error", summary: "The call could not be placed." },
};

/** End reasons that mean the call itself went wrong, whatever was said. */
const FAULTS = new Set(["model_unavailable", "twilio_error", "server_restart"]);

/** What voicemail got, by the call's policy: a message, or nothing. */
const VOICEMAIL: Record<string, string> = {
  leave_message: "Voicemail answered; the agent left a message after the beep.",
  hangup: "Voicemail answered; the call was ended without leaving a message.",
};

const FAX = "A fax machine answered; the call was ended without a message.";

/** The earlier attempts' statuses, when the call was tried more than once: "(3 attempts: busy, busy, no-answer)". */
function attemptsNote(call: CallRow, attempts: AttemptRow[]): string {
  if (attempts.length === 0) return "";
  return ` (${call.attempt} attempts: ${[...attempts.map((a) => a.status), call.status].join(", ")})`;
}

/** A report made without a model: from the status alone, and `why` there is no better one. */
export function fallbackReport(call: CallRow, why: string | null, at: number, attempts: AttemptRow[] = []): CallReport {
  const unanswered = call.answered_at === null ? (UNANSWERED[call.status] ?? UNANSWERED.failed!) : null;
  const error = call.error ? ` ${call.error}` : "";
  const policy = call.options ? (JSON.parse(call.options) as CallOptions).voicemail : "hangup";
  const voicemail = call.end_reason !== "voicemail" ? undefined : call.answered_by === "fax" ? FAX : VOICEMAIL[policy];
  const draft: ReportDraft = unanswered
    ? {
        outcome: unanswered.outcome,
        summary: `${unanswered.summary}${attemptsNote(call, attempts)}${error}`,
        facts: {},
        next_steps: [],
      }
    : voicemail
      ? { outcome: "voicemail", summary: voicemail, facts: {}, next_steps: [] }
      : GATEKEEPERS[call.end_reason ?? ""]
        ? { ...GATEKEEPERS[call.end_reason!]!, facts: {}, next_steps: [] }
        : {
            outcome: FAULTS.has(call.end_reason ?? "") ? "error" : "partial",
            summary:
              `The call was answered and lasted ${call.duration_s ?? "an unknown number of"} s (${call.end_reason ?? call.status}). ${why ?? ""}`.trim(),
            facts: {},
            next_steps: [],
          };
  return stamp(draft, "fallback", at);
}

/** The agent's report_outcome, checked against the call's report_schema; the problem, if any, goes back to it. */
export async function recordAgentOutcome(
  ctx: AppContext,
  call: CallRow,
  outcome: AgentOutcome,
): Promise<string | null> {
  const schema = call.report_schema ? (JSON.parse(call.report_schema) as Record<string, unknown>) : null;
  const facts = schema ? (dropOptionalNulls(schema, outcome.facts) as Record<string, unknown>) : outcome.facts;
  const problem = schema ? await ctx.facts.check(schema, facts) : null;
  if (problem) return problem;
  const at = ctx.now();
  await ctx.store.updateCall(call.id, { report: JSON.stringify(stamp({ ...outcome, facts }, "agent_tool", at)) }, at);
  ctx.log.info("the agent recorded the call's outcome", { call_id: call.id, outcome: outcome.outcome });
  return null;
}

/** What the report adds from the call itself: what answered, how many attempts it took, what the agent asked. */
export function withCallFacts(report: CallReport, call: CallRow, turns: TurnRow[]): CallReport {
  const out: CallReport = { ...report };
  if (call.answered_by) out.answered_by = call.answered_by;
  if (call.attempt > 1) out.attempts = call.attempt;
  const consults = consultsOf(turns);
  if (consults.length > 0) out.consults = consults;
  if (call.screened) out.screened = true;
  if (call.hold_s > 0) out.hold_s = call.hold_s;
  if (call.end_reason === "ivr_stuck") out.menu_options = lastMenu(turns);
  return out;
}

/** The options of the last menu reading that offered any. */
function lastMenu(turns: TurnRow[]): NonNullable<CallReport["menu_options"]> {
  for (const turn of turns.toReversed()) {
    if (turn.role !== "caller") continue;
    const options = menuOptions(turn.text);
    if (options.length > 0) return options;
  }
  return [];
}

/** Each question and its answer, paired by their rows' item ids (consult.ts writes them). */
function consultsOf(turns: TurnRow[]): NonNullable<CallReport["consults"]> {
  const answers = new Map(
    turns.filter((t) => t.role === "consult_answer").map((t) => [t.item_id.replace(/-answer$/, ""), t]),
  );
  return turns
    .filter((t) => t.role === "consult_question")
    .map((q) => {
      const a = answers.get(q.item_id.replace(/-question$/, ""));
      return { question: q.text, answer: a?.text ?? null, asked_at: iso(q.started_at) };
    });
}
