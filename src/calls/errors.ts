// How the call service turns a request down, and the lookups that do so most often.
import type { AppContext } from "../app.ts";
import type { CallRow } from "./store.ts";

export type FailureKind =
  | "invalid"
  | "not_found"
  | "limit"
  | "twilio_refused"
  | "twilio_unreachable"
  | "not_configured";

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

export function getCall(ctx: AppContext, id: string): CallRow {
  const call = ctx.store.getCall(id);
  if (!call) throw new CallError("not_found", "Call not found");
  return call;
}
