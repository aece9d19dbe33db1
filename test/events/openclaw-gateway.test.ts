// The OpenClaw hook end to end: the real server posts ended calls to a fake gateway (a real HTTP
// server) that checks what the real one checks — the bearer token, the Idempotency-Key, the body —
// and, like it, answers a repeated key with the run it already started.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "../support/app.ts";
import { type ReceivedRequest, type Receiver, startReceiver } from "../support/receiver.ts";
import { until } from "../support/until.ts";

const TOKEN = "hooks-token-0123456789abcdef";
const PROMPT = "Confirm the dentist appointment for Jordan.\nBe brief.";

interface Gateway {
  rx: Receiver;
  /** runId by Idempotency-Key: one run per key, however often it is posted. */
  runs: Map<string, string>;
  /** Keys whose first post starts the run but is answered 503, as when the gateway fails after admitting it. */
  failOnce: Set<string>;
  /** What the gateway answered, by request number. */
  answers: Map<number, { status: number; body: any }>;
}

function json(status: number, body: unknown) {
  return { status, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

/** Checks the request as the gateway does; a message of what is wrong, or null. */
function problem(req: ReceivedRequest): string | null {
  const body = req.json;
  if (!body || typeof body !== "object") return "body is not JSON";
  if (typeof body.message !== "string" || body.message === "") return "message missing";
  if ("channel" in body !== "to" in body) return "channel and to go together";
  if (!/^agenticai-[0-9a-f-]{36}$/.test(req.headers["idempotency-key"] ?? "")) return "bad Idempotency-Key";
  return null;
}

function startGateway(): Gateway {
  const gw: Gateway = {
    rx: undefined as unknown as Receiver,
    runs: new Map(),
    failOnce: new Set(),
    answers: new Map(),
  };
  gw.rx = startReceiver((req, n) => {
    const answer = (status: number, body: unknown) => {
      gw.answers.set(n, { status, body });
      return json(status, body);
    };
    if (req.path.startsWith("/events")) return 200;
    if (req.method !== "POST" || req.path !== "/base/hooks/agent")
      return answer(404, { ok: false, error: "not found" });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(401, { ok: false, error: "unauthorized" });
    const bad = problem(req);
    if (bad) return answer(400, { ok: false, error: bad });
    const key = req.headers["idempotency-key"]!;
    let runId = gw.runs.get(key);
    if (!runId) {
      runId = `run_${crypto.randomUUID()}`;
      gw.runs.set(key, runId);
    }
    if (gw.failOnce.delete(key)) return answer(503, { ok: false, error: "busy" });
    return answer(200, { ok: true, runId });
  });
  return gw;
}

const hooks = (gw: Gateway, callId?: string) =>
  gw.rx.requests.filter(
    (r) => r.path === "/base/hooks/agent" && (!callId || r.headers["idempotency-key"] === `agenticai-${callId}`),
  );
const endedAt = (gw: Gateway, callId: string) =>
  gw.rx.requests.some((r) => r.path === "/events" && r.json?.type === "call.ended" && r.json.data.call_id === callId);

let gw: Gateway;
let app: TestApp;
let retried: { id: string };

async function endedCall(a: TestApp, body: Record<string, unknown> = {}, duration = "42") {
  const call = await a.call({ prompt: PROMPT, ...body });
  for (const s of ["ringing", "in-progress"]) await a.twilio.sendStatus(call.sid, s);
  await a.twilio.sendStatus(call.sid, "completed", { CallDuration: duration });
  return call;
}

beforeAll(async () => {
  gw = startGateway();
  app = await startTestApp({
    config: {
      events: { url: `${gw.rx.url}/events` },
      integrations: {
        openclaw: {
          gateway_url: `${gw.rx.url}/base/`,
          hooks_token: TOKEN,
          agent_id: "ops",
          deliver_channel: "telegram",
          deliver_to: "@owner",
        },
      },
      limits: { calls_per_minute: 1_000 },
    },
    publicUrlSelf: true,
  });
  // Its retry comes 2.5–5 s after the 503: started first, checked last.
  const call = await app.call({ prompt: PROMPT });
  gw.failOnce.add(`agenticai-${call.id}`);
  await app.twilio.sendStatus(call.sid, "ringing");
  await app.twilio.sendStatus(call.sid, "no-answer");
  retried = call;
});

afterAll(async () => {
  await app?.stop();
  await gw?.rx.stop();
});

describe("OpenClaw gateway", () => {
  test("one post per ended call, authorised, keyed by the call, with the documented body", async () => {
    const { id } = await endedCall(app, { metadata: { ref: "A-1" } });
    const [post] = await gw.rx.until(() => hooks(gw, id).length > 0 && hooks(gw, id), 5_000, "the hook post");
    expect(post!.method).toBe("POST");
    expect(post!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(post!.headers["idempotency-key"]).toBe(`agenticai-${id}`);
    expect(post!.headers["content-type"]).toBe("application/json");
    // Not a Standard Webhooks delivery: the gateway authenticates by token.
    expect(post!.headers["webhook-signature"]).toBeUndefined();
    expect(gw.answers.get(post!.n)).toEqual({ status: 200, body: { ok: true, runId: gw.runs.get(`agenticai-${id}`) } });

    const body = post!.json;
    expect(Object.keys(body).sort()).toEqual(["agentId", "channel", "deliver", "message", "name", "to", "wakeMode"]);
    expect(body).toMatchObject({
      name: "Phone call",
      agentId: "ops",
      wakeMode: "now",
      deliver: true,
      channel: "telegram",
      to: "@owner",
    });
    const to = (await app.ctx.store.getCall(id))!.to_number;
    expect(body.message).toStartWith(`A phone call has ended: call to ${to}.\nEnded: `);
    expect(body.message).toContain(`\nPurpose: ${PROMPT.split("\n")[0]}\n`);
    expect(body.message).toContain("Status: completed (end reason: completed). Duration: 42 s.");
    expect(body.message).toContain(`Full record: GET ${app.url}/api/calls/${id}`);
    expect(body.message).not.toContain(TOKEN);

    // Once, not again: the outbox row is delivered, and the token was never stored with it.
    await Bun.sleep(300);
    expect(hooks(gw, id)).toHaveLength(1);
    const rows = (await app.api("/api/events")).body.events.filter(
      (e: any) => e.call_id === id && e.receiver === "openclaw",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "delivered", attempts: 1, last_status: 200, type: "call.ended" });
    expect(rows[0].url).toBe(`${gw.rx.url}/base/hooks/agent`);
    expect(JSON.stringify(rows[0])).not.toContain(TOKEN);
  });

  test("several calls: one post each, each under its own key", async () => {
    const calls = await Promise.all([endedCall(app), endedCall(app), endedCall(app)]);
    await gw.rx.until((r) => calls.every((c) => endedAt(gw, c.id)) && r, 5_000, "three ends");
    await gw.rx.until(() => calls.every((c) => hooks(gw, c.id).length > 0), 5_000, "three posts");
    await Bun.sleep(300);
    for (const c of calls) expect(hooks(gw, c.id)).toHaveLength(1);
    expect(new Set(calls.map((c) => gw.runs.get(`agenticai-${c.id}`))).size).toBe(3);
  });

  test('"notify": false: the call still ends and is reported, but nothing is posted to the gateway', async () => {
    const { id } = await endedCall(app, { notify: false });
    expect((await app.api(`/api/calls/${id}`)).body.notify).toBe(false);
    await gw.rx.until(() => endedAt(gw, id), 5_000, "call.ended at events.url");
    // The hook row would have been queued with the event and delivered beside it.
    await Bun.sleep(500);
    expect(hooks(gw, id)).toHaveLength(0);
    const rows = (await app.api("/api/events")).body.events.filter((e: any) => e.call_id === id);
    expect(rows.some((e: any) => e.receiver === "openclaw")).toBe(false);
  });

  test("channel and to are sent only when both are configured", async () => {
    for (const openclaw of [
      { deliver_channel: "telegram" },
      { deliver_to: "@owner" },
      {},
      { deliver_channel: "slack", deliver_to: "#calls" },
    ]) {
      const other = await startTestApp({
        config: {
          integrations: { openclaw: { gateway_url: `${gw.rx.url}/base`, hooks_token: TOKEN, ...openclaw } },
        },
      });
      try {
        const { id } = await endedCall(other);
        const [post] = await gw.rx.until(() => hooks(gw, id).length > 0 && hooks(gw, id), 5_000, "the hook post");
        expect(gw.answers.get(post!.n)?.status).toBe(200);
        // agent_id defaults to "main"; without a public URL the message names the call by id.
        expect(post!.json).toMatchObject({ agentId: "main", name: "Phone call", wakeMode: "now", deliver: true });
        expect(post!.json.message).toContain(`Call id: ${id} (the full record is on the agenticai server).`);
        if ("deliver_channel" in openclaw && "deliver_to" in openclaw) {
          expect(post!.json).toMatchObject({ channel: "slack", to: "#calls" });
        } else {
          expect("channel" in post!.json).toBe(false);
          expect("to" in post!.json).toBe(false);
        }
      } finally {
        await other.stop();
      }
    }
  });

  test("a wrong token gets 401 from the gateway and is not retried", async () => {
    const other = await startTestApp({
      config: { integrations: { openclaw: { gateway_url: `${gw.rx.url}/base`, hooks_token: "wrong-token" } } },
    });
    try {
      const { id } = await endedCall(other);
      const row = await until(async () =>
        (await other.api("/api/events?status=failed")).body.events.find(
          (e: any) => e.call_id === id && e.receiver === "openclaw",
        ),
      );
      expect(row).toMatchObject({ attempts: 1, last_status: 401 });
      expect(hooks(gw, id)).toHaveLength(1);
      expect(gw.answers.get(hooks(gw, id)[0]!.n)?.status).toBe(401);
      expect(gw.runs.has(`agenticai-${id}`)).toBe(false);
    } finally {
      await other.stop();
    }
  });

  test("a gateway failing once with 503 is retried with the same Idempotency-Key and gets the same run", async () => {
    const { id } = retried;
    const posts = await gw.rx.until(() => hooks(gw, id).length >= 2 && hooks(gw, id), 9_000, "the retried post");
    const key = `agenticai-${id}`;
    expect(posts.map((p) => p.headers["idempotency-key"])).toEqual([key, key]);
    expect(posts.map((p) => p.headers.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
    expect(posts[0]!.raw).toBe(posts[1]!.raw);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(2_400);
    expect(gw.answers.get(posts[0]!.n)?.status).toBe(503);
    expect(gw.answers.get(posts[1]!.n)).toEqual({ status: 200, body: { ok: true, runId: gw.runs.get(key) } });
    // A call that never connected is told as such.
    expect(posts[0]!.json.message).toContain("Status: no-answer (end reason: no_answer).");
    const row = await until(async () =>
      (await app.api("/api/events?status=delivered")).body.events.find(
        (e: any) => e.call_id === id && e.receiver === "openclaw",
      ),
    );
    expect(row).toMatchObject({ attempts: 2, last_status: 200 });
    await Bun.sleep(200);
    expect(hooks(gw, id)).toHaveLength(2);
  });
});
