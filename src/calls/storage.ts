// Where calls are kept: the embedded SQLite file in the data dir, or the PostgreSQL database that several
// instances share (database.url). The PostgreSQL store is loaded only when asked for.
import type { Config } from "../config/schema.ts";
import { openStore } from "./store.ts";
import type { Store } from "./store-api.ts";

export async function openStorage(config: Config): Promise<Store> {
  const url = config.database.url;
  if (!url) return openStore(config.server.data_dir);
  const { openPgStore } = await import("./store-pg.ts");
  return openPgStore(url);
}
