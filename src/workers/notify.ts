// Telling the owner's assistant: an ended call is posted to OpenClaw's gateway hook through the same
// outbox as the event webhooks, unless the request opted out with "notify": false.
import type { AppContext } from "../app.ts";
import type { CallReport } from "../calls/report.ts";
import { iso } from "../calls/time.ts";
import { hooksSettings, openclawRequest } from "../events/openclaw.ts";
import { newEventId } from "../events/signing.ts";
import type { CallRow } from "../store/store.ts";

/** Queues the hook call; call inside the transaction that stores the report. */
export async function notifyOpenClaw(ctx: AppContext, call: CallRow, report: CallReport, at: number): Promise<void> {
  const settings = hooksSettings(ctx.config.integrations.openclaw);
  if (!settings || call.notify === 0) return;
  const request = openclawRequest(
    settings,
    {
      call_id: call.id,
      to: call.to_number,
      from: call.from_number,
      direction: call.direction,
      prompt: call.prompt,
      ended_at: call.ended_at === null ? null : iso(call.ended_at),
      duration_s: call.duration_s,
      end_reason: call.end_reason,
      status: call.status,
      report,
      transcript: await ctx.store.transcript(call.id),
    },
    ctx.config.server.public_url,
  );
  const row = { event_id: newEventId(), call_id: call.id, type: "call.ended" };
  await ctx.store.enqueue([{ ...row, receiver: "openclaw", url: request.url, body: request.body }], at);
  ctx.signals.eventsQueued();
}
