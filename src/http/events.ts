// The outbox over the API: what was not delivered, and a way to send it again.
import type { AppContext } from "../app.ts";
import { iso } from "../calls/time.ts";
import type { OutboxRow, OutboxStatus } from "../store/store.ts";
import { HttpError, json, wholeNumber } from "./respond.ts";

const STATUSES: readonly OutboxStatus[] = ["pending", "delivered", "failed"];
const MAX_LISTED = 500;

function eventView(row: OutboxRow) {
  return {
    id: row.id,
    event_id: row.event_id,
    type: row.type,
    call_id: row.call_id,
    receiver: row.receiver,
    url: row.url,
    status: row.status,
    attempts: row.attempts,
    last_status: row.last_status,
    last_error: row.last_error,
    queued_at: iso(row.created_at),
    next_attempt_at: row.status === "pending" ? iso(row.next_attempt_at) : null,
    delivered_at: iso(row.delivered_at),
    payload: JSON.parse(row.body) as unknown,
  };
}

/** GET /api/events[?status=pending|delivered|failed][&limit=N]: newest first. */
export async function listEvents(ctx: AppContext, req: Request): Promise<Response> {
  const params = new URL(req.url).searchParams;
  const status = params.get("status");
  if (status !== null && !STATUSES.includes(status as OutboxStatus)) {
    throw new HttpError(400, `'status' must be one of ${STATUSES.join(", ")}`);
  }
  const limit = wholeNumber(params.get("limit") ?? "100", 1, MAX_LISTED);
  if (limit === null) throw new HttpError(400, `'limit' must be a whole number from 1 to ${MAX_LISTED}`);
  const events = (await ctx.store.listOutbox(status as OutboxStatus | null, limit)).map(eventView);
  return json({ events, count: events.length });
}

/**
 * POST /api/events/{id}/retry: an undelivered event goes back in the queue, due now, with a fresh 24 h. An id
 * is a name, so one in any other spelling than plain digits ("1.0", "0x1") names no event: 404, as for calls.
 */
export async function retryEvent(ctx: AppContext, id: string): Promise<Response> {
  const n = wholeNumber(id, 1, Number.MAX_SAFE_INTEGER);
  const row = n === null ? null : await ctx.store.requeue(n, ctx.now());
  if (!row) throw new HttpError(404, "Event not found");
  if (row.status === "delivered") throw new HttpError(409, "Event already delivered");
  ctx.signals.eventsQueued();
  return json({ success: true, event: eventView(row) });
}
