import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BATCH_MS, openStore, type Store } from "../../src/calls/store.ts";

let dir = "";
let store: Store | null = null;

afterEach(() => {
  store?.close();
  store = null;
  rmSync(dir, { recursive: true, force: true });
});

function open(): Store {
  dir = mkdtempSync(join(tmpdir(), "agenticai-store-"));
  store = openStore(dir);
  store.insertCall(
    {
      id: "c1",
      direction: "outbound",
      from_number: null,
      to_number: "+15550100001",
      status: "queued",
      prompt: "p",
      metadata: "{}",
      webhook_url: "http://127.0.0.1:1",
    },
    1,
  );
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

describe("batched transcript and metrics writes", () => {
  test("a turn is committed within BATCH_MS, and the store's own reads see it at once", async () => {
    const s = open();
    s.upsertTurn(turn);
    expect(committed("SELECT count(*) AS n FROM transcript")).toEqual({ n: 0 });
    // The batch's timer commits it; a busy machine may run the timer late, never skip it.
    const deadline = Date.now() + BATCH_MS + 2_000;
    while ((committed("SELECT count(*) AS n FROM transcript") as { n: number }).n === 0 && Date.now() < deadline)
      await Bun.sleep(BATCH_MS / 4);
    expect(committed("SELECT count(*) AS n FROM transcript")).toEqual({ n: 1 });

    s.upsertTurn({ ...turn, item_id: "i2", text: "Again" });
    expect(s.transcript("c1").map((t) => t.text)).toEqual(["Hello", "Again"]);
    expect(committed("SELECT count(*) AS n FROM transcript")).toEqual({ n: 2 });
  });

  test("only the last metrics save of a batch is written, and close commits it", () => {
    const s = open();
    s.saveMetrics("c1", '{"n":1}', 5);
    s.saveMetrics("c1", '{"n":2}', 6);
    s.close();
    store = null;
    expect(committed("SELECT metrics, updated_at FROM calls WHERE id = 'c1'")).toEqual({
      metrics: '{"n":2}',
      updated_at: 6,
    });
    // A bridge's late save after close is dropped, not an error on a timer.
    expect(() => s.saveMetrics("c1", '{"n":3}', 7)).not.toThrow();
  });

  test("a later direct write lands after the batch, so the newer update time wins", () => {
    const s = open();
    s.saveMetrics("c1", '{"n":1}', 5);
    const row = s.updateCall("c1", { status: "in-progress" }, 9);
    expect(row).toMatchObject({ status: "in-progress", metrics: '{"n":1}', updated_at: 9 });
  });

  test("an upsert in a batch still keeps the earlier start and the known text", () => {
    const s = open();
    s.upsertTurn(turn);
    s.upsertTurn({ ...turn, text: "", started_at: 20, interrupted: 1 });
    expect(s.transcript("c1")).toEqual([{ ...turn, interrupted: 1 }]);
  });
});
