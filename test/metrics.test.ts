// GET /metrics through the real server: whole simulated calls against the simulated carrier and voice
// model, the exposition read back with an independent parser (parse-prometheus-text-format), and its guard.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import parse, { type ParsedFamily } from "parse-prometheus-text-format";
import { CONTENT_TYPE } from "../src/metrics/exposition.ts";
import { createMetricsRegistry } from "../src/metrics/registry.ts";
import { conversation, loadScript } from "../src/sim/script.ts";
import { startTestApp, type TestApp, type TestAppOptions } from "./support/app.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";
import { until } from "./support/until.ts";

const TALKS = "+15550100001";
const BUSY = "+15550100002";
const API_TOKEN = "api-token-0123456789abcdef";
const METRICS_TOKEN = "metrics-token-0123456789abcdef";

setDefaultTimeout(20_000);

let app: TestApp | null = null;
let receiver: Receiver | null = null;
afterEach(async () => {
  await app?.stop();
  await receiver?.stop();
  app = null;
  receiver = null;
});

async function start(opts: TestAppOptions = {}): Promise<TestApp> {
  const script = await loadScript();
  app = await startTestApp({
    ...opts,
    config: { limits: { api_requests_per_minute: 1_000_000 }, ...opts.config },
    publicUrlSelf: true,
    model: conversation(script, "talks"),
    fake: { autoCalls: { script, speed: 4 }, ...opts.fake },
  });
  return app;
}

type Families = Map<string, ParsedFamily>;

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const getMetrics = (a: TestApp, headers: Record<string, string> = {}) => fetch(`${a.url}/metrics`, { headers });

async function scrape(a: TestApp, headers: Record<string, string> = {}): Promise<Families> {
  const res = await getMetrics(a, headers);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe(CONTENT_TYPE);
  return new Map(parse(await res.text()).map((f) => [f.name, f]));
}

/** The value of the family's series with exactly these labels; 0 when there is no such series yet. */
function value(families: Families, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  if (!family) throw new Error(`no family ${name} in the exposition`);
  const series = family.metrics.find((m) => Bun.deepEquals(m.labels ?? {}, labels));
  return Number(series?.value ?? 0);
}

const observations = (families: Families, name: string) => Number(families.get(name)?.metrics[0]?.count);

const FAMILIES: Record<string, ParsedFamily["type"]> = {
  agenticai_calls_active: "GAUGE",
  agenticai_calls_total: "COUNTER",
  agenticai_call_duration_seconds: "HISTOGRAM",
  agenticai_turn_latency_seconds: "HISTOGRAM",
  agenticai_model_connect_seconds: "HISTOGRAM",
  agenticai_time_to_first_audio_seconds: "HISTOGRAM",
  agenticai_barge_ins_total: "COUNTER",
  agenticai_media_frames_total: "COUNTER",
  agenticai_media_frames_dropped_total: "COUNTER",
  agenticai_twilio_requests_total: "COUNTER",
  agenticai_events_pending: "GAUGE",
  agenticai_events_delivered_total: "COUNTER",
  agenticai_http_requests_total: "COUNTER",
  agenticai_build_info: "GAUGE",
  process_start_time_seconds: "GAUGE",
};

const endedEvent = (rx: Receiver, id: string) =>
  rx.requests.some((r) => r.json?.type === "call.ended" && r.json.data?.call_id === id);

