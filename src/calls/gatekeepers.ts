// What the bridge met before it reached a person, kept on the call: a call screener (`screened`) and each hold
// (`hold_s`, with call.hold_started / call.hold_ended events), counted in /metrics as it happens.
import type { AppContext } from "../app.ts";
import type { GatekeeperEvent } from "../bridge/gatekeeper.ts";
import { enqueueEvent } from "./events.ts";

export async function recordGatekeeper(ctx: AppContext, callId: string, event: GatekeeperEvent): Promise<void> {
  const at = ctx.now();
  await ctx.store.transaction(async () => {
    const call = await ctx.store.getCall(callId);
    if (!call) return;
    if (event.type === "screened") {
      await ctx.store.updateCall(callId, { screened: 1 }, at);
      return;
    }
    if (event.type === "hold_started") {
      await enqueueEvent(ctx, call, "call.hold_started", at, {});
      return;
    }
    // Tenths of a second, so the sum of many holds does not show a float's noise.
    const holdS = Math.round((call.hold_s + event.seconds) * 10) / 10;
    const row = await ctx.store.updateCall(callId, { hold_s: holdS }, at);
    await enqueueEvent(ctx, row, "call.hold_ended", at, { seconds: event.seconds, hold_s: holdS });
  });
  if (event.type === "screened") ctx.metrics.gatekeeper({ screened: true });
  if (event.type === "hold_ended") ctx.metrics.gatekeeper({ holdS: event.seconds });
}
