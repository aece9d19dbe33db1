import type { AppContext } from "../app.ts";
import { handleAmd } from "../calls/amd.ts";
import { handleDialStatus } from "../calls/dial-status.ts";
import { handleStatusCallback } from "../calls/reports.ts";
import { webhookSignedByTwilio } from "../calls/trust.ts";
import { twimlAfterStream, twimlForVoiceWebhook } from "../calls/voice.ts";
import type { z } from "../config/zod.ts";
import { formParams } from "../twilio/signature.ts";
import { TWILIO_PATHS } from "../twilio/urls.ts";
import {
  AmdWebhook,
  DialStatusWebhook,
  firstValues,
  StatusWebhook,
  StreamEndedWebhook,
  VoiceWebhook,
} from "../twilio/webhook.ts";
import type { RejectSignature } from "./rejections.ts";
import { HttpError, readBody, xml } from "./respond.ts";

const MAX_WEBHOOK_BODY = 64 * 1024;

async function readWebhook<T extends z.ZodMiniType>(
  ctx: AppContext,
  req: Request,
  path: string,
  schema: T,
  reject: RejectSignature,
): Promise<z.infer<T>> {
  const params = formParams(await readBody(req, MAX_WEBHOOK_BODY));
  const flat = firstValues(params);
  const target = path + new URL(req.url).search;
  if (!(await webhookSignedByTwilio(ctx, req.headers.get("x-twilio-signature"), target, params)))
    throw reject(path, "rejected a webhook with an invalid Twilio signature", { call_sid: flat.CallSid });
  const parsed = schema.safeParse(flat);
  if (!parsed.success)
    throw new HttpError(
      400,
      `Invalid Twilio webhook: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data;
}

export async function postVoice(ctx: AppContext, req: Request, reject: RejectSignature): Promise<Response> {
  const params = await readWebhook(ctx, req, TWILIO_PATHS.voice, VoiceWebhook, reject);
  return xml(await twimlForVoiceWebhook(ctx, params, new URL(req.url).searchParams.get("call_id")));
}

export async function postStatus(ctx: AppContext, req: Request, reject: RejectSignature): Promise<Response> {
  const params = await readWebhook(ctx, req, TWILIO_PATHS.status, StatusWebhook, reject);
  await handleStatusCallback(ctx, params, new URL(req.url).searchParams.get("call_id"));
  return new Response(null, { status: 204 });
}

export async function postAmd(ctx: AppContext, req: Request, reject: RejectSignature): Promise<Response> {
  const params = await readWebhook(ctx, req, TWILIO_PATHS.amd, AmdWebhook, reject);
  await handleAmd(ctx, params, new URL(req.url).searchParams.get("call_id"));
  return new Response(null, { status: 204 });
}

export async function postDialStatus(ctx: AppContext, req: Request, reject: RejectSignature): Promise<Response> {
  const params = await readWebhook(ctx, req, TWILIO_PATHS.dialStatus, DialStatusWebhook, reject);
  return xml(await handleDialStatus(ctx, params, new URL(req.url).searchParams.get("call_id")));
}

/** `<Connect action>`: signed by Twilio like every webhook, and bound to its call by the token in its URL. */
export async function postStreamEnded(ctx: AppContext, req: Request, reject: RejectSignature): Promise<Response> {
  const params = await readWebhook(ctx, req, TWILIO_PATHS.streamEnded, StreamEndedWebhook, reject);
  const query = new URL(req.url).searchParams;
  return xml(await twimlAfterStream(ctx, params, query.get("call_id"), query.get("token")));
}