describe("after simulated calls", () => {
  test("a call that talks and one that is busy are counted, timed and their frames summed", async () => {
    receiver = startReceiver();
    const rx = receiver;
    const a = await start({ config: { events: { url: `${rx.url}/events` } } });
    const talked = await a.call({ to: TALKS });
    const busy = await a.call({ to: BUSY });

    // While the call is up its frames are read from its bridge at scrape time.
    await until(async () => {
      const live = await scrape(a);
      return (
        value(live, "agenticai_calls_active") >= 1 && value(live, "agenticai_media_frames_total", { direction: "in" })
      );
    }, "a live call's frames");

    // Calls are counted as their report is made, which is when call.ended goes out.
    await rx.until(() => endedEvent(rx, talked.id) && endedEvent(rx, busy.id), 15_000, "both calls' call.ended");
    expect((await a.api("/no/such/path")).status).toBe(404);
    const talkedReason = (await a.api(`/api/calls/${talked.id}`)).body.end_reason;
    const f = await until(async () => {
      const families = await scrape(a);
      const delivered = value(families, "agenticai_events_delivered_total", { outcome: "delivered" });
      return value(families, "agenticai_events_pending") === 0 && delivered === rx.requests.length && families;
    }, "every event delivered and counted");

    for (const [name, type] of Object.entries(FAMILIES))
      expect({ name, type: f.get(name)?.type }).toEqual({ name, type });
    expect(talkedReason).toBe("agent_hangup");
    expect(value(f, "agenticai_calls_total", { direction: "outbound", end_reason: talkedReason })).toBe(1);
    expect(value(f, "agenticai_calls_total", { direction: "outbound", end_reason: "busy" })).toBe(1);
    expect(value(f, "agenticai_calls_active")).toBe(0);
    // Only the answered call has a length; one bridge, so one model connect and one first audio.
    expect(observations(f, "agenticai_call_duration_seconds")).toBe(1);
    expect(observations(f, "agenticai_model_connect_seconds")).toBe(1);
    expect(observations(f, "agenticai_time_to_first_audio_seconds")).toBe(1);
    expect(observations(f, "agenticai_turn_latency_seconds")).toBeGreaterThanOrEqual(1);
    expect(value(f, "agenticai_media_frames_total", { direction: "in" })).toBeGreaterThan(0);
    expect(value(f, "agenticai_media_frames_total", { direction: "out" })).toBeGreaterThan(0);
    const dropped = f.get("agenticai_media_frames_dropped_total")!.metrics.map((m) => m.labels!.direction);
    expect(dropped).toEqual(["in", "out"]);
    expect(value(f, "agenticai_twilio_requests_total", { op: "create", outcome: "ok" })).toBe(2);
    expect(value(f, "agenticai_events_delivered_total", { outcome: "delivered" })).toBeGreaterThanOrEqual(2);
    expect(value(f, "agenticai_http_requests_total", { route: "/api/call", code: "200" })).toBe(2);
    expect(value(f, "agenticai_http_requests_total", { route: "unmatched", code: "404" })).toBe(1);
    expect(value(f, "agenticai_http_requests_total", { route: "/api/calls/:id", code: "200" })).toBe(1);
    const routes = f.get("agenticai_http_requests_total")!.metrics.map((m) => m.labels!.route!);
    expect(routes.filter((r) => r.includes(talked.id) || r.includes(talked.sid))).toEqual([]);
    expect(value(f, "agenticai_build_info", { version: (await a.api("/health")).body.version })).toBe(1);
    expect(value(f, "process_start_time_seconds")).toBeCloseTo(a.ctx.startedAt / 1000, 0);
  });

  test("events a receiver refuses are pending and counted as to be retried", async () => {
    receiver = startReceiver(() => 503);
    const rx = receiver;
    const a = await start({ config: { events: { url: `${rx.url}/events` } } });
    await a.call({ to: BUSY });
    const f = await until(async () => {
      const families = await scrape(a);
      return value(families, "agenticai_events_delivered_total", { outcome: "retry" }) >= 1 && families;
    }, "a refused delivery counted");
    expect(value(f, "agenticai_events_pending")).toBeGreaterThanOrEqual(1);
    expect(value(f, "agenticai_events_delivered_total", { outcome: "delivered" })).toBe(0);
  });

  test("Twilio refusing a call and Twilio failing are told apart", async () => {
    // The carrier accepts only its own number as From, and refuses the call with a 400 otherwise.
    const a = await start({ config: { twilio: { phone_number: "+15005550999" } } });
    const body = { to: TALKS, webhook_url: a.url };
    expect((await a.api("/api/call", { body })).status).toBe(502);
    a.twilio.faults.create = "500";
    expect((await a.api("/api/call", { body })).status).toBe(503);
    const f = await scrape(a);
    expect(value(f, "agenticai_twilio_requests_total", { op: "create", outcome: "refused" })).toBe(1);
    expect(value(f, "agenticai_twilio_requests_total", { op: "create", outcome: "unreachable" })).toBe(1);
    expect(value(f, "agenticai_twilio_requests_total", { op: "create", outcome: "ok" })).toBe(0);
    expect(value(f, "agenticai_http_requests_total", { route: "/api/call", code: "502" })).toBe(1);
    expect(value(f, "agenticai_http_requests_total", { route: "/api/call", code: "503" })).toBe(1);
  });
});

