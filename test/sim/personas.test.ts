// Each simulated callee gives the status sequence Twilio would report, through the real server.
import { afterEach, describe, expect, test } from "bun:test";
import { type AppContext, createApp } from "../../src/app.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { startServer } from "../../src/http/server.ts";
import { createLogger } from "../../src/log.ts";
import { type Simulators, simulatedConfig, startSimulators } from "../../src/sim/simulators.ts";
import { tempDir } from "../support/app.ts";

let sims: Simulators;
let ctx: AppContext;
let stopServer: () => Promise<void>;
let url: string;
afterEach(async () => {
  for (const b of ctx.bridges.values()) b.close("test_over");
  await stopServer();
  await sims.stop();
  ctx.store.close();
});

async function start() {
  sims = await startSimulators({ speed: 8 });
  ctx = createApp(
    simulatedConfig(ConfigSchema.parse({ server: { host: "127.0.0.1", port: 0, data_dir: tempDir() } }), sims),
    createLogger(() => {}),
  );
  const server = startServer(ctx);
  stopServer = () => server.stop(true);
  url = server.url.href.replace(/\/$/, "");
}

async function place(to: string): Promise<string> {
  const res = await fetch(`${url}/api/call`, { method: "POST", body: JSON.stringify({ to, webhook_url: url }) });
  return ((await res.json()) as { call_id: string }).call_id;
}

const detail = async (id: string) => (await (await fetch(`${url}/api/calls/${id}`)).json()) as Record<string, any>;
const statuses = (call: Record<string, any>) => call.status_history.map((h: { status: string }) => h.status);

async function untilEnded(id: string, timeoutMs = 10_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const call = await detail(id);
    if (!call.active) return call;
    if (Date.now() > deadline) throw new Error(`call still ${call.status}`);
    await Bun.sleep(20);
  }
}

describe("callee personas", () => {
  test("busy: initiated, ringing, busy", async () => {
    await start();
    const call = await untilEnded(await place("+15550100002"));
    expect(statuses(call)).toEqual(["queued", "initiated", "ringing", "busy"]);
    expect(call.end_reason).toBe("busy");
  });

  test("no answer: initiated, ringing, no-answer", async () => {
    await start();
    const call = await untilEnded(await place("+15550100003"));
    expect(statuses(call)).toEqual(["queued", "initiated", "ringing", "no-answer"]);
    expect(call.end_reason).toBe("no_answer");
  });

  test("answers then hangs up: in-progress, then completed with a duration", async () => {
    await start();
    const call = await untilEnded(await place("+15550100004"));
    expect(statuses(call)).toEqual(["queued", "initiated", "ringing", "in-progress", "completed"]);
    expect(call.end_reason).toBe("completed");
    expect(call.duration_s).not.toBeNull();
  });

  test("interrupter: speaks over the agent, every turn a barge-in", async () => {
    await start();
    const call = await untilEnded(await place("+15550100005"), 15_000);
    expect(call.end_reason).toBe("agent_hangup");
    expect(call.metrics.barge_ins).toBeGreaterThanOrEqual(2);
  });

  test("voicemail: the greeting talks over the agent's opening", async () => {
    await start();
    const id = await place("+15550100007");
    for (let i = 0; i < 400; i++) {
      const call = await detail(id);
      if (call.transcript.some((t: { interrupted: boolean }) => t.interrupted)) break;
      await Bun.sleep(10);
    }
    const call = await detail(id);
    expect(call.transcript[0]).toMatchObject({ role: "agent", interrupted: true });
    await fetch(`${url}/api/calls/${id}/end`, { method: "POST" });
    expect((await untilEnded(id)).end_reason).toBe("ended_by_api");
  });

  test("silent: the call stays up with the agent alone until it is ended", async () => {
    await start();
    const id = await place("+15550100006");
    for (let i = 0; i < 300 && (await detail(id)).transcript.length === 0; i++) await Bun.sleep(10);
    const call = await detail(id);
    expect(call.active).toBe(true);
    expect(call.transcript.map((t: { role: string }) => t.role)).toEqual(["agent"]);
    await fetch(`${url}/api/calls/${id}/end`, { method: "POST" });
    const ended = await untilEnded(id);
    expect(statuses(ended)).toEqual(["queued", "initiated", "ringing", "in-progress", "completed"]);
  });
});
