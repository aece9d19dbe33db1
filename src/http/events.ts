// The outbox over the API: what was not delivered, and a way to send it again.
import type { AppContext } from "../app.ts";
import { iso } from "../calls/time.ts";
import { z } from "../config/zod.ts";
import type { OutboxRow, OutboxStatus } from "../store/store.ts";
import { HttpError, json, wholeNumber } from "./respond.ts";

export const OUTBOX_STATUSES = ["pending", "delivered", "failed"] as const satisfies readonly OutboxStatus[];
export const DEFAULT_LISTED = 100;
export const MAX_LISTED = 500;

const maybeTime = () => z.nullable(z.iso.datetime());

// The answers' shapes, each the schema its type comes from: GET /openapi.json is generated from them.
export const OutboxEventSchema = z.lazy(() =>
  z.object({
    id: z.int(),
    event_id: z.string().check(z.describe("the webhook-id: the same for every receiver and every retry")),
    type: z.string(),
    call_id: z.nullable(z.string()),
    receiver: z.enum(["events", "callback", "openclaw"]),
    url: z.string(),
    status: z.enum(OUTBOX_STATUSES),
    attempts: z.int(),
    last_status: z.nullable(z.int()),
    last_error: z.nullable(z.string()),
    queued_at: z.iso.datetime(),
    next_attempt_at: maybeTime(),
    delivered_at: maybeTime(),
    payload: z
      .unknown()
      .check(z.describe("the body delivered: an event (see webhooks), or OpenClaw's /hooks/agent body")),
  }),
);
type OutboxEvent = z.output<typeof OutboxEventSchema>;
export const EventPageSchema = z.lazy(() => z.object({ events: z.array(OutboxEventSchema), count: z.int() }));
export const RetriedSchema = z.lazy(() => z.object({ success: z.literal(true), event: OutboxEventSchema }));

function eventView(row: OutboxRow): OutboxEvent {
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
  if (status !== null && !(OUTBOX_STATUSES as readonly string[]).includes(status)) {
    throw new HttpError(400, `'status' must be one of ${OUTBOX_STATUSES.join(", ")}`);
  }
  const limit = wholeNumber(params.get("limit") ?? String(DEFAULT_LISTED), 1, MAX_LISTED);
  if (limit === null) throw new HttpError(400, `'limit' must be a whole number from 1 to ${MAX_LISTED}`);
  const events = (await ctx.store.listOutbox(status as OutboxStatus | null, limit)).map(eventView);
  const page: z.output<typeof EventPageSchema> = { events, count: events.length };
  return json(page);
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
  const retried: z.output<typeof RetriedSchema> = { success: true, event: eventView(row) };
  return json(retried);
}
