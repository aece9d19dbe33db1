import { Database } from "bun:sqlite";
// `agenticai server --simulate`: the original API's curl example works on a laptop with no accounts.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { twilioSignature } from "../../src/sim/carrier.ts";
import { tempDir } from "../support/app.ts";
import { type ServerProcess, spawnServer, spawnSimulated } from "../support/process.ts";

const children = new Set<ServerProcess>();
afterEach(async () => {
  for (const c of children) {
    c.proc.kill("SIGKILL");
    await c.proc.exited;
  }
  children.clear();
});

const simulate = () => spawnSimulated(children);

test("the original API's basic curl example places a simulated call that shows up like a real one", async () => {
  const server = await simulate();
  const res = await fetch(`${server.url}/api/call`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ to: "+1234567890", webhook_url: "https://your-ngrok-url.ngrok.io" }),
  });
  const body = (await res.json()) as Record<string, any>;
  expect(body).toMatchObject({ success: true, to: "+1234567890", webhook_url: "https://your-ngrok-url.ngrok.io" });

  const list = (await (await fetch(`${server.url}/api/calls`)).json()) as Record<string, any>;
  expect(list.calls.map((c: { call_id: string }) => c.call_id)).toContain(body.call_id);

  // Signed webhooks for the ngrok URL are delivered back here, the stream opens, the agent greets.
  let call: Record<string, any> = {};
  for (let i = 0; i < 500; i++) {
    call = (await (await fetch(`${server.url}/api/calls/${body.call_id}`)).json()) as Record<string, any>;
    if (call.transcript.length > 0) break;
    await Bun.sleep(20);
  }
  expect(call.status).toBe("in-progress");
  expect(call.transcript[0]).toMatchObject({
    role: "agent",
    text: "Hi, it is Ava from Acme Dental, about your visit tomorrow at ten.",
  });
  expect(server.logs.some((l) => l.msg === "rejected a webhook with an invalid Twilio signature")).toBe(false);

  const end = (await (await fetch(`${server.url}/api/calls/${body.call_id}/end`, { method: "POST" })).json()) as Record<
    string,
    any
  >;
  expect(end).toEqual({ success: true, message: `Call ${body.call_id} ended` });
}, 20_000);

test("SIGTERM with a live call closes its bridge and exits promptly", async () => {
  const dir = tempDir();
  // A short drain: the live call hears its goodbye and is hung up within a second or two.
  writeFileSync(join(dir, "none.yaml"), "shutdown:\n  drain_s: 1\n");
  const server = await spawnServer(
    ["server", "--simulate"],
    { HOST: "127.0.0.1", PORT: "0", AGENTICAI_DATA_DIR: join(dir, "data"), AGENTICAI_CONFIG: join(dir, "none.yaml") },
    children,
  );
  const created = (await (
    await fetch(`${server.url}/api/call`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ to: "+15550100006", webhook_url: server.url }),
    })
  ).json()) as { call_id: string };
  for (let i = 0; i < 500; i++) {
    const call = (await (await fetch(`${server.url}/api/calls/${created.call_id}`)).json()) as {
      transcript: unknown[];
    };
    if (call.transcript.length) break;
    await Bun.sleep(20);
  }
  server.proc.kill("SIGTERM");
  // While it drains: healthy no more, and no new calls.
  await Bun.sleep(100);
  expect((await fetch(`${server.url}/health`)).status).toBe(503);
  const refused = await fetch(`${server.url}/api/call`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ to: "+15550100001", webhook_url: server.url }),
  });
  expect(refused.status).toBe(503);
  expect(await server.proc.exited).toBe(0);
  expect(server.logs.find((l) => l.msg === "shutting down")).toMatchObject({ signal: "SIGTERM", active_bridges: 1 });
  const db = new Database(join(dir, "data", "agenticai.db"), { readonly: true });
  expect(db.query("SELECT status, end_reason, ended_at IS NOT NULL AS ended FROM calls").get()).toEqual({
    status: "completed",
    end_reason: "shutdown",
    ended: 1,
  });
  db.close();
}, 20_000);

test("a simulation listens on loopback even when the config file names another host; HOST decides", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "public.yaml"), "server:\n  host: 0.0.0.0\n");
  const env = { PORT: "0", AGENTICAI_DATA_DIR: join(dir, "data"), AGENTICAI_CONFIG: join(dir, "public.yaml") };
  const network = (s: ServerProcess) => s.logs.some((l) => l.msg.startsWith("the API answers only loopback clients"));

  const local = await spawnServer(["server", "--simulate"], { ...env, HOST: "" }, children);
  expect(new URL(local.url).hostname).toBe("127.0.0.1");
  await untilLogged(local, "AGENTICAI_API_TOKEN is not set");
  expect(network(local)).toBe(false);

  const exposed = await spawnServer(["server", "--simulate"], { ...env, HOST: "0.0.0.0" }, children);
  expect(new URL(exposed.url).hostname).toBe("0.0.0.0");
  await untilLogged(exposed, "the API answers only loopback clients");
  expect(network(exposed)).toBe(true);
}, 20_000);

test("a status callback signed with the token the simulator once published cannot end a live call", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "none.yaml"), "");
  const server = await spawnServer(
    ["server", "--simulate"],
    { HOST: "", PORT: "0", AGENTICAI_DATA_DIR: join(dir, "data"), AGENTICAI_CONFIG: join(dir, "none.yaml") },
    children,
  );
  const { call_id } = (await (
    await fetch(`${server.url}/api/call`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ to: "+15550100006", webhook_url: server.url }),
    })
  ).json()) as { call_id: string };
  let call: Record<string, any> = {};
  for (let i = 0; i < 500 && call.status !== "in-progress"; i++) {
    call = (await (await fetch(`${server.url}/api/calls/${call_id}`)).json()) as Record<string, any>;
    await Bun.sleep(20);
  }
  expect(call.status).toBe("in-progress");

  const url = `${server.url}/twilio/status`;
  const params = { CallSid: call.call_sid, CallStatus: "completed", CallDuration: "1", SequenceNumber: "99" };
  const forged = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": twilioSignature("f4ke70ken0f4ke70ken0f4ke70ken012", url, params),
    },
    body: new URLSearchParams(params),
  });
  expect(forged.status).toBe(403);
  const after = (await (await fetch(`${server.url}/api/calls/${call_id}`)).json()) as Record<string, any>;
  expect(after).toMatchObject({ status: "in-progress", active: true });
}, 20_000);

/** Waits for a start-up line, then a little longer for the lines logged in the same breath to be read. */
async function untilLogged(server: ServerProcess, prefix: string): Promise<void> {
  for (let i = 0; i < 200 && !server.logs.some((l) => l.msg.startsWith(prefix)); i++) await Bun.sleep(10);
  await Bun.sleep(100);
}

test("under --simulate each callee gets the model's side scripted for it: a screener is answered, then the person", async () => {
  const server = await simulate();
  const res = await fetch(`${server.url}/api/call`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ to: "+15550100013", caller_identity: "Ava, calling for Acme Dental" }),
  });
  const { call_id } = (await res.json()) as { call_id: string };
  let call: Record<string, any> = {};
  for (let i = 0; i < 600 && !call.screened; i++) {
    call = (await (await fetch(`${server.url}/api/calls/${call_id}`)).json()) as Record<string, any>;
    await Bun.sleep(50);
  }
  expect(call.screened).toBe(true);
  await fetch(`${server.url}/api/calls/${call_id}/end`, { method: "POST" });
}, 40_000);
