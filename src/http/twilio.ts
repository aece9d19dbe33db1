import type { z } from "zod";
import type { AppContext } from "../app.ts";
import { handleStatusCallback, signatureBases } from "../calls/service.ts";
import { TWILIO_PATHS, twilioUrl } from "../twilio/urls.ts";
import { handleVoiceWebhook } from "../calls/voice.ts";
import { formParams, validateSignature, type FormParams } from "../twilio/signature.ts";
import { StatusWebhook, VoiceWebhook, firstValues } from "../twilio/webhook.ts";
import { HttpError, readBody, xml } from "./respond.ts";

const MAX_WEBHOOK_BODY = 64 * 1024;

/**
 * Checks X-Twilio-Signature against the URL Twilio was given (a configured public base + path +
 * the raw query), never the URL this process sees behind a proxy or tunnel.
 */
export function signedByTwilio(ctx: AppContext, req: Request, path: string, params: FormParams, callSid?: string): boolean {
  if (!ctx.config.twilio.validate_signatures) return true;
  const token = ctx.config.twilio.auth_token;
  if (!token) return false;
  const signature = req.headers.get("x-twilio-signature");
  const query = new URL(req.url).search;
  return signatureBases(ctx, callSid).some((base) => validateSignature(token, signature, twilioUrl(base, path) + query, params));
}

async function readWebhook<T extends z.ZodType>(ctx: AppContext, req: Request, path: string, schema: T): Promise<z.infer<T>> {
  const params = formParams(await readBody(req, MAX_WEBHOOK_BODY));
  const flat = firstValues(params);
  if (!signedByTwilio(ctx, req, path, params, flat.CallSid)) {
    ctx.log.warn("rejected a webhook with an invalid Twilio signature", { path, call_sid: flat.CallSid });
    throw new HttpError(403, "Invalid Twilio signature");
  }
  const parsed = schema.safeParse(flat);
  if (!parsed.success) throw new HttpError(400, `Invalid Twilio webhook: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export async function voiceWebhook(ctx: AppContext, req: Request): Promise<Response> {
  const params = await readWebhook(ctx, req, TWILIO_PATHS.voice, VoiceWebhook);
  return xml(await handleVoiceWebhook(ctx, params));
}

export async function statusWebhook(ctx: AppContext, req: Request): Promise<Response> {
  const params = await readWebhook(ctx, req, TWILIO_PATHS.status, StatusWebhook);
  handleStatusCallback(ctx, params);
  return new Response(null, { status: 204 });
}
