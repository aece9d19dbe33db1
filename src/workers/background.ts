// src/workers/ owns background work run from the database: the worker loop, reports, retries, the sweeper,
// reconciliation, leases, retention and the outbox delivery. It may import calls/ and store/, never http/ or cli/.
//
// The server's background work: making reports of ended calls, delivering the outbox, settling calls
// that stopped hearing from Twilio, dialling calls' next attempts, deleting old recordings, uploading those
// waiting for shared storage, and the heartbeat that keeps this instance's calls its own. All of it runs from
// the database or the data dir, so what a stop interrupts is picked up by the next start.
import type { AppContext } from "../app.ts";
import { hooksSettings, openclawHeaders } from "../events/openclaw.ts";
import { pinnedRoute, type Route } from "../events/receiver-host.ts";
import { signatureHeaders } from "../events/signing.ts";
import type { DeliveryOutcome } from "../metrics/registry.ts";
import { detached } from "../runtime/detached.ts";
import type { OutboxRow, OutboxStatus } from "../store/store.ts";
import { VERSION } from "../version.ts";
import { startDelivery } from "./delivery.ts";
import { startHeartbeat } from "./leases.ts";
import { startPrices } from "./prices.ts";
import { startReporting } from "./reporting.ts";
import { startRetention } from "./retention.ts";
import { startRetries } from "./retries.ts";
import { startSweeper } from "./sweeper.ts";
import { startRecordingUploads } from "./uploads.ts";

/** The real gateway admits a run before it answers, which takes seconds and up to 15 s. */
const OPENCLAW_TIMEOUT_MS = 20_000;
/** An attempt that leaves its event pending failed and will be tried again. */
const DELIVERY_OUTCOME: Record<OutboxStatus, DeliveryOutcome> = {
  delivered: "delivered",
  pending: "retry",
  failed: "failed",
};

export interface Background {
  stop(): Promise<void>;
}

export function startBackground(ctx: AppContext): Background {
  const delivery = startDelivery({
    store: ctx.store,
    log: ctx.log,
    headers: (row, now) => deliveryHeaders(ctx, row, now),
    timeoutMs: (row) => (row.receiver === "openclaw" ? OPENCLAW_TIMEOUT_MS : ctx.config.events.timeout_s * 1000),
    route: (row) => deliveryRoute(ctx, row),
    userAgent: `agenticai/${VERSION}`,
    now: ctx.now,
    recorded: (result) => ctx.metrics.eventAttempt(DELIVERY_OUTCOME[result.status]),
  });
  const reporting = startReporting(ctx);
  const sweeper = startSweeper(ctx);
  const retries = startRetries(ctx);
  const prices = startPrices(ctx);
  const retention = startRetention(ctx);
  const uploads = startRecordingUploads(ctx);
  const heartbeat = startHeartbeat(ctx);
  ctx.store.onWriteError({
    failed: (error, held) =>
      ctx.log.error("storing transcript turns and metrics failed; holding them and retrying", { error, held }),
    recovered: (written) => ctx.log.info("stored the held transcript turns and metrics", { written }),
  });
  // Signalled from inside the transaction that made the change: the worker must look after it commits.
  // A signal from inside a transaction wakes its worker once that transaction has committed, or the worker,
  // on another connection, would look before the COMMIT lands and find nothing until its next poll.
  const onCommit = (wake: () => void) => () => ctx.store.afterCommit(detached(wake));
  ctx.signals.eventsQueued = onCommit(delivery.wake);
  ctx.signals.callEnded = onCommit(reporting.wake);
  ctx.signals.retryScheduled = onCommit(retries.wake);
  return {
    async stop() {
      ctx.signals.eventsQueued = () => {};
      ctx.signals.callEnded = () => {};
      ctx.signals.retryScheduled = () => {};
      await retention.stop();
      await uploads.stop();
      await retries.stop();
      await prices.stop();
      await sweeper.stop();
      await reporting.stop();
      await delivery.stop();
      // Last: until the calls' ends are stored, another instance must not take them over.
      await heartbeat.stop();
    },
  };
}

/**
 * A call's callback_url came with an API request, so its address is checked again as it is connected to, and
 * the connection pinned to it; events.url and OpenClaw are the operator's own and go as configured.
 */
function deliveryRoute(ctx: AppContext, row: OutboxRow): Promise<Route | null> {
  if (row.receiver !== "callback") return Promise.resolve({ url: row.url, headers: {} });
  return pinnedRoute(row.url, ctx.lookupHost, ctx.config.events.allow_private_networks);
}

function deliveryHeaders(ctx: AppContext, row: OutboxRow, now: Date): Record<string, string> {
  const openclaw = hooksSettings(ctx.config.integrations.openclaw);
  if (row.receiver === "openclaw") return openclaw ? openclawHeaders(openclaw, row.call_id ?? "") : {};
  return signatureHeaders(ctx.eventsSecret, row.event_id, row.body, now);
}
