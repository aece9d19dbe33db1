// The store contract on the embedded SQLite file, a fresh data dir per test.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/sqlite.ts";
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
