import type { AppContext } from "../app.ts";
import { CallError, type FailureKind, getCall } from "../calls/errors.ts";
import { endCall } from "../calls/hangup.ts";
import { type CreatedCall, createdCallShape, createOutboundCall } from "../calls/outbound.ts";
import { CallRequest, firstIssue } from "../calls/request.ts";
import {
  type CallDetail,
  CallSummarySchema,
  callDetail,
  callSummary,
  costOf,
  finalReport,
  reportText,
  transcriptText,
} from "../calls/view.ts";
import { z } from "../config/zod.ts";
import { decodeCursor, encodeCursor, pageLimit, pageStatus } from "./paging.ts";
import { HttpError, json, nestsDeeperThan, rateLimited, readBody } from "./respond.ts";

// The answers' shapes, each the schema its type comes from: GET /openapi.json is generated from them.
export const PlacedCallSchema = z.lazy(() => z.object({ success: z.literal(true), ...createdCallShape() }));
export const CallPageSchema = z.lazy(() =>
  z.object({
    calls: z.array(CallSummarySchema),
    count: z.int().check(z.describe("the number of calls on this page")),
    next_cursor: z
      .nullable(z.string())
      .check(z.describe("pass it back as ?cursor= for the next page; null on the last")),
  }),
);
export const EndedSchema = z.lazy(() => z.object({ success: z.literal(true), message: z.string() }));
export const HealthSchema = z.lazy(() =>
  z.object({
    status: z.enum(["healthy", "draining", "database_unreachable"]),
    active_calls: z.nullable(z.int()),
    waiting_calls: z.nullable(z.int()),
    version: z.string(),
    uptime_s: z.int(),
    instance_id: z.string(),
    database: z.enum(["ok", "unreachable"]),
  }),
);

export const MAX_API_BODY = 64 * 1024;
export const MAX_JSON_DEPTH = 32;

/** A JSON body of at most MAX_API_BODY bytes, nested at most `maxDepth` levels. */
export async function readJson(req: Request, maxDepth = MAX_JSON_DEPTH): Promise<unknown> {
  const text = await readBody(req, MAX_API_BODY);
  if (nestsDeeperThan(text, maxDepth))
    throw new HttpError(400, `Request body nests too deeply: at most ${maxDepth} levels`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `Invalid JSON body: ${(e as Error).message}`);
  }
}

async function readJsonObject(req: Request): Promise<unknown> {
  const body = await readJson(req);
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new HttpError(400, "Request body must be a JSON object");
  return body;
}

/** One client's share of `limits.calls_per_minute`; the call keeps its address, so its retries draw from it too. */
export interface CallBudget {
  address: string;
  take(): number;
  refund(): void;
}

// Refusals that come before Twilio is asked: the request placed no call, so it costs no call budget.
const NOTHING_DIALED: ReadonlySet<FailureKind> = new Set(["invalid", "limit", "not_configured", "draining"]);

/**
 * Validates a request and places its call: POST /api/call and the MCP tool place_call both come here. The call
 * budget is charged only once a request is valid, and given back if it then stops short of Twilio, so a client
 * fixing its mistakes is not locked out; taking before dialing keeps concurrent requests from overdrawing it.
 */
export async function placeCall(ctx: AppContext, body: unknown, budget: CallBudget): Promise<CreatedCall> {
  const parsed = CallRequest.safeParse(body);
  if (!parsed.success) throw new HttpError(400, firstIssue(parsed.error));
  const wait = budget.take();
  if (wait > 0) throw rateLimited(wait);
  try {
    const created = await createOutboundCall(ctx, parsed.data, budget.address);
    // A call for later dials nothing now: it draws from its client's budget when it is dialled.
    if (created.scheduled_for !== undefined) budget.refund();
    return created;
  } catch (e) {
    if (e instanceof CallError && NOTHING_DIALED.has(e.kind)) budget.refund();
    throw e;
  }
}

export async function postCall(ctx: AppContext, req: Request, budget: CallBudget): Promise<Response> {
  const placed: z.output<typeof PlacedCallSchema> = {
    success: true,
    ...(await placeCall(ctx, await readJsonObject(req), budget)),
  };
  return json(placed);
}

/** One page of the active calls, oldest first; `next_cursor` is null on the last page. */
export async function listCalls(ctx: AppContext, req: Request): Promise<Response> {
  const query = new URL(req.url).searchParams;
  const limit = pageLimit(query.get("limit"));
  const status = pageStatus(query.get("status"));
  const rows = await ctx.store.listActivePage(decodeCursor(query.get("cursor")), limit + 1, status);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const next_cursor = rows.length > limit && last ? encodeCursor(last) : null;
  const body: z.output<typeof CallPageSchema> = { calls: page.map(callSummary), count: page.length, next_cursor };
  return json(body);
}

/** One call as GET /api/calls/{id} shows it; the MCP tools read it here too. */
export async function readCallDetail(ctx: AppContext, id: string): Promise<CallDetail> {
  const call = await getCall(ctx, id);
  return callDetail(call, {
    events: await ctx.store.events(call.id),
    turns: await ctx.store.transcript(call.id),
    attempts: await ctx.store.attempts(call.id),
  });
}

export async function showCall(ctx: AppContext, id: string): Promise<Response> {
  return json(await readCallDetail(ctx, id));
}

export async function showTranscript(ctx: AppContext, id: string): Promise<Response> {
  const call = await getCall(ctx, id);
  const report = reportText(finalReport(call), costOf(call));
  const text = transcriptText(await ctx.store.transcript(call.id)) + (report ? `\n${report}` : "");
  return new Response(text, {
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}

export async function postEnd(ctx: AppContext, id: string): Promise<Response> {
  const call = await endCall(ctx, id);
  const ended: z.output<typeof EndedSchema> = { success: true, message: `Call ${call.id} ended` };
  return json(ended);
}
