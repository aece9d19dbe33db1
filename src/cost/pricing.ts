// src/cost/ owns what a call costs: token usage priced by the models' price lists (pricing.models over the shipped
// list prices), Twilio's own price for a call read as a charge, the estimate used until it is in, and the sum. It
// imports only config: the workers that make reports and fetch prices ask it, and it knows no call or store.
import { type Config, LIST_PRICES, type ModelPrice } from "../config/schema.ts";

export interface CallCost {
  currency: "USD";
  /** What Twilio charges for the call: its own price once in, until then the estimate. */
  telephony: number;
  /** The realtime model's tokens and the report model's. */
  model: number;
  total: number;
  /** True while telephony is the estimate (pricing.telephony_per_min) rather than Twilio's price. */
  estimated: boolean;
}

/** The realtime model's usage as a call's metrics add it up from response.done. */
export interface RealtimeUsage {
  input_tokens: number;
  output_tokens: number;
  input_audio_tokens: number;
  output_audio_tokens: number;
  cached_tokens: number;
  /** The cached tokens that were audio; absent in metrics stored before it was kept (then all count as text). */
  cached_audio_tokens?: number;
}

/** A Chat Completions answer's usage (the report model's), summed over its attempts. */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
}

const PER_TOKEN = 1 / 1_000_000;

/** The model's prices: the config's entry, else the shipped list's; null when neither knows it. */
export function modelPrice(config: Config, model: string): ModelPrice | null {
  const configured = config.pricing.models;
  if (Object.hasOwn(configured, model)) return configured[model]!;
  return Object.hasOwn(LIST_PRICES, model) ? LIST_PRICES[model]! : null;
}

/** Text and audio, uncached and cached, in and out, each at its own price (audio at the text price if none is set). */
export function realtimeCost(price: ModelPrice, u: RealtimeUsage): number {
  const cachedAudio = Math.min(u.cached_audio_tokens ?? 0, u.input_audio_tokens);
  const cachedText = Math.max(0, u.cached_tokens - cachedAudio);
  const textIn = Math.max(0, u.input_tokens - u.input_audio_tokens - cachedText);
  const audioIn = Math.max(0, u.input_audio_tokens - cachedAudio);
  const textOut = Math.max(0, u.output_tokens - u.output_audio_tokens);
  return (
    PER_TOKEN *
    (textIn * price.input +
      cachedText * price.cached_input +
      audioIn * (price.audio_input ?? price.input) +
      cachedAudio * (price.cached_audio_input ?? price.cached_input) +
      textOut * price.output +
      u.output_audio_tokens * (price.audio_output ?? price.output))
  );
}

export function chatCost(price: ModelPrice, u: ChatUsage): number {
  const cached = Math.min(u.cached_tokens, u.prompt_tokens);
  return (
    PER_TOKEN *
    ((u.prompt_tokens - cached) * price.input + cached * price.cached_input + u.completion_tokens * price.output)
  );
}

/** Twilio bills each started minute of an answered call; a call never answered costs nothing. */
export function telephonyEstimate(config: Config, answered: boolean, durationS: number | null): number {
  if (!answered) return 0;
  return Math.max(1, Math.ceil((durationS ?? 0) / 60)) * config.pricing.telephony_per_min;
}

/**
 * Twilio's `price` as a charge in USD: it writes charges as negative decimal strings (`-0.01400`), and null
 * until the call is rated. A price in another currency (`price_unit`) cannot be added to USD: null too.
 */
export function twilioCharge(price: string | null | undefined, unit: string | null | undefined): number | null {
  if (price === null || price === undefined || price === "" || (unit ?? "USD").toUpperCase() !== "USD") return null;
  const amount = Number(price);
  return Number.isFinite(amount) ? Math.abs(amount) : null;
}

/** Micro-dollars: the sums of many small products, without the float noise. */
const usd = (amount: number) => Math.round(amount * 1_000_000) / 1_000_000;

export function callCost(telephony: number, model: number, estimated: boolean): CallCost {
  return { currency: "USD", telephony: usd(telephony), model: usd(model), total: usd(telephony + model), estimated };
}
