// A receiver cannot exhaust the server's memory with its answer: the server runs as a real child process and
// delivers to receivers that answer each event with a 200 MB body, several at once, while its RSS is read from
// /proc. A delivery reads at most 64 KB of an answer and cuts the rest.
import { expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { type Carrier, startCarrier } from "../../src/sim/carrier.ts";
import { simulatorEnv } from "../../src/sim/simulators.ts";
import { tempDir } from "../support/app.ts";
import { childApi as api, cleanedAfterEach, type ServerProcess, spawnServer } from "../support/process.ts";
import { until } from "../support/until.ts";

const { children, cleanups } = cleanedAfterEach();

const MB = 1024 * 1024;
const BODY_MB = 200;

/** VmRSS of a process, in bytes. */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

/** Answers every request with 200 and a 200 MB body, made as it is read; counts the requests. */
function bigAnswers(host: string): { server: Server<undefined>; url: string; requests: () => number } {
  const chunk = new Uint8Array(MB).fill(0x61);
  let requests = 0;
  const server = Bun.serve({
    hostname: host,
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      await req.text();
      requests++;
      let sent = 0;
      const body = new ReadableStream({
        pull(controller) {
          if (sent++ < BODY_MB) controller.enqueue(chunk);
          else controller.close();
        },
      });
      return new Response(body, { headers: { "Content-Type": "text/plain" } });
    },
  });
  return { server, url: `http://${host}:${server.port}/hooks`, requests: () => requests };
}

/** A call placed through `child` with `callback_url`, played to its end by the fake carrier: 4 events each way. */
async function endedCall(child: ServerProcess, carrier: Carrier, callback_url: string): Promise<void> {
  const res = await api(child, "/api/call", { to: "+15551230001", webhook_url: child.url, callback_url });
  if (res.status !== 200) throw new Error(`call failed: ${res.status} ${JSON.stringify(res.body)}`);
  const sid = [...carrier.calls.values()].at(-1)!.sid;
  for (const status of ["ringing", "in-progress", "completed"]) {
    const r = await carrier.sendStatus(sid, status, status === "completed" ? { CallDuration: "5" } : {});
    if (r.status !== 204) throw new Error(`status callback ${status} answered ${r.status}`);
  }
}

test("answers of 200 MB, several at once, grow the server's RSS by less than 50 MB", async () => {
  const dir = tempDir("agenticai-response-cap-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, "config.yaml");
  // The test polls the outbox often.
  writeFileSync(configPath, "limits:\n  api_requests_per_minute: 100000\n");
  const carrier = await startCarrier();
  cleanups.push(() => carrier.stop());
  const receivers = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"].map(bigAnswers);
  cleanups.push(() => Promise.all(receivers.map((r) => r.server.stop(true))));
  const child = await spawnServer(
    ["server"],
    {
      HOST: "127.0.0.1",
      PORT: "0",
      AGENTICAI_DATA_DIR: join(dir, "data"),
      AGENTICAI_CONFIG: configPath,
      AGENTICAI_EVENTS_URL: receivers[0]!.url,
      AGENTICAI_EVENTS_ALLOW_PRIVATE_NETWORKS: "true",
      ...simulatorEnv({ carrier }),
    },
    children,
  );
  const pid = child.proc.pid;

  // Warm up with one call, so the baseline has the code paths of a delivery loaded.
  await endedCall(child, carrier, receivers[1]!.url);
  const delivered = async () =>
    (await api(child, "/api/events?limit=500")).body.events.filter((e: any) => e.status === "delivered").length;
  await until(async () => (await delivered()) === 8, "the warm-up call's events delivered", 20_000);
  await Bun.sleep(500);
  const baseline = rss(pid);

  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss(pid));
  }, 20);
  try {
    // Six calls, each with events to events.url and to its own callback: up to a dozen big answers at once.
    for (let i = 0; i < 6; i++) await endedCall(child, carrier, receivers[1 + (i % 3)]!.url);
    await until(async () => (await delivered()) === 8 + 6 * 8, "every event delivered", 40_000);
  } finally {
    clearInterval(sampler);
  }
  expect(receivers.reduce((n, r) => n + r.requests(), 0)).toBe(8 + 6 * 8);
  expect(peak - baseline).toBeLessThan(50 * MB);
}, 60_000);
