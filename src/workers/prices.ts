// What each ended call cost. As its report is made: the models' tokens (the realtime model's from the call's
// metrics, the report model's from its answers) and Twilio's price for the call, asked once; while Twilio has none
// yet (it rates a call some time after it ends), the estimate from pricing.telephony_per_min, and Twilio is asked
// again a few times over a few minutes by this worker. It works from the database (price_due_at), so a restart
// picks up where a stop left off, and claims as the other workers do, so one instance asks.
import type { AppContext } from "../app.ts";
import { callOptions } from "../calls/options.ts";
import type { ModelPrice } from "../config/schema.ts";
import {
  type CallCost,
  type ChatUsage,
  callCost,
  chatCost,
  modelPrice,
  type RealtimeUsage,
  realtimeCost,
  telephonyEstimate,
  twilioCharge,
} from "../cost/pricing.ts";
import type { CallRow } from "../store/store.ts";
import { type Worker, workerLoop } from "./loop.ts";

/** Seconds from each ask that found no price to the next; past the last, the estimate stays (about 4 minutes). */
const PRICE_RETRY_S = [5, 15, 30, 60, 120];
const POLL_MS = 1_000;
const BATCH = 8;
/** Longer than one ask can take (twilio.request_timeout_ms is at most 60 s): a worker that died leaves it due then. */
const PRICE_LEASE_MS = 90_000;

/** What a model's tokens cost; a model priced nowhere counts 0, and the log says so. */
function priced(ctx: AppContext, model: string, cost: (price: ModelPrice) => number): number {
  const price = modelPrice(ctx.config, model);
  if (price) return cost(price);
  ctx.log.warn("no price for the model in pricing.models; its tokens count 0 in calls' cost", { model });
  return 0;
}

function modelCost(ctx: AppContext, call: CallRow, reportUsage: ChatUsage[]): number {
  const usage = call.metrics ? (JSON.parse(call.metrics) as { usage?: RealtimeUsage }).usage : undefined;
  let total = 0;
  if (usage && usage.input_tokens + usage.output_tokens > 0) {
    // The call's own model, which its provider reported the tokens of (Gemini's usageMetadata in OpenAI's terms).
    total += priced(ctx, callOptions(ctx.config, call.options).model, (p) => realtimeCost(p, usage));
  }
  for (const u of reportUsage) total += priced(ctx, ctx.config.report.model, (p) => chatCost(p, u));
  return total;
}

/** Twilio's charge for the call, asked once: null while it has none, or when it cannot be asked. */
async function askPrice(ctx: AppContext, call: CallRow): Promise<number | null> {
  if (!ctx.twilio || !call.call_sid) return null;
  try {
    const remote = await ctx.twilio.fetchCall(call.call_sid);
    return twilioCharge(remote.price, remote.priceUnit);
  } catch (error) {
    ctx.log.warn("asking Twilio for a call's price failed", { call_id: call.id, error });
    return null;
  }
}

export interface FirstCost {
  cost: CallCost;
  /** The columns that say whether, and when, Twilio is asked again. */
  price: Pick<CallRow, "price_due_at" | "price_tries">;
}

/**
 * The cost as the report is made. A call never answered is billed nothing: settled at once. Otherwise Twilio is
 * asked; without its price yet, the estimate, and another ask due shortly.
 */
export async function firstCost(ctx: AppContext, call: CallRow, reportUsage: ChatUsage[]): Promise<FirstCost> {
  const model = modelCost(ctx, call, reportUsage);
  const settled = { price_due_at: null, price_tries: 0 };
  if (call.answered_at === null) return { cost: callCost(0, model, false), price: settled };
  const charge = await askPrice(ctx, call);
  const asked = ctx.twilio !== null && call.call_sid !== null;
  if (charge !== null) return { cost: callCost(charge, model, false), price: { ...settled, price_tries: 1 } };
  const estimate = callCost(telephonyEstimate(ctx.config, true, call.duration_s), model, true);
  if (!asked) return { cost: estimate, price: settled };
  return { cost: estimate, price: { price_due_at: ctx.now() + PRICE_RETRY_S[0]! * 1000, price_tries: 1 } };
}

export function startPrices(ctx: AppContext): Worker {
  const inFlight = new Set<Promise<void>>();
  const pump = async () => {
    const now = ctx.now();
    for (const call of await ctx.store.claimPrices(now, now + PRICE_LEASE_MS, BATCH)) {
      const run = settlePrice(ctx, call).catch((error) =>
        ctx.log.error("settling a call's price failed", { call_id: call.id, error }),
      );
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    }
  };
  return workerLoop(
    POLL_MS,
    pump,
    () => Promise.allSettled(inFlight),
    (error) => ctx.log.error("looking for calls' prices failed", { error }),
  );
}

/** Asks Twilio again: its price settles the cost; none puts the next ask off, or, after the last, keeps the estimate. */
async function settlePrice(ctx: AppContext, call: CallRow): Promise<void> {
  const charge = await askPrice(ctx, call);
  const tries = call.price_tries + 1;
  const nextS = PRICE_RETRY_S[tries - 1];
  const at = ctx.now();
  const settled = await ctx.store.transaction(async () => {
    const current = await ctx.store.getCall(call.id);
    if (!current?.cost || current.price_due_at === null) return null;
    const cost = JSON.parse(current.cost) as CallCost;
    if (charge !== null) {
      const final = callCost(charge, cost.model, false);
      await ctx.store.updateCall(call.id, { cost: JSON.stringify(final), price_due_at: null, price_tries: tries }, at);
      return final;
    }
    if (nextS !== undefined) {
      await ctx.store.updateCall(call.id, { price_due_at: at + nextS * 1000, price_tries: tries }, at);
      return null;
    }
    await ctx.store.updateCall(call.id, { price_due_at: null, price_tries: tries }, at);
    ctx.log.warn("Twilio gave no price for the call; its cost stays an estimate", { call_id: call.id, tries });
    return cost;
  });
  if (settled) ctx.metrics.callCost(settled);
}
