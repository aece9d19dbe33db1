// Which events a change to a call produces, and for whom. Each is built here and enqueued by the
// caller inside the transaction that makes the change, so an event exists exactly when its change does.
import type { AppContext } from "../app.ts";
import { z } from "../config/zod.ts";
import { newEventId } from "../events/signing.ts";
import type { CallRow, NewOutboxRow } from "../store/store.ts";
import { CallReportSchema } from "./report.ts";
import { iso } from "./time.ts";
import { AttemptSchema, CallCostSchema, CallStatusSchema, EndReasonSchema, TurnRoleSchema } from "./view.ts";

const time = () => z.iso.datetime();

/**
 * What each event's `data` adds to the call's identity (callEventData): the events are built to these types, and
 * the API's description (GET /openapi.json, under `webhooks`) is generated from the same schemas.
 */
export const EVENT_DATA = {
  "call.initiated": () => ({ attempt: z.int().check(z.describe("1 for the first dial")) }),
  "call.ringing": () => ({}),
  "call.answered": () => ({}),
  "call.answered_by": () => ({ answered_by: z.string(), detection_ms: z.nullable(z.number()) }),
  "call.transferred": () => ({ transferred_to: z.string() }),
  "call.retry_scheduled": () => ({
    attempt: z.int(),
    attempt_status: z.string().check(z.describe("in Twilio's words, such as busy or no-answer")),
    next_attempt: z.int(),
    retry_at: time(),
  }),
  "call.ended": () => ({
    report: CallReportSchema,
    duration_s: z.nullable(z.number()),
    end_reason: EndReasonSchema,
    metadata: z.record(z.string(), z.unknown()),
    answered_by: z.nullable(z.string()),
    screened: z.boolean().check(z.describe("a call screener answered the call")),
    hold_s: z.number().check(z.describe("seconds on hold, all holds added up")),
    cost: z.nullable(CallCostSchema),
    transferred_to: z.nullable(z.string()),
    attempts: z.array(AttemptSchema),
  }),
  "call.transcript": () => ({ role: TurnRoleSchema, text: z.string(), at: time() }),
  "call.consulted": () => ({
    question: z.string(),
    answer: z.nullable(z.string()),
    error: z.nullable(z.enum(["timeout", "error", "limit"])),
    asked_at: time(),
    answered_at: time(),
  }),
  "call.resumed": () => ({
    resume: z.int().check(z.describe("which resume of the call this is, from 1")),
    gap_ms: z.number().check(z.describe("from the stream reported gone to the new stream taking the call")),
  }),
  "call.hold_started": () => ({}),
  "call.hold_ended": () => ({
    seconds: z.number().check(z.describe("how long this hold lasted")),
    hold_s: z.number().check(z.describe("seconds on hold so far, all holds added up")),
  }),
} as const;

export type CallEventType = keyof typeof EVENT_DATA;
export const CALL_EVENT_TYPES = Object.keys(EVENT_DATA) as CallEventType[];
export type EventData<T extends CallEventType> = z.output<z.ZodMiniObject<ReturnType<(typeof EVENT_DATA)[T]>>>;

/** The identity and standing every event's data starts with. */
const identityShape = () => ({
  call_id: z.string(),
  to: z.string(),
  from: z.nullable(z.string()),
  direction: z.enum(["outbound", "inbound"]),
  status: CallStatusSchema,
});

/** One event as a receiver gets it: `{type, timestamp, data}`. */
export const eventSchema = (type: CallEventType) =>
  z.object({
    type: z.literal(type),
    timestamp: time(),
    data: z.object({ ...identityShape(), ...EVENT_DATA[type]() }),
  });

/** Every event's data starts with the call's identity and where it stands. */
export function callEventData(call: CallRow): z.output<z.ZodMiniObject<ReturnType<typeof identityShape>>> {
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
export function eventRows<T extends CallEventType>(
  ctx: AppContext,
  call: CallRow,
  type: T,
  data: EventData<T>,
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
export async function enqueueEvent<T extends CallEventType>(
  ctx: AppContext,
  call: CallRow,
  type: T,
  at: number,
  data: EventData<T>,
): Promise<void> {
  const rows = eventRows(ctx, call, type, data, at);
  if (rows.length === 0) return;
  await ctx.store.enqueue(rows, at);
  ctx.signals.eventsQueued();
}

const STATUS_EVENTS: Partial<Record<CallRow["status"], "call.ringing" | "call.answered">> = {
  ringing: "call.ringing",
  "in-progress": "call.answered",
};

/** The event for a status the call has just moved to, if that status has one (the end has its own, with the report). */
export async function statusEvent(ctx: AppContext, call: CallRow, at: number): Promise<void> {
  const type = STATUS_EVENTS[call.status];
  if (type) await enqueueEvent(ctx, call, type, at, {});
}
