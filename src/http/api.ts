import type { AppContext } from "../app.ts";
import { getCall } from "../calls/errors.ts";
import { endCall } from "../calls/hangup.ts";
import { createOutboundCall } from "../calls/outbound.ts";
import { CallRequest, firstIssue } from "../calls/request.ts";
import { callDetail, callSummary, finalReport, reportText, transcriptText } from "../calls/view.ts";
import { VERSION } from "../version.ts";
import { HttpError, json, readBody } from "./respond.ts";

export const MAX_API_BODY = 64 * 1024;

async function readJsonObject(req: Request): Promise<unknown> {
  const text = await readBody(req, MAX_API_BODY);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `Invalid JSON body: ${(e as Error).message}`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new HttpError(400, "Request body must be a JSON object");
  return body;
}

export async function postCall(ctx: AppContext, req: Request): Promise<Response> {
  const parsed = CallRequest.safeParse(await readJsonObject(req));
  if (!parsed.success) throw new HttpError(400, firstIssue(parsed.error));
  const created = await createOutboundCall(ctx, parsed.data);
  return json({ success: true, ...created });
}

export function listCalls(ctx: AppContext): Response {
  const calls = ctx.store.listActive().map(callSummary);
  return json({ calls, count: calls.length });
}

export function showCall(ctx: AppContext, id: string): Response {
  const call = getCall(ctx, id);
  return json(callDetail(call, ctx.store.events(call.id), ctx.store.transcript(call.id)));
}

export function showTranscript(ctx: AppContext, id: string): Response {
  const call = getCall(ctx, id);
  const report = reportText(finalReport(call));
  const text = transcriptText(ctx.store.transcript(call.id)) + (report ? `\n${report}` : "");
  return new Response(text, {
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}

export async function postEnd(ctx: AppContext, id: string): Promise<Response> {
  const call = await endCall(ctx, id);
  return json({ success: true, message: `Call ${call.id} ended` });
}

export function health(ctx: AppContext): Response {
  return json({
    status: "healthy",
    active_calls: ctx.store.countActive(),
    version: VERSION,
    uptime_s: Math.floor((ctx.now() - ctx.startedAt) / 1000),
  });
}
