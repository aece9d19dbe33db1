// Every input surface fuzzed with fast-check against one real server (test/fuzz/surfaces.ts): the API,
// Twilio's webhooks (signed and not), the media socket, the model's events and the config loader.
// `bun run fuzz` runs the same properties with 10 000 cases each.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type FuzzEnv, percentile, SURFACES, startFuzzEnv } from "./surfaces.ts";

const RUNS = 200;

let env: FuzzEnv;
beforeAll(async () => {
  env = await startFuzzEnv();
});
afterAll(() => env.stop());

describe("fuzz", () => {
  for (const surface of SURFACES) {
    test(`${surface.name}: ${RUNS} random cases hold the property and /health stays up`, async () => {
      const tally = await surface.run(env, RUNS);
      expect(tally.counterexample).toBeNull();
      expect(tally.failures).toBe(0);
      expect(tally.cases).toBe(RUNS);
      expect(tally.healthFailures).toBe(0);
      expect(percentile(tally.healthMs, 99)).toBeLessThan(250);
    }, 15_000);
  }
});
