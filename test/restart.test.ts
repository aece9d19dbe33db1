// Crash and restart: the server runs as a real child process on a temp data dir, is killed with
// SIGKILL, and is started again on the same data dir and port. Twilio is a fake in this process.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Carrier, type CarrierOptions, startCarrier } from "../src/sim/carrier.ts";
import { simulatorEnv } from "../src/sim/simulators.ts";
import { childApi as api, cleanedAfterEach, type ServerProcess, spawnServer } from "./support/process.ts";

const TO = "+15551230001";

const { children, cleanups } = cleanedAfterEach();

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "agenticai-restart-test-"));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function fake(opts: CarrierOptions = {}): Promise<Carrier> {
  const f = await startCarrier(opts);
  cleanups.push(() => f.stop());
  return f;
}

/** A port nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}

interface Setup {
  dataDir: string;
  configPath: string;
}

function setup(): Setup {
  const dir = tempDir();
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, "");
  return { dataDir: join(dir, "data"), configPath };
}

function twilioEnv(f: Carrier, baseUrl = f.url): Record<string, string> {
  return { ...simulatorEnv({ carrier: f }), TWILIO_API_BASE_URL: baseUrl };
}

function startServer(s: Setup, port: number, env: Record<string, string>): Promise<ServerProcess> {
  return spawnServer(
    ["server"],
    { HOST: "127.0.0.1", PORT: String(port), AGENTICAI_DATA_DIR: s.dataDir, AGENTICAI_CONFIG: s.configPath, ...env },
    children,
  );
}

async function crash(child: ServerProcess): Promise<void> {
  child.proc.kill("SIGKILL");
  await child.proc.exited;
  children.delete(child);
}

/** Places a call whose webhooks (signed by the fake against this URL) come back to `child`. */
async function placeCall(
  child: ServerProcess,
  f: Carrier,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; sid: string }> {
  const res = await api(child, "/api/call", { to: TO, webhook_url: child.url, ...extra });
  if (res.status !== 200) throw new Error(`call failed: ${res.status} ${JSON.stringify(res.body)}`);
  const id = res.body.call_id as string;
  const sid = [...f.calls.values()].at(-1)!.sid;
  return { id, sid };
}

async function drive(f: Carrier, sid: string, ...statuses: string[]): Promise<void> {
  for (const status of statuses) {
    const res = await f.sendStatus(sid, status);
    if (res.status !== 204) throw new Error(`status callback ${status} answered ${res.status}: ${await res.text()}`);
  }
}

