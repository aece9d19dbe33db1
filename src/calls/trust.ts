// Whether a request came from Twilio. Twilio signs the URL it was given, built from a configured public
// base, never the URL this process sees behind a proxy or tunnel; so the candidates come from our records.
import type { AppContext } from "../app.ts";
import { type FormParams, validateSignature } from "../twilio/signature.ts";
import { mediaStreamUrl, trimSlash, twilioUrl } from "../twilio/urls.ts";
import { firstValues } from "../twilio/webhook.ts";

/**
 * Base URLs a webhook for this CallSid may have been signed against: the call's own, then the server's.
 * A callback can race ahead of the create reply that names its CallSid; it was signed against one of
 * the active calls' bases, so those are tried rather than refusing it (Twilio would not send it again).
 */
async function webhookBases(ctx: AppContext, callSid: string | undefined): Promise<string[]> {
  const bases = new Set<string>();
  const call = callSid ? await ctx.store.getCallBySid(callSid) : null;
  if (call) bases.add(call.webhook_url);
  else for (const base of await ctx.store.activeWebhookBases()) bases.add(base);
  if (ctx.config.server.public_url) bases.add(trimSlash(ctx.config.server.public_url));
  return [...bases];
}

/** The wss:// URLs of these public bases. openai-agents-js found Twilio sometimes signs the URL with a trailing slash. */
const streamUrls = (bases: string[]) => bases.flatMap((base) => [mediaStreamUrl(base), `${mediaStreamUrl(base)}/`]);

/** Checked by the callers before they read any base: with validation off, nothing need be read. */
const validationOff = (ctx: AppContext) => !ctx.config.twilio.validate_signatures;

function signedForAny(ctx: AppContext, signature: string | null, urls: string[], params: FormParams = {}): boolean {
  const token = ctx.config.twilio.auth_token;
  if (!token) return false;
  return urls.some((url) => validateSignature(token, signature, url, params));
}

/** `target` is the webhook's path and query string as received; `signature` its X-Twilio-Signature. */
export async function webhookSignedByTwilio(
  ctx: AppContext,
  signature: string | null,
  target: string,
  params: FormParams,
): Promise<boolean> {
  if (validationOff(ctx)) return true;
  const urls = (await webhookBases(ctx, firstValues(params).CallSid)).map((base) => twilioUrl(base, target));
  return signedForAny(ctx, signature, urls, params);
}

/**
 * The upgrade names no call (its `start` does), so it may have been signed against any live public base. The
 * server's own is tried first: nearly every call is signed against it, and the active calls' bases are a read of
 * every active call, which each call's upgrade would otherwise make (at 1 000 calls, 1 000 rows per upgrade).
 */
export async function mediaUpgradeSignedByTwilio(ctx: AppContext, signature: string | null): Promise<boolean> {
  if (validationOff(ctx)) return true;
  const own = ctx.config.server.public_url;
  if (own && signedForAny(ctx, signature, streamUrls([own]))) return true;
  const others = (await ctx.store.activeWebhookBases()).filter((base) => base !== own);
  return signedForAny(ctx, signature, streamUrls(others));
}
