// Asking the owner's assistant mid-call (consult_assistant). The question is the voice model's, which follows
// the other party, and the answer is spoken to them: so a call may ask at most consult.max_per_call times,
// and each question and answer is kept in the call's transcript and announced as `call.consulted`, so the
// owner can see what their assistant told whom. The report lists them too (report.ts).
import type { AppContext } from "../app.ts";
import { type ConsultResult, type ConsultSettings, consultAssistant } from "../assistant/consult.ts";
import type { CallRow, TurnRow } from "../store/store.ts";
import { eventRows } from "./events.ts";
import type { CallOptions } from "./options.ts";
import { iso } from "./time.ts";

export type Consult = (question: string) => Promise<ConsultResult>;

/** What the transcript keeps in place of an answer that did not come. */
const NO_ANSWER: Record<string, string> = {
  timeout: "(no answer: the assistant did not answer in time)",
  error: "(no answer: the assistant could not be reached)",
};

/** Where consult_assistant asks, when the call asked for it and the gateway token is configured. */
export function consultSettings(ctx: AppContext, options: CallOptions): ConsultSettings | null {
  const openclaw = ctx.config.integrations.openclaw;
  if (!options.consult || !openclaw?.gateway_token) return null;
  return {
    gatewayUrl: openclaw.gateway_url,
    gatewayToken: openclaw.gateway_token,
    agentId: openclaw.agent_id,
    timeoutS: openclaw.consult_timeout_s,
  };
}

/**
 * One bridge's consult_assistant. The count comes from the transcript, so an agent back on the line after a
 * transfer nobody took does not start over; questions still being asked count too.
 */
export function callConsult(ctx: AppContext, call: CallRow, settings: ConsultSettings): Consult {
  let asking = 0;
  return async (question) => {
    const asked = (await ctx.store.transcript(call.id)).filter((t) => t.role === "consult_question").length;
    const max = ctx.config.consult.max_per_call;
    if (asked + asking >= max) return { ok: false, reason: "limit", detail: `${max} questions already asked` };
    const n = asked + asking + 1;
    asking++;
    const askedAt = ctx.now();
    try {
      const result = await consultAssistant(settings, call, question);
      record(ctx, call, { n, question, result, askedAt, answeredAt: ctx.now() });
      return result;
    } finally {
      asking--;
    }
  };
}

interface Asked {
  n: number;
  question: string;
  result: ConsultResult;
  askedAt: number;
  answeredAt: number;
}

/** The question and the answer as two transcript rows, the answer's committed with its event. */
function record(ctx: AppContext, call: CallRow, a: Asked): void {
  const answer = a.result.ok ? a.result.answer : null;
  const row = (role: TurnRow["role"], text: string, at: number): TurnRow => ({
    call_id: call.id,
    role,
    item_id: `consult-${a.n}-${role === "consult_question" ? "question" : "answer"}`,
    text,
    started_at: at,
    interrupted: 0,
  });
  ctx.store.upsertTurn(row("consult_question", a.question, a.askedAt));
  const data = {
    question: a.question,
    answer,
    error: a.result.ok ? null : a.result.reason,
    asked_at: iso(a.askedAt),
    answered_at: iso(a.answeredAt),
  };
  const text = answer ?? NO_ANSWER[a.result.ok ? "error" : a.result.reason] ?? NO_ANSWER.error!;
  ctx.store.upsertTurn(
    row("consult_answer", text, a.answeredAt),
    eventRows(ctx, call, "call.consulted", data, a.answeredAt),
  );
  ctx.signals.eventsQueued();
}
