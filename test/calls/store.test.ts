// What only the SQLite store does: its batch against the file itself, its transactions on one connection, and
// the claims a previous run left. What every store does is test/store/contract.ts.
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/sqlite.ts";
import { MIGRATIONS } from "../../src/store/sqlite-migrations.ts";
import { BATCH_MS, type Store } from "../../src/store/store.ts";

let dir = "";
let store: Store | null = null;

afterEach(async () => {
  await store?.close();
  store = null;
  rmSync(dir, { recursive: true, force: true });
});

const call = (id: string) => ({
  id,
  direction: "outbound" as const,
  from_number: null,
  to_number: "+15550100001",
  status: "queued" as const,
  prompt: "p",
  metadata: "{}",
  webhook_url: "http://127.0.0.1:1",
});

async function open(): Promise<Store> {
  dir = mkdtempSync(join(tmpdir(), "agenticai-store-"));
  store = openStore(dir);
  await store.insertCall(call("c1"), 1);
  return store;
}

/** What another connection to the file sees: only what has been committed. */
function committed(sql: string): unknown {
  const db = new Database(join(dir, "agenticai.db"), { readonly: true });
  try {
    return db.query(sql).get();
  } finally {
    db.close();
  }
}

const turn = { call_id: "c1", role: "agent" as const, item_id: "i1", text: "Hello", started_at: 10, interrupted: 0 };
const transcriptRows = () => (committed("SELECT count(*) AS n FROM transcript") as { n: number }).n;

describe("batched transcript and metrics writes", () => {
  test("a turn is committed within BATCH_MS, and the store's own reads see it at once", async () => {
    const s = await open();
    s.upsertTurn(turn);
    expect(transcriptRows()).toBe(0);
    // The batch's timer commits it; a busy machine may run the timer late, never skip it.
    const deadline = Date.now() + BATCH_MS + 2_000;
    while (transcriptRows() === 0 && Date.now() < deadline) await Bun.sleep(BATCH_MS / 4);
    expect(transcriptRows()).toBe(1);

    s.upsertTurn({ ...turn, item_id: "i2", text: "Again" });
    expect((await s.transcript("c1")).map((t) => t.text)).toEqual(["Hello", "Again"]);
    expect(transcriptRows()).toBe(2);
  });

  test("only the last metrics save of a batch is written, and close commits it", async () => {
    const s = await open();
    s.saveMetrics("c1", '{"n":1}', 5);
    s.saveMetrics("c1", '{"n":2}', 6);
    await s.close();
    store = null;
    expect(committed("SELECT metrics, updated_at FROM calls WHERE id = 'c1'")).toEqual({
      metrics: '{"n":2}',
      updated_at: 6,
    });
    // A bridge's late save after close is dropped, not an error on a timer.
    expect(() => s.saveMetrics("c1", '{"n":3}', 7)).not.toThrow();
  });

  test("a later direct write lands after the batch, so the newer update time wins", async () => {
    const s = await open();
    s.saveMetrics("c1", '{"n":1}', 5);
    const row = await s.updateCall("c1", { status: "in-progress" }, 9);
    expect(row).toMatchObject({ status: "in-progress", metrics: '{"n":1}', updated_at: 9 });
  });

  test("an upsert in a batch still keeps the earlier start and the known text", async () => {
    const s = await open();
    s.upsertTurn(turn);
    s.upsertTurn({ ...turn, text: "", started_at: 20, interrupted: 1 });
    expect(await s.transcript("c1")).toEqual([{ ...turn, interrupted: 1 }]);
  });

  test("a batch is never committed inside a transaction: not when its timer fires, not by a read in it", async () => {
    const s = await open();
    await expect(
      s.transaction(async () => {
        s.upsertTurn(turn);
        await Bun.sleep(BATCH_MS * 3);
        await s.getCall("c1");
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    // Neither rolled back with the transaction nor lost: the next flush commits it.
    await s.flush();
    expect(transcriptRows()).toBe(1);
  });
});

describe("transactions on the one connection", () => {
  test("a call from outside waits for the open transaction, and sees only what it committed", async () => {
    const s = await open();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tx = s.transaction(async () => {
      await s.updateCall("c1", { status: "ringing" }, 2);
      await held;
    });
    await Bun.sleep(10);
    let read = null as string | null;
    const outside = s.getCall("c1").then((row) => {
      read = row!.status;
    });
    await Bun.sleep(20);
    expect(read).toBeNull();
    release();
    await Promise.all([tx, outside]);
    expect(read).toBe("ringing");
  });

  test("work a transaction left running is outside it once it ended", async () => {
    const s = await open();
    let later: Promise<unknown> = Promise.resolve();
    await s.transaction(async () => {
      later = Bun.sleep(20).then(() =>
        s.transaction(async () => {
          await s.updateCall("c1", { status: "ringing" }, 2);
          throw new Error("its own rollback");
        }),
      );
    });
    await expect(later).rejects.toThrow("its own rollback");
    expect((await s.getCall("c1"))!.status).toBe("queued");
  });
});

describe("a previous run's claims", () => {
  test("are let go at open: a file serves one instance, so nobody holds them any more", async () => {
    const s = await open();
    await s.updateCall("c1", { status: "completed", ended_at: 5 }, 5);
    await s.enqueue([{ event_id: "e1", call_id: "c1", receiver: "events", url: "http://x", type: "t", body: "{}" }], 5);
    expect(await s.claimReports(10, 100_000, 5)).toHaveLength(1);
    expect(await s.claimDeliveries(10, 100_000, 5)).toHaveLength(1);
    expect(await s.claimDeliveries(10, 100_000, 5)).toHaveLength(0);
    await s.close();

    store = openStore(dir);
    expect((await store.claimReports(10, 100_000, 5)).map((c) => c.id)).toEqual(["c1"]);
    const [event] = await store.claimDeliveries(10, 100_000, 5);
    expect(event).toMatchObject({ event_id: "e1", next_attempt_at: 100_000 });
    // The retry schedule of an event nobody claimed is kept.
    await store.recordAttempt(event!.id, {
      status: "pending",
      at: 11,
      next_attempt_at: 5_000,
      last_status: 500,
      last_error: "HTTP 500",
    });
    await store.close();
    store = openStore(dir);
    expect(await store.claimDeliveries(10, 100_000, 5)).toHaveLength(0);
    expect(await store.claimDeliveries(5_000, 100_000, 5)).toHaveLength(1);
  });
});

test("a database of the previous schema is migrated, its calls kept with no owner", async () => {
  dir = mkdtempSync(join(tmpdir(), "agenticai-store-"));
  const db = new Database(join(dir, "agenticai.db"), { create: true, strict: true });
  for (const [v, step] of MIGRATIONS.slice(0, -1).entries()) db.exec(`${step}; PRAGMA user_version = ${v + 1}`);
  db.exec(`INSERT INTO calls (id, direction, to_number, status, prompt, metadata, webhook_url, created_at, updated_at)
           VALUES ('old', 'outbound', '+15550100001', 'in-progress', 'p', '{}', 'http://x', 1, 1)`);
  db.close();
  store = openStore(dir);
  expect(await store.getCall("old")).toMatchObject({ owner: null, report_claimed_until: null });
  expect((await store.claimOrphans("me", 2, 20_000, 10)).map((c) => [c.id, c.owner])).toEqual([["old", "me"]]);
  expect(await store.liveInstances(2, 20_000)).toEqual([]);
  await store.heartbeat("me", 2);
  expect(await store.liveInstances(3, 20_000)).toEqual(["me"]);
});
