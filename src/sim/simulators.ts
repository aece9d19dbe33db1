// Both simulators together, and the configuration that points a server at them.
import type { Config } from "../config/schema.ts";
import { type Carrier, startCarrier } from "./carrier.ts";
import { loadScript, type Script } from "./script.ts";
import { type RealtimeSim, startRealtimeSim } from "./voice-model.ts";

export interface Simulators {
  carrier: Carrier;
  model: RealtimeSim;
  script: Script;
  stop(): Promise<void>;
}

export async function startSimulators(opts: { speed?: number; record?: boolean } = {}): Promise<Simulators> {
  const script = await loadScript();
  // A quarter second of "thinking" before each reply, so latencies look like a hosted model's.
  const model = startRealtimeSim({
    callerTranscripts: script.caller.map((s) => s.line.text),
    agentReplies: script.agent,
    responseDelayMs: 250,
    speed: opts.speed,
  });
  const carrier = await startCarrier({ autoCalls: { script, speed: opts.speed, record: opts.record } });
  return {
    carrier,
    model,
    script,
    async stop() {
      await carrier.stop();
      model.stop();
    },
  };
}

/** The same server configuration, with Twilio and OpenAI replaced by the simulators on loopback. */
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
  };
}
