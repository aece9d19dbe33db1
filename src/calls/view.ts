import type { CallRow, EventRow, TurnRow } from "./store.ts";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

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
  };
}

export function callDetail(c: CallRow, events: EventRow[], turns: TurnRow[]) {
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
  };
}

/** One line per turn, as a person would read it: `[12:00:03] Agent: Hello… (interrupted)`. */
export function transcriptText(turns: TurnRow[]): string {
  return (
    turns
      .map(
        (t) =>
          `[${new Date(t.started_at).toISOString().slice(11, 19)}] ${t.role === "agent" ? "Agent" : "Caller"}: ${t.text}${t.interrupted ? " (interrupted)" : ""}`,
      )
      .join("\n") + (turns.length ? "\n" : "")
  );
}
