// The store contract on a real PostgreSQL, a fresh database per test; then what only several instances on
// one database show: two stores (two pools, as two instances have) racing on claims and admissions, and
// starting together on a new database.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Server, type Socket } from "node:net";
import { SQL } from "bun";
import { openPgStore } from "../../src/store/postgres.ts";
import { PG_MIGRATIONS } from "../../src/store/postgres-migrations.ts";
import type { Store } from "../../src/store/store.ts";
import { type Postgres, startPostgres } from "../support/postgres.ts";
import { until } from "../support/until.ts";
import { event, insertCalls, newCall, storeContract, T0 } from "./contract.ts";

let pg: Postgres;
/** A database with the schema in place: each contract test starts from a copy instead of migrating anew. */
let migrated: string;

beforeAll(async () => {
  pg = await startPostgres();
  migrated = await pg.createDatabase();
  await (await openPgStore(migrated)).close();
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

storeContract("postgres", async () => {
  const url = await pg.createDatabase(migrated);
  const store = await openPgStore(url);
  return { store, peer: () => openPgStore(url), close: () => store.close() };
});

/** Two stores on one new database, as two instances would hold it, closed after `fn`. */
async function twoInstances(fn: (a: Store, b: Store, url: string) => Promise<void>): Promise<void> {
  const url = await pg.createDatabase(migrated);
  const a = await openPgStore(url);
  const b = await openPgStore(url);
  try {
    await fn(a, b, url);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** Both stores claim in small bites, at the same time, until nothing is left; returns what each got. */
async function race(claim: (store: Store, who: "a" | "b") => Promise<string[]>, a: Store, b: Store) {
  const drain = async (store: Store, who: "a" | "b") => {
    const got: string[] = [];
    for (let batch = await claim(store, who); batch.length > 0; batch = await claim(store, who)) got.push(...batch);
    return got;
  };
  const [gotA, gotB] = await Promise.all([drain(a, "a"), drain(b, "b")]);
  return { gotA, gotB, all: [...gotA, ...gotB].sort() };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `c${String(i).padStart(2, "0")}`);

describe("two instances on one database", () => {
  test("claims are disjoint: deliveries, retries, reports and orphans each go to one instance", async () => {
    await twoInstances(async (a, b) => {
      const calls = ids(40);
      await insertCalls(a, calls);
      await a.enqueue(
        calls.map((id) => event(`e-${id}`, id)),
        T0,
      );
      const deliveries = await race(
        async (s) => (await s.claimDeliveries(T0, T0 + 60_000, 3)).map((r) => r.call_id!),
        a,
        b,
      );
      expect(deliveries.all).toEqual(calls);

      for (const id of calls) await a.updateCall(id, { next_attempt_at: T0 + 1 }, T0);
      const retries = await race(async (s) => (await s.claimRetries(T0 + 1, T0 + 60_000, 3)).map((r) => r.id), a, b);
      expect(retries.all).toEqual(calls);

      for (const id of calls) await a.updateCall(id, { next_attempt_at: null, ended_at: T0 + 2 }, T0 + 2);
      const reports = await race(async (s) => (await s.claimReports(T0 + 3, T0 + 60_000, 3)).map((r) => r.id), a, b);
      expect(reports.all).toEqual(calls);
    });
  });

  test("orphans: each call goes to one live instance; a live owner's calls stay with it", async () => {
    await twoInstances(async (a, b) => {
      const calls = ids(40);
      await insertCalls(a, calls);
      await a.insertCall(newCall("held", { owner: "c" }), T0);
      await a.insertCall(newCall("stale", { owner: "d" }), T0);
      for (const who of ["a", "b", "c"]) await a.heartbeat(who, T0 + 9_000);
      await a.heartbeat("d", T0);
      const now = T0 + 10_000;
      const orphans = await race(async (s, who) => (await s.claimOrphans(who, now, 5_000, 3)).map((r) => r.id), a, b);
      expect(orphans.all).toEqual([...calls, "stale"].sort());
      expect((await a.getCall("held"))?.owner).toBe("c");
      for (const id of orphans.gotB) expect((await a.getCall(id))?.owner).toBe("b");
      await a.leave("c");
      expect((await b.claimOrphans("b", now, 5_000, 10)).map((r) => r.id)).toEqual(["held"]);
    });
  });

  test("lockAdmission serialises admissions across instances", async () => {
    await twoInstances(async (a, b) => {
      const admit = (store: Store, id: string) =>
        store.transaction(async () => {
          await store.lockAdmission();
          if ((await store.countActive()) >= 1) return false;
          await Bun.sleep(30);
          await store.insertCall(newCall(id), T0);
          return true;
        });
      const admitted = await Promise.all([admit(a, "x"), admit(b, "y"), admit(a, "z"), admit(b, "w")]);
      expect(admitted.filter(Boolean)).toHaveLength(1);
      expect(await b.countActive()).toBe(1);
    });
  });

  test("a transaction's writes are invisible to the other instance until it commits", async () => {
    await twoInstances(async (a, b) => {
      let commit!: () => void;
      const committing = new Promise<void>((r) => (commit = r));
      let written!: () => void;
      const wroteInside = new Promise<void>((r) => (written = r));
      const tx = a.transaction(async () => {
        await a.insertCall(newCall("c1"), T0);
        written();
        await committing;
      });
      await wroteInside;
      expect(await b.getCall("c1")).toBeNull();
      expect(await a.getCall("c1")).toBeNull();
      commit();
      await tx;
      expect((await b.getCall("c1"))?.id).toBe("c1");
    });
  });

  test("a call read in a transaction is locked for updates, not for rows that refer to it", async () => {
    await twoInstances(async (a, b) => {
      await insertCalls(a, ["c1"]);
      let finish!: () => void;
      const finishing = new Promise<void>((r) => (finish = r));
      let locked!: () => void;
      const lockedInside = new Promise<void>((r) => (locked = r));
      const tx = a.transaction(async () => {
        await a.getCall("c1");
        locked();
        await finishing;
        await a.updateCall("c1", { status: "ringing" }, T0 + 1);
      });
      await lockedInside;
      // An event, an outbox row and a transcript turn of the call go in while it is locked...
      await b.addEvent({ ...eventRow(), call_id: "c1" });
      await b.enqueue([event("e1", "c1")], T0);
      // ...while an update of the row itself waits for the transaction.
      let updated = false;
      const update = b.updateCall("c1", { error: "late" }, T0 + 2).then((row) => {
        updated = true;
        return row;
      });
      await Bun.sleep(100);
      expect(updated).toBe(false);
      finish();
      await tx;
      expect(await update).toMatchObject({ status: "ringing", error: "late" });
    });
  });

  test("a notify on one instance reaches the other's listeners; a dropped listening connection listens again", async () => {
    await twoInstances(async (a, b, url) => {
      const got: string[] = [];
      let listens = 0;
      const stop = await b.listen(
        "agenticai_test",
        (p) => got.push(p),
        () => listens++,
      );
      await a.notify("agenticai_test", "from a");
      await until(() => got.includes("from a"), "a's notification at b", 5_000);
      // Bun keeps every listen on one connection of its own; when the server drops it, Bun reconnects and listens
      // again, and says so: what was sent meanwhile is lost, and a listener catches up then.
      const admin = new SQL(url);
      try {
        await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND query ILIKE 'LISTEN%'`;
      } finally {
        await admin.close();
      }
      await until(() => listens === 2, "listening again", 30_000);
      await a.notify("agenticai_test", "after the drop");
      await until(() => got.includes("after the drop"), "a notification after the reconnect", 5_000);
      await stop();
    });
  }, 60_000);

  test("starting together on a new database: both migrate, one applies the steps", async () => {
    const url = await pg.createDatabase();
    const stores = await Promise.all([openPgStore(url), openPgStore(url), openPgStore(url)]);
    const sql = new SQL(url);
    try {
      const rows = await sql`SELECT version FROM schema_version ORDER BY version`;
      expect(rows.map((r: { version: number }) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
      await stores[0]!.insertCall(newCall("c1"), T0);
      expect((await stores[2]!.getCall("c1"))?.id).toBe("c1");
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await sql.close();
    }
  });

  test("a database migrated by a newer build is refused", async () => {
    const url = await pg.createDatabase();
    await (await openPgStore(url)).close();
    const sql = new SQL(url);
    await sql`INSERT INTO schema_version (version, applied_at) VALUES (${PG_MIGRATIONS.length + 1}, ${T0})`;
    await sql.close();
    const n = PG_MIGRATIONS.length;
    await expect(openPgStore(url)).rejects.toThrow(
      `database schema version ${n + 1} is newer than this build (${n}); upgrade agenticai`,
    );
  });
});

describe("postgres store details", () => {
  test("heartbeat keeps the instance's started_at", async () => {
    const url = await pg.createDatabase(migrated);
    const store = await openPgStore(url);
    const sql = new SQL(url);
    try {
      await store.heartbeat("i1", T0);
      await store.heartbeat("i1", T0 + 5_000);
      const [row] = await sql`SELECT started_at::text, heartbeat_at::text FROM instances`;
      expect(row).toEqual({ started_at: String(T0), heartbeat_at: String(T0 + 5_000) });
    } finally {
      await store.close();
      await sql.close();
    }
  });

  test("lockAdmission outside a transaction throws; timers started in a transaction run on the pool", async () => {
    const store = await openPgStore(await pg.createDatabase(migrated));
    try {
      await expect(store.lockAdmission()).rejects.toThrow(/outside a transaction/);
      await insertCalls(store, ["c1"]);
      const later = await store.transaction(async () => {
        await store.getCall("c1");
        // Started inside, run after the commit: the transaction's connection is no longer its to use.
        return new Promise<unknown>((resolve) => setTimeout(() => resolve(store.getCall("c1")), 20));
      });
      expect(await later).toMatchObject({ id: "c1" });
    } finally {
      await store.close();
    }
  });

  test("ping fails within its 2 s when the database stops answering", async () => {
    const url = new URL(await pg.createDatabase(migrated));
    const proxy = await freezableProxy(Number(url.port));
    url.port = String(proxy.port);
    const store = await openPgStore(url.href);
    try {
      await store.ping();
      proxy.frozen = true;
      const started = performance.now();
      await expect(store.ping()).rejects.toThrow(/did not answer/);
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      proxy.stop();
      await store.close();
    }
  });
});

function eventRow() {
  return {
    call_sid: "CA1",
    status: "ringing",
    sequence: 0,
    source: "status_callback",
    verdict: "apply",
    at: T0,
    params: null,
  } as const;
}

/** Forwards TCP to PostgreSQL until `frozen`: then bytes are dropped both ways, like a hung server. */
async function freezableProxy(target: number) {
  const sockets = new Set<Socket>();
  const state = { frozen: false, port: 0, stop: () => {} };
  const server: Server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
      s.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (d) => state.frozen || upstream.write(d));
    upstream.on("data", (d) => state.frozen || client.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as { port: number }).port;
  state.stop = () => {
    server.close();
    for (const s of sockets) s.destroy();
  };
  return state;
}
