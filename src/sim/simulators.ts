// Both simulators together, and the configuration that points a server at them.
import type { Config } from "../config/schema.ts";
import { type Carrier, startCarrier } from "./carrier.ts";
import { type GeminiSim, startGeminiSim } from "./gemini-live.ts";
import type { Persona } from "./personas.ts";
import { type Conversation, conversation, loadScript, SCENARIOS, type Scenario, type Script } from "./script.ts";
import { type RealtimeSim, startRealtimeSim } from "./voice-model.ts";

export interface SimulatorOptions {
  speed?: number;
  record?: boolean;
  /**
   * Whom the voice model expects on the line: a persona's scripted conversation (default "talks"), or
   * both sides as given. The carrier's callee is chosen by the number dialled, so dial the persona's.
   */
  scenario?: Scenario | Conversation;
  /**
   * The voice model plays the side scripted for whichever callee answers (`server --simulate`): the next model
   * session follows the persona of the call answered last, so calls placed one at a time each get theirs.
   */
  followPersonas?: boolean;
  /** Each webhook on a connection of its own, so a load balancer in front of several servers spreads them. */
  freshConnections?: boolean;
  /** The config's other numbers (twilio.phone_numbers, twilio.numbers), which the carrier takes as `From` too. */
  phoneNumbers?: string[];
}

export interface Simulators {
  carrier: Carrier;
  model: RealtimeSim;
  /** The Gemini Live model, for calls on provider google; it follows the same conversation. */
  gemini: GeminiSim;
  script: Script;
  /** Voice model sessions opened from now on follow this scenario. */
  useScenario(scenario: Scenario | Conversation): void;
  stop(): Promise<void>;
}

/** The voice model's side for a persona: its own scripted conversation where it has one, else the default. */
function scenarioOf(persona: Persona): Scenario {
  return (SCENARIOS as readonly string[]).includes(persona) ? (persona as Scenario) : "talks";
}

export async function startSimulators(opts: SimulatorOptions = {}): Promise<Simulators> {
  const script = await loadScript();
  const sides = (s: Scenario | Conversation) => (typeof s === "string" ? conversation(script, s) : s);
  // A quarter second of "thinking" before each reply, so latencies look like a hosted model's.
  const model = startRealtimeSim({ ...sides(opts.scenario ?? "talks"), responseDelayMs: 250, speed: opts.speed });
  const gemini = startGeminiSim({ ...sides(opts.scenario ?? "talks"), pacedReplies: false });
  const follow = (persona: Persona) => {
    const scenario = scenarioOf(persona);
    model.setConversation(sides(scenario));
    gemini.setConversation(sides(scenario));
  };
  const carrier = await startCarrier({
    autoCalls: { script, speed: opts.speed, record: opts.record, onAnswer: opts.followPersonas ? follow : undefined },
    freshConnections: opts.freshConnections,
    phoneNumbers: opts.phoneNumbers,
  });
  return {
    carrier,
    model,
    gemini,
    script,
    useScenario: (scenario) => {
      model.setConversation(sides(scenario));
      gemini.setConversation(sides(scenario));
    },
    async stop() {
      await carrier.stop();
      model.stop();
      gemini.stop();
    },
  };
}

/**
 * The numbers a simulation dials besides real-looking ones: the personas' (+1555…, an area code the numbering
 * plan has never assigned, so no real phone is rung by mistake), Twilio's test numbers (+1500555…, which the
 * carrier answers as Twilio does for test credentials) and the README's API examples' +1234567890 (a digit short).
 * A real server's toll-fraud guard refuses them all; a simulation allows them by name, as an operator would.
 */
export const SIMULATED_DESTINATIONS = ["+1555", "+1500", "+1234567890"];

/** The simulated Twilio number is a +1 one, whose country is the default allow-list; the simulated numbers join it. */
function simulatedDestinations(configured: readonly string[] | undefined): string[] {
  return [...(configured ?? ["+1"]), ...SIMULATED_DESTINATIONS];
}

/** The environment that points a server process at the simulators: the carrier, and the voice model if given. */
export function simulatorEnv(sims: { carrier: Carrier; model?: RealtimeSim }): Record<string, string> {
  const { carrier, model } = sims;
  return {
    AGENTICAI_ALLOWED_DESTINATIONS: simulatedDestinations(undefined).join(","),
    TWILIO_ACCOUNT_SID: carrier.accountSid,
    TWILIO_AUTH_TOKEN: carrier.authToken,
    TWILIO_PHONE_NUMBER: carrier.phoneNumber,
    TWILIO_API_BASE_URL: carrier.url,
    ...(model ? { OPENAI_API_KEY: model.apiKey, OPENAI_BASE_URL: model.httpBaseUrl } : {}),
  };
}

/** The same server configuration, with Twilio, OpenAI and Gemini replaced by the simulators on loopback. */
export function simulatedConfig(config: Config, sims: Simulators): Config {
  return {
    ...config,
    twilio: {
      ...config.twilio,
      account_sid: sims.carrier.accountSid,
      auth_token: sims.carrier.authToken,
      phone_number: sims.carrier.phoneNumber,
      api_base_url: sims.carrier.url,
      validate_signatures: true,
    },
    openai: { ...config.openai, api_key: sims.model.apiKey, base_url: sims.model.httpBaseUrl },
    gemini: { ...config.gemini, api_key: sims.gemini.apiKey, base_url: sims.gemini.baseUrl },
    calls: { ...config.calls, allowed_destinations: simulatedDestinations(config.calls.allowed_destinations) },
  };
}
