// POST /api/call latency with many clients at once, against the simulated carrier's REST API.
import { startCarrier } from "../src/sim/carrier.ts";
import { simulatorEnv } from "../src/sim/simulators.ts";
import { pool, startServerProcess, UNLIMITED } from "./server.ts";
import { percentile } from "./stats.ts";

/** One POST /api/call; `ms` runs until the whole answer is read (its parsing is not timed). */
export async function postCall(serverUrl: string, body: string): Promise<{ ms: number; callId: string }> {
  const t0 = performance.now();
  const res = await fetch(`${serverUrl}/api/call`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`POST /api/call answered ${res.status}: ${text}`);
  return { ms, callId: JSON.parse(text).call_id };
}

export async function runApiBench(clients = 50, requests = 2000) {
  const carrier = await startCarrier();
  const server = await startServerProcess(simulatorEnv({ carrier }), UNLIMITED);
  try {
    const body = JSON.stringify({
      to: "+15550100006",
      webhook_url: "https://bench.example.com",
      metadata: { bench: true },
    });
    await pool(Array.from({ length: 100 }), 10, async () => void (await postCall(server.url, body))); // warm-up
    const times: number[] = [];
    const t0 = performance.now();
    await pool(
      Array.from({ length: requests }),
      clients,
      async () => void times.push((await postCall(server.url, body)).ms),
    );
    const seconds = (performance.now() - t0) / 1000;
    times.sort((a, b) => a - b);
    return {
      clients,
      requests,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      max: times.at(-1)!,
      perSecond: requests / seconds,
    };
  } finally {
    await server.stop();
    await carrier.stop();
  }
}

if (import.meta.main) console.log(await runApiBench());
