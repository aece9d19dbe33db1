// Where calls are kept: the embedded SQLite file in the data dir, or the PostgreSQL database that several
// instances share (database.url). The PostgreSQL store is loaded only when asked for.
import type { Config } from "../config/schema.ts";
import { nodeFs } from "../runtime/node-modules.ts";
import { openSqliteStore } from "./sqlite.ts";
import type { Store } from "./store.ts";

export async function openStorage(config: Config): Promise<Store> {
  const url = config.database.url;
  const dataDir = config.server.data_dir;
  if (!url) return openSqliteStore(dataDir);
  // The data dir still holds this instance's recordings; private, as the SQLite store makes it.
  nodeFs().mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { openPgStore } = await import("./postgres.ts");
  return openPgStore(url);
}
