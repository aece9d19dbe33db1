// The numbers this server calls from and answers on, and what each one's calls default to: its voice,
// language, prompt and how the agent introduces itself, from twilio.numbers, else the server-wide settings.
import type { Config } from "./schema.ts";

export interface LineDefaults {
  voice: string;
  /** BCP 47; null keeps the prompt's language. */
  language: string | null;
  /** The number's own prompt; null: the server's (agent.default_prompt or agent.inbound_prompt). */
  prompt: string | null;
  caller_identity: string | null;
}

/** The numbers a call may be placed from: phone_number, phone_numbers and each number with settings of its own. */
export function ownNumbers(config: Config): string[] {
  const { phone_number, phone_numbers, numbers } = config.twilio;
  const all = [...(phone_number ? [phone_number] : []), ...(phone_numbers ?? []), ...Object.keys(numbers ?? {})];
  return [...new Set(all)];
}

/** The defaults for calls on `number` (ours: the From of an outbound call, the To of an inbound one). */
export function lineDefaults(config: Config, number: string | null): LineDefaults {
  const numbers = config.twilio.numbers ?? {};
  // Own keys only: an inbound To is whatever Twilio was given, and must not find the prototype's.
  const own = number !== null && Object.hasOwn(numbers, number) ? numbers[number] : undefined;
  return {
    voice: own?.voice ?? (config.agent.provider === "google" ? config.gemini.voice : config.openai.voice),
    language: own?.language ?? config.agent.language ?? null,
    prompt: own?.prompt ?? null,
    caller_identity: own?.caller_identity ?? null,
  };
}
