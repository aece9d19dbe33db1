// Which events a change to a call produces, and for whom. Each is built here and enqueued by the
// caller inside the transaction that makes the change, so an event exists exactly when its change does.
import type { AppContext } from "../app.ts";
import { newEventId } from "../events/signing.ts";
import type { CallRow, NewOutboxRow } from "../store/store.ts";
import { iso } from "./time.ts";

export type CallEventType =
  | "call.initiated"
  | "call.ringing"
  | "call.answered"
  | "call.answered_by"
  | "call.transferred"
  | "call.retry_scheduled"
  | "call.ended"
  | "call.transcript"
  | "call.consulted"
  | "call.resumed";

/** Every event's data starts with the call's identity and where it stands. */
export function callEventData(call: CallRow): Record<string, unknown> {
  return {
    call_id: call.id,
    to: call.to_number,
    from: call.from_number,
    direction: call.direction,
    status: call.status,
  };
}

const normalUrl = (url: string) => URL.parse(url)?.href ?? url;

/** The rows for one event: the global receiver gets every event, a call's callback_url that call's. */
export function eventRows(
  ctx: AppContext,
  call: CallRow,
  type: CallEventType,
  data: Record<string, unknown>,
  at: number,
): NewOutboxRow[] {
  const event_id = newEventId();
  const body = JSON.stringify({ type, timestamp: iso(at), data: { ...callEventData(call), ...data } });
  const rows: NewOutboxRow[] = [];
  const base = { event_id, call_id: call.id, type, body };
  // Stored as the URL parser writes them, so the outbox's host names match what delivery keys receivers on.
  if (ctx.config.events.url) rows.push({ ...base, receiver: "events", url: normalUrl(ctx.config.events.url) });
  if (call.callback_url) rows.push({ ...base, receiver: "callback", url: normalUrl(call.callback_url) });
  return rows;
}

/** Queues an event; call inside the transaction that made the change it reports. */
export async function enqueueEvent(
  ctx: AppContext,
  call: CallRow,
  type: CallEventType,
  at: number,
  data: Record<string, unknown> = {},
): Promise<void> {
  const rows = eventRows(ctx, call, type, data, at);
  if (rows.length === 0) return;
  await ctx.store.enqueue(rows, at);
  ctx.signals.eventsQueued();
}

const STATUS_EVENTS: Partial<Record<CallRow["status"], CallEventType>> = {
  ringing: "call.ringing",
  "in-progress": "call.answered",
};

/** The event for a status the call has just moved to, if that status has one (the end has its own, with the report). */
export async function statusEvent(ctx: AppContext, call: CallRow, at: number): Promise<void> {
  const type = STATUS_EVENTS[call.status];
  if (type) await enqueueEvent(ctx, call, type, at);
}
