// Events survive a crash: the server runs as a real child process, queues events while their receiver
// is down, is killed with SIGKILL, and a restart on the same data dir delivers every one of them —
// under the webhook-id the first process gave it, signed with the same generated secret, and twice
// only where a delivery was already in flight at the kill (at-least-once).
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { type Carrier, startCarrier } from "../../src/sim/carrier.ts";
import { simulatorEnv } from "../../src/sim/simulators.ts";
import { storedMeta } from "../support/app.ts";
import { childApi as api, cleanedAfterEach, type ServerProcess, spawnServer } from "../support/process.ts";
import { closedPort, type Receiver, startReceiver } from "../support/receiver.ts";
import { until } from "../support/until.ts";

const { children, cleanups } = cleanedAfterEach();

/** A call placed through `child` and played to its end by the fake carrier. */
async function endedCall(child: ServerProcess, carrier: Carrier): Promise<string> {
  const res = await api(child, "/api/call", { to: "+15551230001", webhook_url: child.url });
  if (res.status !== 200) throw new Error(`call failed: ${res.status} ${JSON.stringify(res.body)}`);
  const sid = [...carrier.calls.values()].at(-1)!.sid;
  for (const status of ["ringing", "in-progress", "completed"]) {
    const r = await carrier.sendStatus(sid, status, status === "completed" ? { CallDuration: "5" } : {});
    if (r.status !== 204) throw new Error(`status callback ${status} answered ${r.status}`);
  }
  return res.body.call_id as string;
}

interface Row {
  id: number;
  event_id: string;
  call_id: string;
  type: string;
  status: string;
}
const outbox = async (child: ServerProcess): Promise<Row[]> => (await api(child, "/api/events?limit=500")).body.events;

test("events queued while the receiver is down are all delivered after a kill -9 and a restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "agenticai-events-restart-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, "");
  const dataDir = join(dir, "data");
  const carrier = await startCarrier();
  cleanups.push(() => carrier.stop());

  // The receiver's port, with nothing listening on it yet.
  const port = await closedPort();
  const env = {
    HOST: "127.0.0.1",
    PORT: "0",
    AGENTICAI_DATA_DIR: dataDir,
    AGENTICAI_CONFIG: configPath,
    AGENTICAI_EVENTS_URL: `http://127.0.0.1:${port}/events`,
    ...simulatorEnv({ carrier }),
  };
  const first = await spawnServer(["server"], env, children);
  // No secret configured: the one generated at first start must sign the restarted server's deliveries too.
  const secret = storedMeta(dataDir, "events_secret")!;
  expect(secret).toMatch(/^whsec_/);

  // Three whole calls while the receiver is down: their events are committed and wait.
  const downCalls = [];
  for (let i = 0; i < 3; i++) downCalls.push(await endedCall(first, carrier));
  await until(
    async () => (await outbox(first)).filter((r) => r.type === "call.ended").length === 3,
    "three call.ended queued",
  );

  // The receiver comes up but holds every request open: the next delivery is in flight at the kill.
  let mode: "hold" | "ok" = "hold";
  const answered = new Map<number, number>();
  let rx: Receiver | null = null;
  rx = startReceiver((req) => {
    if (mode === "hold") return { status: 200, delayMs: Number.POSITIVE_INFINITY };
    answered.set(req.n, 200);
    return 200;
  }, port);
  cleanups.push(() => rx?.stop());
  const heldCall = await endedCall(first, carrier);
  await rx.until(
    (r) => r.some((e) => e.json?.data?.call_id === heldCall),
    3_000,
    "the held call's first event in flight",
  );
  await until(
    async () => (await outbox(first)).filter((r) => r.type === "call.ended").length === 4,
    "four call.ended queued",
  );

  const queued = await outbox(first);
  expect(queued).toHaveLength(16);
  expect(queued.every((r) => r.status === "pending")).toBe(true);
  const queuedIds = new Set(queued.map((r) => r.event_id));
  expect(queuedIds.size).toBe(16);

  first.proc.kill("SIGKILL");
  await first.proc.exited;
  children.delete(first);
  const inFlight = new Set(rx.requests.map((r) => r.headers["webhook-id"]!));
  expect(inFlight.size).toBeGreaterThanOrEqual(1);

  mode = "ok";
  const second = await spawnServer(["server"], env, children);
  const okIds = () => new Set(rx.requests.filter((r) => answered.get(r.n) === 200).map((r) => r.headers["webhook-id"]));
  await until(() => okIds().size === 16, "every event delivered after the restart", 12_000);
  await until(
    async () => (await outbox(second)).every((r) => r.status === "delivered"),
    "the outbox all delivered",
    2_000,
  );
  await Bun.sleep(300);

  // Every delivery is one the first process queued, and every one it queued was delivered.
  const received = rx.requests.map((r) => r.headers["webhook-id"]!);
  expect(new Set(received)).toEqual(queuedIds);
  expect(okIds()).toEqual(queuedIds);
  // Twice only for what was in flight at the kill; everything delivered with a 200 exactly once.
  const counts = new Map<string, number>();
  for (const id of received) counts.set(id, (counts.get(id) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
  // What was in flight was never recorded as delivered, so it is sent again: those, and only those.
  expect(new Set(twice)).toEqual(inFlight);
  const okCounts = new Map<string, number>();
  for (const r of rx.requests.filter((r) => answered.get(r.n) === 200)) {
    okCounts.set(r.headers["webhook-id"]!, (okCounts.get(r.headers["webhook-id"]!) ?? 0) + 1);
  }
  expect([...okCounts.values()].every((n) => n === 1)).toBe(true);

  // Signed with the generated secret by both processes; each call's events in order.
  for (const r of rx.requests) expect(new Webhook(secret).verify(r.raw, r.headers)).toEqual(r.json);
  const byId = new Map(queued.map((r) => [r.event_id, r]));
  for (const callId of [...downCalls, heldCall]) {
    const delivered = rx.requests.filter((r) => answered.get(r.n) === 200 && r.json.data.call_id === callId);
    expect(delivered.map((r) => r.json.type)).toEqual([
      "call.initiated",
      "call.ringing",
      "call.answered",
      "call.ended",
    ]);
    for (const r of delivered) expect(byId.get(r.headers["webhook-id"]!)?.type).toBe(r.json.type);
  }
  // The restart queued nothing of its own.
  expect((await outbox(second)).map((r) => r.event_id).sort()).toEqual([...queuedIds].sort());
}, 30_000);
