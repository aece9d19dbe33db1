// Each simulated callee gives the status sequence Twilio would report, through the real server; the
// callers that test the agent's abilities hold their whole scripted conversation with it.
import { afterEach, describe, expect, test } from "bun:test";
import { type AppContext, createApp } from "../../src/app.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { startServer } from "../../src/http/server.ts";
import { createLogger } from "../../src/log.ts";
import { type GatewaySim, startGatewaySim } from "../../src/sim/gateway.ts";
import { numberFor, TRANSFER_NUMBER } from "../../src/sim/personas.ts";
import type { Scenario } from "../../src/sim/script.ts";
import { type Simulators, simulatedConfig, startSimulators } from "../../src/sim/simulators.ts";
import { tempDir } from "../support/app.ts";

let sims: Simulators;
let ctx: AppContext;
let stopServer: () => Promise<void>;
let url: string;
let gateway: GatewaySim | null = null;
afterEach(async () => {
  for (const b of ctx.bridges.values()) b.close("test_over");
  await stopServer();
  await sims.stop();
  await gateway?.stop();
  gateway = null;
  ctx.facts.close();
  await ctx.store.close();
});

async function start(scenario: Scenario = "talks", config: Record<string, unknown> = {}) {
  sims = await startSimulators({ speed: 8, scenario });
  const tree = { ...config, server: { host: "127.0.0.1", port: 0, data_dir: tempDir() } };
  ctx = await createApp(
    simulatedConfig(ConfigSchema.parse(tree), sims),
    createLogger(() => {}),
  );
  const server = startServer(ctx);
  stopServer = () => server.stop(true);
  url = server.url.href.replace(/\/$/, "");
}

async function place(to: string, extra: Record<string, unknown> = {}): Promise<string> {
  const body = JSON.stringify({ to, webhook_url: url, ...extra });
  const res = await fetch(`${url}/api/call`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
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

  test("voicemail: the greeting talks over the agent's opening, and AMD's verdict after the beep ends the call", async () => {
    await start();
    const call = await untilEnded(await place("+15550100007"));
    expect(call.transcript[0]).toMatchObject({ role: "agent", interrupted: true });
    expect(call).toMatchObject({ end_reason: "voicemail", answered_by: "machine_end_beep" });
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

const said = (call: Record<string, any>) =>
  call.transcript.map((t: { role: string; text: string }) => `${t.role}: ${t.text}`);

describe("callers that test the agent's abilities", () => {
  test("busy-twice: busy, busy, then answered by a person", async () => {
    await start();
    const first = await untilEnded(await place(numberFor("busy-twice")));
    const second = await untilEnded(await place(numberFor("busy-twice")));
    expect([first.end_reason, second.end_reason]).toEqual(["busy", "busy"]);
    const third = await untilEnded(await place(numberFor("busy-twice")), 15_000);
    expect(third.end_reason).toBe("agent_hangup");
  });

  test("ivr: the agent presses one, is put through, and has the usual conversation", async () => {
    await start("ivr");
    const call = await untilEnded(await place(numberFor("ivr")), 15_000);
    expect(call.end_reason).toBe("agent_hangup");
    expect(said(call)).toContain("agent: I will press one for appointments.");
    expect(said(call)).toContain("caller: You are now connected.");
    expect(said(call).at(-1)).toBe("agent: Goodbye!");
    const session = sims.model.sessions[0]!;
    expect(session.toolCalls.find((c) => c.name === "send_dtmf")?.arguments).toEqual({ digits: "1" });
    expect(JSON.parse(session.toolOutputs.find((o) => o.name === "send_dtmf")!.output)).toMatchObject({ ok: true });
  });

  test("wants-human: asked for a person, the agent transfers the call to the transfer number", async () => {
    await start("wants-human", { calls: { transfer_to: TRANSFER_NUMBER } });
    const call = await untilEnded(await place(numberFor("wants-human")));
    expect(call).toMatchObject({ end_reason: "transferred", transferred_to: TRANSFER_NUMBER });
    expect(said(call)).toContain("agent: I am connecting you to a person now.");
    expect(sims.carrier.dials).toMatchObject([{ to: TRANSFER_NUMBER, status: "completed" }]);
  });

  test("asks-owner: the agent checks with its owner, relays the answer, and the caller says goodbye", async () => {
    // An owner's assistant takes a moment: by then the holding line is under way, and the answer follows it.
    gateway = await startGatewaySim({ answer: "Tuesday at three is fine.", delayMs: 100 });
    const integrations = { openclaw: { gateway_url: gateway.url, gateway_token: gateway.token } };
    await start("asks-owner", { integrations });
    const call = await untilEnded(await place(numberFor("asks-owner"), { consult: true }), 15_000);
    expect(call.end_reason).toBe("agent_hangup");
    expect(said(call)).toContain("caller: Does Tuesday at three work for them?");
    expect(said(call)).toContain("agent: I checked: Tuesday at three is fine.");
    expect(said(call).slice(-2)).toEqual(["caller: Perfect, thanks, goodbye!", "agent: Goodbye!"]);
  });
});
