// `agenticai server --simulate`: the original API's curl example works on a laptop with no accounts.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/app.ts";
import { type ServerProcess, spawnServer } from "../support/process.ts";

const children = new Set<ServerProcess>();
afterEach(async () => {
  for (const c of children) {
    c.proc.kill("SIGKILL");
    await c.proc.exited;
  }
  children.clear();
});

test("the original API's basic curl example places a simulated call that shows up like a real one", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "none.yaml"), "");
  const server = await spawnServer(
    ["server", "--simulate"],
    { HOST: "127.0.0.1", PORT: "0", AGENTICAI_DATA_DIR: join(dir, "data"), AGENTICAI_CONFIG: join(dir, "none.yaml") },
    children,
  );
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
  writeFileSync(join(dir, "none.yaml"), "");
  const server = await spawnServer(
    ["server", "--simulate"],
    { HOST: "127.0.0.1", PORT: "0", AGENTICAI_DATA_DIR: join(dir, "data"), AGENTICAI_CONFIG: join(dir, "none.yaml") },
    children,
  );
  const created = (await (
    await fetch(`${server.url}/api/call`, {
      method: "POST",
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
  expect(await server.proc.exited).toBe(0);
  expect(server.logs.find((l) => l.msg === "shutting down")).toMatchObject({ signal: "SIGTERM", active_bridges: 1 });
}, 20_000);
