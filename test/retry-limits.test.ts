// What bounds retries, through the real server and the simulated carrier: every attempt draws from
// limits.calls_per_minute (a retry with none left waits, then is dialled), retry.delay_s has a floor
// (calls.retry_min_delay_s), and calls.max_waiting caps the calls waiting for a retry, on SQLite and on a
// real PostgreSQL that two instances share; /health reports them as waiting_calls.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp, type TestAppOptions } from "./support/app.ts";
import { type Postgres, startPostgres } from "./support/postgres.ts";
import { until } from "./support/until.ts";

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
});

async function start(opts: TestAppOptions = {}): Promise<TestApp> {
  const app = await startTestApp(opts);
  apps.push(app);
  return app;
}

/** Every call the carrier was asked to create: one per attempt. */
const creates = (app: TestApp) =>
  app.twilio.requests.filter((r) => r.method === "POST" && r.path.endsWith("/Calls.json"));

const post = (app: TestApp, body: Record<string, unknown>) =>
  app.api("/api/call", { body: { to: "+15551230001", webhook_url: app.url, ...body } });

/** The call's current CallSid once its attempt `n` has been dialled. */
async function dialled(app: TestApp, id: string, n: number): Promise<string> {
  return until(
    async () => {
      const call = await app.ctx.store.getCall(id);
      return call && call.attempt === n && call.call_sid ? call.call_sid : null;
    },
    `attempt ${n} to be dialled`,
    10_000,
  );
}

describe("limits.calls_per_minute counts attempts", () => {
  test("a retry draws from the client's budget; with none left it waits, and is dialled once there is", async () => {
    // 4 a minute: a call's worth comes back every 15 s.
    const app = await start({ config: { limits: { calls_per_minute: 4 }, calls: { retry_min_delay_s: 0 } } });
    const first = await app.call({ retry: { max_attempts: 3, delay_s: 0, on: ["busy"] } });
    await app.twilio.sendStatus(first.sid, "busy");
    const second = await dialled(app, first.id, 2);
    expect((await post(app, {})).status).toBe(200);
    expect((await post(app, {})).status).toBe(200);
    // Three requests, but four attempts: the budget is spent.
    const refused = await post(app, {});
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatch(/^Rate limit exceeded: retry in \d+ s$/);
    expect(creates(app)).toHaveLength(4);

    await app.twilio.sendStatus(second, "busy");
    await until(
      () => app.logs.find((l) => l.msg === "the call's next attempt waits for its client's calls_per_minute"),
      "the third attempt to wait for the budget",
    );
    await Bun.sleep(1_500);
    expect(creates(app)).toHaveLength(4);
    const waiting = (await app.api(`/api/calls/${first.id}`)).body;
    expect(waiting).toMatchObject({ active: true, status: "queued" });
    expect(Date.parse(waiting.next_attempt_at)).toBeGreaterThan(Date.now() + 3_000);

    await until(() => creates(app).length === 5, "the third attempt, once the budget allows it", 25_000);
    await dialled(app, first.id, 3);
  }, 40_000);
});

describe("calls.retry_min_delay_s", () => {
  test("a retry.delay_s under the floor is a 400 naming it, and nothing is dialled", async () => {
    const app = await start();
    const res = await post(app, { retry: { max_attempts: 5, delay_s: 0 } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "'retry.delay_s' must be at least 30 (calls.retry_min_delay_s)",
    });
    expect((await post(app, { retry: { max_attempts: 5, delay_s: 29.5 } })).status).toBe(400);
    expect(creates(app)).toHaveLength(0);
    expect((await post(app, { retry: { max_attempts: 2, delay_s: 30 } })).status).toBe(200);
  });

  test("a retry without delay_s waits the default, or the floor when that is longer", async () => {
    const app = await start({ config: { calls: { retry_min_delay_s: 900 } } });
    const { id } = await app.call({ retry: { max_attempts: 2 } });
    expect((await app.api(`/api/calls/${id}`)).body.options.retry).toMatchObject({ max_attempts: 2, delay_s: 900 });
  });
});

describe("calls.max_waiting", () => {
  test("caps waiting calls: past it a request with retries is a 429, an ending attempt is not retried", async () => {
    const app = await start({ config: { calls: { max_waiting: 2 } } });
    const retried = { retry: { max_attempts: 2, delay_s: 3_600 } };
    const [a, b, c] = [await app.call(retried), await app.call(retried), await app.call(retried)];
    for (const call of [a, b]) await app.twilio.sendStatus(call.sid, "busy");
    await until(async () => (await app.api("/health")).body.waiting_calls === 2, "two calls waiting");
    expect((await app.api("/health")).body).toMatchObject({ active_calls: 1, waiting_calls: 2 });

    // Admitted while there was room; its attempt ends once there is none: it ends as that attempt did.
    await app.twilio.sendStatus(c.sid, "busy");
    const ended = (await app.api(`/api/calls/${c.id}`)).body;
    expect(ended).toMatchObject({ active: false, status: "busy", end_reason: "busy", next_attempt_at: null });
    expect(ended.error).toBe("not tried again: 2 calls were waiting for a retry already (calls.max_waiting)");

    const dialledBefore = creates(app).length;
    const refused = await post(app, retried);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      success: false,
      error: "Too many calls waiting for a retry: the limit is 2 (calls.max_waiting)",
    });
    expect(creates(app)).toHaveLength(dialledBefore);
    // A call that cannot wait is not held up by those that do.
    expect((await post(app, {})).status).toBe(200);
    expect((await app.api("/health")).body).toMatchObject({ active_calls: 1, waiting_calls: 2 });
  });
});

describe("calls.max_waiting on PostgreSQL", () => {
  let pg: Postgres | null = null;
  afterAll(async () => {
    await pg?.stop();
  });

  test("two instances on one database share the count: attempts ending at once take the last place once", async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase();
    const config = { database: { url }, calls: { max_waiting: 1 } };
    const a = await start({ config });
    const b = await start({ config });
    const retried = { retry: { max_attempts: 2, delay_s: 3_600 } };
    const [x, y] = [await a.call(retried), await b.call(retried)];
    await Promise.all([a.twilio.sendStatus(x.sid, "busy"), b.twilio.sendStatus(y.sid, "busy")]);
    const calls = [(await a.api(`/api/calls/${x.id}`)).body, (await b.api(`/api/calls/${y.id}`)).body];
    expect(calls.filter((c) => c.next_attempt_at !== null)).toHaveLength(1);
    expect(calls.filter((c) => c.error?.includes("(calls.max_waiting)"))).toHaveLength(1);
    for (const app of [a, b]) expect((await app.api("/health")).body).toMatchObject({ waiting_calls: 1 });
    const refused = await post(b, retried);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe("Too many calls waiting for a retry: the limit is 1 (calls.max_waiting)");
  }, 60_000);
});