describe("who may scrape", () => {
  test("without tokens: loopback only, and not through a proxy", async () => {
    const a = await start();
    expect((await getMetrics(a)).status).toBe(200);
    const proxied = await getMetrics(a, { "X-Forwarded-For": "203.0.113.7" });
    expect(proxied.status).toBe(401);
  });

  test("with the API token only: that token", async () => {
    const a = await start({ config: { server: { api_token: API_TOKEN } } });
    const bare = await getMetrics(a);
    expect(bare.status).toBe(401);
    expect(bare.headers.get("www-authenticate")).toBe("Bearer");
    expect((await getMetrics(a, bearer(API_TOKEN))).status).toBe(200);
  });

  test("with metrics.token: that token alone, which opens nothing else", async () => {
    const a = await start({ config: { server: { api_token: API_TOKEN }, metrics: { token: METRICS_TOKEN } } });
    expect((await getMetrics(a, bearer(METRICS_TOKEN))).status).toBe(200);
    expect((await getMetrics(a, bearer(API_TOKEN))).status).toBe(401);
    expect((await getMetrics(a)).status).toBe(401);
    expect((await a.api("/api/calls", { headers: bearer(METRICS_TOKEN) })).status).toBe(401);
  });

  test("scrapes never use up the API's rate limit; refused ones do", async () => {
    const a = await start({ config: { server: { api_token: API_TOKEN }, limits: { api_requests_per_minute: 2 } } });
    for (let i = 0; i < 5; i++) expect((await getMetrics(a, bearer(API_TOKEN))).status).toBe(200);
    const refused = [];
    for (let i = 0; i < 3; i++) refused.push((await getMetrics(a, bearer("wrong-token-0123456789"))).status);
    expect(refused).toEqual([401, 401, 429]);
  });
});

describe("the exposition", () => {
  test("label values are escaped and histogram buckets are cumulative", () => {
    const metrics = createMetricsRegistry();
    const odd = 'a "quoted" back\\slash\nand a newline';
    metrics.callEnded({ direction: "outbound", endReason: odd, durationS: 3 });
    metrics.callEnded({ direction: "outbound", endReason: odd, durationS: 42 });
    metrics.callEnded({ direction: "inbound", endReason: "busy", durationS: null });
    const text = metrics.exposition({ activeCalls: 0, pendingEvents: 0, live: [], startedAt: 0, version: "1.2.3" });
    expect(text.endsWith("\n")).toBe(true);
    const f = new Map(parse(text).map((x) => [x.name, x]));
    expect(value(f, "agenticai_calls_total", { direction: "outbound", end_reason: odd })).toBe(2);
    const duration = f.get("agenticai_call_duration_seconds")!.metrics[0]!;
    expect(duration.buckets).toMatchObject({ "5": "1", "15": "1", "30": "1", "60": "2", "+Inf": "2" });
    expect([duration.sum, duration.count]).toEqual(["45", "2"]);
    // Every family has its HELP and TYPE before its samples.
    for (const family of f.keys()) expect(text).toMatch(new RegExp(`# HELP ${family} .+\\n# TYPE ${family} \\w+\\n`));
  });
});