async function getCall(child: ServerProcess, id: string): Promise<any> {
  const res = await api(child, `/api/calls/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Polls GET /api/calls/{id} until `done` holds (reconcile runs in the background after listen). */
async function waitForCall(
  child: ServerProcess,
  id: string,
  done: (call: any) => boolean,
  timeoutMs = 5_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const call = await getCall(child, id);
    if (done(call)) return call;
    if (Date.now() > deadline) throw new Error(`call ${id} did not reach the expected state: ${JSON.stringify(call)}`);
    await Bun.sleep(50);
  }
}

/** Resolves once the server logged that reconciling finished (it logs only when there were active calls). */
async function waitForReconcile(child: ServerProcess, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!child.logs.some((l) => l.msg === "reconciled calls whose instance is gone")) {
    if (Date.now() > deadline) throw new Error(`reconcile did not finish: ${JSON.stringify(child.logs)}`);
    await Bun.sleep(25);
  }
}

const historyOf = (call: any) =>
  (call.status_history as { status: string; source: string }[]).map((h) => [h.status, h.source]);
const activeIds = async (child: ServerProcess) =>
  ((await api(child, "/api/calls")).body.calls as { call_id: string }[]).map((c) => c.call_id);

const PROMPT = "Confirm Tuesday's 15:00 appointment — ask for Zoë; say «merci» at the end.\nSecond line.";
const METADATA = { customer_id: "12345", nested: { list: [1, "two", null, true], emoji: "📞" }, n: 1.5 };

describe("restart after a crash", () => {
  test("an ended call keeps its full detail and status history; metadata and prompt are exact", async () => {
    const f = await fake();
    const s = setup();
    const first = await startServer(s, 0, twilioEnv(f));
    const { id, sid } = await placeCall(first, f, { prompt: PROMPT, metadata: METADATA });
    await drive(f, sid, "initiated", "ringing", "in-progress", "completed");
    // Its report is made just after it ends; what the restart must keep is the call as it then is.
    const before = await waitForCall(first, id, (c) => c.report !== null);
    expect(before).toMatchObject({
      status: "completed",
      active: false,
      end_reason: "completed",
      prompt: PROMPT,
      metadata: METADATA,
    });
    expect(historyOf(before)).toEqual([
      ["queued", "api"],
      ["initiated", "status_callback"],
      ["ringing", "status_callback"],
      ["in-progress", "status_callback"],
      ["completed", "status_callback"],
    ]);
    // Twilio was asked once, as the report was made, for the call's price; what the restart asks comes after.
    const asked = f.requests.length;

    await crash(first);
    const second = await startServer(s, first.port, twilioEnv(f));
    expect(second.url).toBe(first.url);

    const after = await getCall(second, id);
    expect(after).toEqual(before);
    expect(await activeIds(second)).toEqual([]);
    // Nothing to reconcile: Twilio is not asked about ended calls.
    expect(f.requests.slice(asked).filter((r) => r.path.endsWith(`/Calls/${sid}.json`))).toHaveLength(0);
  });

  test("a call in progress at the crash that Twilio now reports completed is reconciled to completed", async () => {
    const f = await fake();
    const s = setup();
    const first = await startServer(s, 0, twilioEnv(f));
    const { id, sid } = await placeCall(first, f, { prompt: PROMPT, metadata: METADATA });
    await drive(f, sid, "ringing", "in-progress");
    expect((await getCall(first, id)).status).toBe("in-progress");

    await crash(first);
    f.calls.get(sid)!.status = "completed";
    const requestsBefore = f.requests.length;
    const second = await startServer(s, first.port, twilioEnv(f));

    const call = await waitForCall(second, id, (c) => !c.active);
    expect(call).toMatchObject({
      status: "completed",
      active: false,
      end_reason: "completed",
      prompt: PROMPT,
      metadata: METADATA,
    });
    expect(historyOf(call).at(-1)).toEqual(["completed", "reconcile"]);
    expect(await activeIds(second)).toEqual([]);

    const asked = f.requests.slice(requestsBefore);
    expect(asked.some((r) => r.method === "GET" && r.path.endsWith(`/Calls/${sid}.json`) && r.authorized)).toBe(true);
    // Already over at Twilio: nothing to hang up.
    expect(asked.some((r) => r.method === "POST")).toBe(false);
  });

  test("a call still ringing at Twilio stays active and keeps working after the restart", async () => {
    const f = await fake();
    const s = setup();
    const first = await startServer(s, 0, twilioEnv(f));
    const { id, sid } = await placeCall(first, f, { prompt: PROMPT, metadata: METADATA });
    await drive(f, sid, "initiated", "ringing");

    await crash(first);
    const second = await startServer(s, first.port, twilioEnv(f));
    await waitForReconcile(second);

    const call = await getCall(second, id);
    expect(call).toMatchObject({
      status: "ringing",
      active: true,
      end_reason: null,
      ended_at: null,
      prompt: PROMPT,
      metadata: METADATA,
    });
    expect(await activeIds(second)).toEqual([id]);
    expect(f.calls.get(sid)!.status).toBe("ringing");

    // The restarted server (same port, so the StatusCallback URL still matches) takes the call on.
    await drive(f, sid, "in-progress", "completed");
    const ended = await getCall(second, id);
    expect(ended).toMatchObject({ status: "completed", active: false, end_reason: "completed" });
    expect(historyOf(ended).map(([status]) => status)).toEqual([
      "queued",
      "initiated",
      "ringing",
      "in-progress",
      "completed",
    ]);
  });

  test("a call still in progress at Twilio is hung up and ends with server_restart", async () => {
    const f = await fake();
    const s = setup();
    const first = await startServer(s, 0, twilioEnv(f));
    const { id, sid } = await placeCall(first, f);
    await drive(f, sid, "ringing", "in-progress");

    await crash(first);
    const requestsBefore = f.requests.length;
    const second = await startServer(s, first.port, twilioEnv(f));

    const call = await waitForCall(second, id, (c) => !c.active);
    expect(call.end_reason).toBe("server_restart");
    await waitForReconcile(second);
    const hangups = f.requests
      .slice(requestsBefore)
      .filter((r) => r.method === "POST" && r.path.endsWith(`/Calls/${sid}.json`));
    expect(hangups.map((r) => r.form.get("Status"))).toEqual(["completed"]);
    expect(f.calls.get(sid)!.status).toBe("completed");
    // Twilio's completed callback then lands; the restart stays the recorded reason.
    await f.flush();
    const final = await waitForCall(second, id, (c) => c.status === "completed");
    expect(final).toMatchObject({ active: false, end_reason: "server_restart" });
    expect(final.ended_at).not.toBeNull();
    expect(final.duration_s).toEqual(expect.any(Number));
    expect(await activeIds(second)).toEqual([]);
  });

  test("the hang-up's completed callback may arrive before Twilio's reply: the restart stays the reason", async () => {
    const f = await fake({ callbackBeforeReply: true });
    const s = setup();
    const first = await startServer(s, 0, twilioEnv(f));
    const { id, sid } = await placeCall(first, f);
    await drive(f, sid, "ringing", "in-progress");

    await crash(first);
    const second = await startServer(s, first.port, twilioEnv(f));
    const call = await waitForCall(second, id, (c) => !c.active);
    expect(call).toMatchObject({ status: "completed", end_reason: "server_restart" });
    await waitForReconcile(second);
    expect((await getCall(second, id)).end_reason).toBe("server_restart");
  });

  test("when Twilio is unreachable after the restart, active calls end with server_restart", async () => {
    const f = await fake();
    const s = setup();
    const first = await startServer(s, 0, twilioEnv(f));
    const ringing = await placeCall(first, f, { prompt: PROMPT, metadata: METADATA });
    await drive(f, ringing.sid, "ringing");
    const talking = await placeCall(first, f);
    await drive(f, talking.sid, "ringing", "in-progress");
    const done = await placeCall(first, f);
    await drive(f, done.sid, "ringing", "in-progress", "completed");
    // Its report is made just after it ends; the restart must leave the call as it then is.
    const doneBefore = await waitForCall(first, done.id, (c) => c.report !== null);
    expect((await activeIds(first)).sort()).toEqual([ringing.id, talking.id].sort());

    await crash(first);
    const requestsBefore = f.requests.length;
    const second = await startServer(s, first.port, twilioEnv(f, `http://127.0.0.1:${await closedPort()}`));

    const r = await waitForCall(second, ringing.id, (c) => !c.active);
    // Never answered, and Twilio cannot say more: it failed, ended by the restart, and lasted nothing.
    expect(r).toMatchObject({
      status: "failed",
      end_reason: "server_restart",
      duration_s: null,
      prompt: PROMPT,
      metadata: METADATA,
    });
    expect(r.ended_at).not.toBeNull();
    expect(historyOf(r).at(-1)).toEqual(["failed", "reconcile"]);
    const t = await waitForCall(second, talking.id, (c) => !c.active);
    // Answered: completed by the restart, lasting from the answer until then as far as this server knows.
    expect(t).toMatchObject({ status: "completed", end_reason: "server_restart" });
    expect(t.ended_at).not.toBeNull();
    expect(t.duration_s).toBe(Math.round((Date.parse(t.ended_at) - Date.parse(t.answered_at)) / 1000));
    expect(historyOf(t).at(-1)).toEqual(["completed", "reconcile"]);
    expect(await activeIds(second)).toEqual([]);
    expect((await api(second, "/health")).body.active_calls).toBe(0);
    // The ended call is left alone, and the real fake was never asked.
    expect(await getCall(second, done.id)).toEqual(doneBefore);
    expect(f.requests.length).toBe(requestsBefore);
    expect(
      second.logs
        .filter((l) => l.msg === "call ended by restart")
        .map((l) => l.call_id)
        .sort(),
    ).toEqual([ringing.id, talking.id].sort());
  });

  test("when Twilio is not configured after the restart, active calls end with server_restart", async () => {
    const f = await fake();
    const s = setup();
    const first = await startServer(s, 0, twilioEnv(f));
    const { id, sid } = await placeCall(first, f);
    await drive(f, sid, "ringing");

    await crash(first);
    const second = await startServer(s, first.port, {});
    const call = await waitForCall(second, id, (c) => !c.active);
    expect(call).toMatchObject({ status: "failed", end_reason: "server_restart", duration_s: null });
    expect(call.ended_at).not.toBeNull();
    expect(historyOf(call).at(-1)).toEqual(["failed", "reconcile"]);
    expect(await activeIds(second)).toEqual([]);
  });

  test("a hung-up call whose completed callback never comes takes Twilio's reply: completed, with its duration", async () => {
    const f = await fake({ sendCallbacksOnUpdate: false });
    const s = setup();
    const first = await startServer(s, 0, twilioEnv(f));
    const { id, sid } = await placeCall(first, f);
    await drive(f, sid, "ringing", "in-progress");

    await crash(first);
    const second = await startServer(s, first.port, twilioEnv(f));
    await waitForReconcile(second);
    const call = await getCall(second, id);
    expect(call).toMatchObject({ status: "completed", active: false, end_reason: "server_restart" });
    expect(call.ended_at).not.toBeNull();
    const remote = (await (
      await fetch(`${f.url}/2010-04-01/Accounts/${f.accountSid}/Calls/${sid}.json`, {
        headers: { Authorization: `Basic ${btoa(`${f.accountSid}:${f.authToken}`)}` },
      })
    ).json()) as { duration: string };
    expect(call.duration_s).toBe(Number(remote.duration));
    expect(historyOf(call).at(-1)).toEqual(["completed", "reconcile"]);
    expect(second.logs.some((l) => l.msg === "call ended by restart")).toBe(false);
  });

  test("a call Twilio still reports queued stays active", async () => {
    const f = await fake();
    const s = setup();
    const first = await startServer(s, 0, twilioEnv(f));
    const { id, sid } = await placeCall(first, f);
    await crash(first);
    expect(f.calls.get(sid)!.status).toBe("queued");
    const second = await startServer(s, first.port, twilioEnv(f));
    await waitForReconcile(second);
    expect(await getCall(second, id)).toMatchObject({ status: "queued", active: true });
  });

  test("a call waiting for its next attempt is dialled by the run after a crash, under the same call id", async () => {
    const f = await fake();
    const s = setup();
    const port = await closedPort();
    // A second's wait between attempts, not the half minute a real line is given.
    const env = { ...twilioEnv(f), AGENTICAI_RETRY_MIN_DELAY_S: "0" };
    const first = await startServer(s, port, env);
    const { id, sid } = await placeCall(first, f, { retry: { max_attempts: 2, delay_s: 1 } });
    await drive(f, sid, "initiated", "ringing", "busy");
    await waitForCall(first, id, (c) => c.next_attempt_at !== null);
    await crash(first);

    const second = await startServer(s, port, env);
    await waitForCall(second, id, (c) => c.attempts.length === 2 && c.call_sid !== null);
    const retrySid = [...f.calls.values()].at(-1)!.sid;
    expect(retrySid).not.toBe(sid);
    // A late callback of the first attempt is kept in the history but does not touch the new attempt.
    await drive(f, sid, "completed");
    await drive(f, retrySid, "initiated", "ringing", "busy");
    const call = await waitForCall(second, id, (c) => !c.active);
    expect(call.attempts.map((a: { status: string }) => a.status)).toEqual(["busy", "busy"]);
    expect(call.attempts.map((a: { call_sid: string }) => a.call_sid)).toEqual([sid, retrySid]);
    expect(call).toMatchObject({ status: "busy", end_reason: "busy" });
  });

  test("a call scheduled before a crash is dialled by the run after it, when it is due", async () => {
    const f = await fake();
    const s = setup();
    const port = await closedPort();
    const first = await startServer(s, port, twilioEnv(f));
    const due = Date.now() + 4_000;
    const res = await api(first, "/api/call", {
      to: TO,
      webhook_url: first.url,
      not_before: new Date(due).toISOString(),
    });
    expect(res.body.scheduled_for).toBe(new Date(due).toISOString());
    await crash(first);
    expect(f.calls.size).toBe(0);

    const second = await startServer(s, port, twilioEnv(f));
    const call = await waitForCall(second, res.body.call_id, (c) => c.call_sid !== null, 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(due);
    expect(f.calls.size).toBe(1);
    expect([...f.calls.values()][0]!.to).toBe(TO);
    expect(call).toMatchObject({ status: "queued", scheduled_for: new Date(due).toISOString() });
    expect(historyOf(call)).toEqual([
      ["scheduled", "api"],
      ["queued", "api"],
    ]);
  });
});
