// The store contract on the embedded SQLite file, a fresh data dir per test.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/sqlite.ts";
import { prepared } from "../../src/store/sqlite-prepared.ts";
import { storeContract } from "./contract.ts";

storeContract("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "agenticai-store-"));
  const store = await openStore(dir);
  return {
    store,
    peer: async () => openStore(dir),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("statements prepared on first use", () => {
  test("each is made on its first read only, then kept, and a bad one fails where it is used", () => {
    const db = new Database(":memory:", { strict: true });
    let made = 0;
    const q = prepared({
      one: () => {
        made++;
        return db.query<{ n: number }, []>("SELECT 1 AS n");
      },
      broken: () => db.query("SELECT * FROM no_such_table"),
    });
    expect(made).toBe(0);
    expect(q.one.get()).toEqual({ n: 1 });
    expect(q.one.get()).toEqual({ n: 1 });
    expect(made).toBe(1);
    expect(() => q.broken).toThrow(/no_such_table/);
    db.close();
  });
});
