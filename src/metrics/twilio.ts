// Counts every request to Twilio's REST API by operation and outcome, around the client rather than in
// it, so the client stays about Twilio alone.
import { TwilioError, type TwilioRest } from "../twilio/rest.ts";
import type { MetricsRegistry, TwilioOp, TwilioOutcome } from "./registry.ts";

const outcomeOf = (e: unknown): TwilioOutcome => (e instanceof TwilioError ? e.kind : "unreachable");

export function countedTwilio(rest: TwilioRest, metrics: MetricsRegistry): TwilioRest {
  const counted =
    <A extends unknown[], R>(op: TwilioOp, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        const result = await fn(...args);
        metrics.twilioRequest(op, "ok");
        return result;
      } catch (e) {
        metrics.twilioRequest(op, outcomeOf(e));
        throw e;
      }
    };
  return {
    createCall: counted("create", rest.createCall),
    updateCall: counted("update", rest.updateCall),
    fetchCall: counted("fetch", rest.fetchCall),
  };
}
