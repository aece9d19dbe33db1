// How the call service turns a request down, and the lookups that do so most often.
import type { AppContext } from "../app.ts";
import type { CallRow } from "../store/store.ts";

export type FailureKind =
  | "invalid"
  | "not_found"
  | "limit"
  | "twilio_refused"
  | "twilio_unreachable"
  | "not_configured"
  | "draining";

/** A request the service turns down; the HTTP edge maps `kind` to a status code and keeps `message` verbatim. */
export class CallError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

export function requireTwilio(ctx: AppContext) {
  if (!ctx.twilio) {
    throw new CallError("not_configured", `Twilio is not configured: set ${ctx.missingTwilio.join(", ")}`);
  }
  return ctx.twilio;
}

export const CALL_NOT_FOUND = "Call not found";

export async function getCall(ctx: AppContext, id: string): Promise<CallRow> {
  const call = await ctx.store.getCall(id);
  if (!call) throw new CallError("not_found", CALL_NOT_FOUND);
  return call;
}

export const DRAINING = "The server is shutting down and takes no new calls; retry on another instance or in a moment";

/** While the server drains for a stop, calls already up go on and no new one starts. */
export function refuseWhileDraining(ctx: AppContext): void {
  if (ctx.state.draining) throw new CallError("draining", DRAINING);
}
