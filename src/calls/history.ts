// A call's status history: every status reported or set, with the verdict it got, applied or not.
import type { AppContext } from "../app.ts";
import type { EventRow, StoredStatus } from "../store/store.ts";

export interface HistoryEvent {
  /** null for an orphan: a status callback whose CallSid no call knows yet. */
  callId: string | null;
  callSid: string | null;
  status: StoredStatus;
  sequence?: number;
  source: EventRow["source"];
  /** `apply` also for a status this server set itself rather than judged. */
  verdict: EventRow["verdict"];
  at: number;
  /** The webhook's form as Twilio sent it, kept for debugging and for replaying orphans. */
  params?: unknown;
}

export function addHistory(ctx: AppContext, event: HistoryEvent): Promise<void> {
  return ctx.store.addEvent({
    call_id: event.callId,
    call_sid: event.callSid,
    status: event.status,
    sequence: event.sequence ?? null,
    source: event.source,
    verdict: event.verdict,
    at: event.at,
    params: event.params === undefined ? null : JSON.stringify(event.params),
  });
}
