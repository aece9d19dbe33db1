// src/cluster/ owns what the instances sharing one database do together: the signals they send each other about
// a call, who is up, and handing calls over at a stop. It imports only the store and the app's types: calls/,
// workers/ and cli/ use it, never the reverse.
//
// What one instance tells the others sharing its database about a call, when only the instance holding the call's
// bridge can act: a stream that another instance took (its prepared bridge here is released at once), and a
// voicemail verdict that reached another instance than the bridge. Sent with the store's notify (PostgreSQL's
// NOTIFY; within the process on SQLite, which serves one instance), to every instance, each picking its own.
import type { AppContext } from "../app.ts";

export const CALLS_CHANNEL = "agenticai_calls";
/**
 * An instance whose heartbeat is older than this is gone: four missed heartbeats (workers/leases.ts beats every
 * 5 s), long enough for a slow database or a GC pause, short against a ring timeout.
 */
export const INSTANCE_LEASE_MS = 20_000;

export type CallSignal =
  /** `by` took the call's media stream: another instance's bridge of the call has lost it, or never will have it. */
  | { kind: "stream_taken"; call_id: string; by: string }
  /** Answering machine detection heard a machine on a call whose bridge is on instance `to`. */
  | { kind: "voicemail"; call_id: string; to: string };

export type CallSignalHandlers = {
  [K in CallSignal["kind"]]: (signal: Extract<CallSignal, { kind: K }>) => Promise<void> | void;
};

export function sendCallSignal(ctx: AppContext, signal: CallSignal): Promise<void> {
  return ctx.store.notify(CALLS_CHANNEL, JSON.stringify(signal));
}

/** A signal as sent, or null for anything else on the channel. */
function readSignal(payload: string): CallSignal | null {
  let value: Partial<CallSignal>;
  try {
    value = JSON.parse(payload) as Partial<CallSignal>;
  } catch {
    return null;
  }
  if (typeof value.call_id !== "string") return null;
  if (value.kind === "stream_taken" && typeof value.by === "string") return value as CallSignal;
  if (value.kind === "voicemail" && typeof value.to === "string") return value as CallSignal;
  return null;
}

/** Acts on the signals until the returned function is called; a handler that fails is logged. */
export function listenForCallSignals(ctx: AppContext, handlers: CallSignalHandlers): Promise<() => Promise<void>> {
  return ctx.store.listen(CALLS_CHANNEL, (payload) => {
    const signal = readSignal(payload);
    if (!signal) return;
    const handle = handlers[signal.kind] as (s: CallSignal) => Promise<void> | void;
    Promise.try(() => handle(signal)).catch((error: unknown) =>
      ctx.log.error("acting on a signal from another instance failed", { kind: signal.kind, error }),
    );
  });
}

/** The other instances alive on the database (none on SQLite). */
export async function liveOthers(ctx: AppContext): Promise<string[]> {
  const live = await ctx.store.liveInstances(ctx.now(), INSTANCE_LEASE_MS);
  return live.filter((id) => id !== ctx.instanceId);
}
