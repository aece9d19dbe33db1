// Dead receivers do not slow healthy ones: receivers that accept the connection and never answer are given a
// few slots, keyed on the host name as the URL writes it, and paused after 5 failures in a row, while the
// healthy events.url receiver keeps getting its events within a second or two. Real server in this process,
// real sockets on 127.0.0.x (the whole of 127/8 is loopback on Linux).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { percentile } from "../fuzz/harness.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { until } from "../support/until.ts";

/** A receiver that accepts connections and never answers; counts them, and those open now. */
interface Dead {
  url: string;
  host: string;
  connections: number;
  open: number;
  maxOpen: number;
  listener: TCPSocketListener<undefined>;
}

function startDead(host: string): Dead {
  const dead = { host, connections: 0, open: 0, maxOpen: 0 } as Dead;
  dead.listener = Bun.listen({
    hostname: host,
    port: 0,
    socket: {
      open() {
        dead.connections++;
        dead.open++;
        dead.maxOpen = Math.max(dead.maxOpen, dead.open);
      },
      close() {
        dead.open--;
      },
      data() {},
    },
  });
  dead.url = `http://${host}:${dead.listener.port}/hooks`;
  return dead;
}

const waitOf = (r: { at: number; json: any }) => r.at - Date.parse(r.json.timestamp);

describe("receivers that never answer", () => {
  const HOSTS = 8;
  const CALLS = 254;
  const TIMEOUT_S = 3;
  let app: TestApp;
  let healthy: Receiver;
  const dead: Dead[] = [];

  beforeAll(async () => {
    healthy = startReceiver();
    for (let i = 0; i < HOSTS; i++) dead.push(startDead(`127.0.0.${i + 2}`));
    app = await startTestApp({
      config: {
        events: { url: `${healthy.url}/global`, allow_private_networks: true, timeout_s: TIMEOUT_S },
        limits: { calls_per_minute: 10_000, api_requests_per_minute: 100_000 },
        calls: { max_concurrent: 1_000 },
      },
    });
  });
  afterAll(async () => {
    await app.stop();
    await healthy.stop();
    for (const d of dead) d.listener.stop(true);
  });

  test("are paused after 5 failures in a row, and the healthy receiver's p99 wait stays under 2 s", async () => {
    const calls: { id: string; sid: string }[] = [];
    for (let i = 0; i < CALLS; i++) calls.push(await app.call({ callback_url: dead[i % HOSTS]!.url }));
    // More events for the healthy receiver while the dead ones time out and are paused.
    for (const { sid } of calls) {
      await app.twilio.sendStatus(sid, "ringing");
      await Bun.sleep(40);
    }
    const global = await healthy.until(
      (r) => r.filter((e) => e.path === "/global").length >= 2 * CALLS && r.filter((e) => e.path === "/global"),
      30_000,
      "every call's two events at the healthy receiver",
    );
    const waits = global.map(waitOf);
    expect(percentile(waits, 99)).toBeLessThan(2_000);
    const paused = () =>
      new Set(app.logs.filter((l) => String(l.msg).startsWith("receiver paused")).map((l) => l.host));
    await until(() => paused().size === HOSTS, "every dead receiver paused", 10_000);

    // Paused: no slot held, no connection made, for as long as the pause lasts (30 s; watched for 4).
    const before = dead.map((d) => d.connections);
    await Bun.sleep(4_000);
    expect(dead.map((d) => d.connections)).toEqual(before);
    expect(dead.map((d) => d.open)).toEqual(dead.map(() => 0));
    // Never more than 4 at once to one host, and each got about the 5 it took to be paused.
    for (const d of dead) {
      expect(d.maxOpen).toBeLessThanOrEqual(4);
      expect(d.connections).toBeGreaterThanOrEqual(5);
      expect(d.connections).toBeLessThanOrEqual(8);
    }
    // Their events stay pending, with their retry schedule, none failed.
    const events = (await app.api("/api/events?limit=500&status=failed")).body.events;
    expect(events).toEqual([]);
    expect(await app.ctx.store.countPending()).toBe(2 * CALLS);
  }, 55_000);
});

describe("the per-receiver limit", () => {
  let app: TestApp;
  const dead: Dead[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 6; i++) dead.push(startDead("127.0.0.1"));
    dead.push(startDead("127.0.0.20"), startDead("127.0.0.20"));
    app = await startTestApp({ config: { events: { allow_private_networks: true, timeout_s: 10 } } });
  });
  afterAll(async () => {
    await app.stop();
    for (const d of dead) d.listener.stop(true);
  });

  test("keys on the host name as written, whatever the port: 4 at once to 127.0.0.1, 4 more to 127.0.0.20", async () => {
    for (const d of dead) {
      await app.call({ callback_url: d.url });
      await app.call({ callback_url: d.url });
    }
    const to = (host: string) => dead.filter((d) => d.host === host).reduce((n, d) => n + d.open, 0);
    await until(() => to("127.0.0.1") >= 4 && to("127.0.0.20") >= 4, "both hosts' first deliveries", 5_000);
    await Bun.sleep(1_000);
    expect(to("127.0.0.1")).toBe(4);
    expect(to("127.0.0.20")).toBe(4);
  });
});
