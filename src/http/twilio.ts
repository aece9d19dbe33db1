import type { AppContext } from "../app.ts";
import { handleStatusCallback, signatureBases } from "../calls/service.ts";
import { handleVoiceWebhook } from "../calls/voice.ts";
import type { z } from "../config/zod.ts";
import { type FormParams, formParams, validateSignature } from "../twilio/signature.ts";
import { TWILIO_PATHS, twilioUrl } from "../twilio/urls.ts";
import { firstValues, StatusWebhook, VoiceWebhook } from "../twilio/webhook.ts";
import { HttpError, readBody, xml } from "./respond.ts";

const MAX_WEBHOOK_BODY = 64 * 1024;

/**
 * Checks X-Twilio-Signature against the URLs Twilio may have been given (built from configured public
 * bases), never the URL this process sees behind a proxy or tunnel. Webhooks and the media upgrade share it.
 */
export function signedByTwilio(ctx: AppContext, req: Request, urls: string[], params: FormParams = {}): boolean {
  if (!ctx.config.twilio.validate_signatures) return true;
  const token = ctx.config.twilio.auth_token;
  if (!token) return false;
  const signature = req.headers.get("x-twilio-signature");
  return urls.some((url) => validateSignature(token, signature, url, params));
}

async function readWebhook<T extends z.ZodMiniType>(
  ctx: AppContext,
  req: Request,
  path: string,
  schema: T,
): Promise<z.infer<T>> {
  const params = formParams(await readBody(req, MAX_WEBHOOK_BODY));
  const flat = firstValues(params);
  const query = new URL(req.url).search;
  const urls = signatureBases(ctx, flat.CallSid).map((base) => twilioUrl(base, path) + query);
  if (!signedByTwilio(ctx, req, urls, params)) {
    ctx.log.warn("rejected a webhook with an invalid Twilio signature", { path, call_sid: flat.CallSid });
    throw new HttpError(403, "Invalid Twilio signature");
  }
  const parsed = schema.safeParse(flat);
  if (!parsed.success)
    throw new HttpError(
      400,
      `Invalid Twilio webhook: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`,
    );
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
