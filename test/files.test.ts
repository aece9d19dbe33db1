// What the server leaves on disk is its owner's only, whatever the umask: the database holds stream
// secrets, prompts and transcripts. Real temp dirs under umask 022, modes read back with stat.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { filesInPlace, openSqliteStore, openStore } from "../src/store/sqlite.ts";
import { tempDir } from "./support/app.ts";
import { cleanedAfterEach, spawnServer } from "./support/process.ts";

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

let previousUmask: number;
beforeAll(() => {
  // The usual default: without care, directories come out 755 and files 644.
  previousUmask = process.umask(0o022);
});
afterAll(() => {
  process.umask(previousUmask);
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = tempDir("agenticai-files-test-");
  dirs.push(d);
  return d;
}

describe("the data dir and the database", () => {
  test("a data dir the server creates is 700; the database and its -wal/-shm are 600, also after a reopen", async () => {
    const dataDir = join(scratch(), "nested", "data");
    const db = join(dataDir, "agenticai.db");
    for (let open = 0; open < 2; open++) {
      const store = openStore(dataDir);
      try {
        await store.setMeta("probe", String(open));
        // SQLite made these itself, after the open: they take the database's mode, not the umask's.
        expect([mode(dataDir), mode(db), mode(`${db}-wal`), mode(`${db}-shm`)]).toEqual(["700", "600", "600", "600"]);
      } finally {
        await store.close();
      }
    }
  });

  test("an existing data dir keeps its mode; an existing database and its left-over WAL are tightened to 600", async () => {
    const dataDir = join(scratch(), "data");
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const db = join(dataDir, "agenticai.db");
    await openStore(dataDir).close();
    chmodSync(db, 0o644);
    writeFileSync(`${db}-wal`, "");
    chmodSync(`${db}-wal`, 0o644);

    const store = openStore(dataDir);
    try {
      expect([mode(dataDir), mode(db), mode(`${db}-wal`), mode(`${db}-shm`)]).toEqual(["755", "600", "600", "600"]);
    } finally {
      await store.close();
    }
  });
});

describe("a restart whose files are in place", () => {
  test("opens them as they are; a file that is not 600 (or not there) is prepared as on a first start", async () => {
    const dataDir = join(scratch(), "data");
    const db = join(dataDir, "agenticai.db");
    expect(await filesInPlace(dataDir)).toBe(false);
    await openStore(dataDir).close();
    expect(await filesInPlace(dataDir)).toBe(true);
    for (const path of [db, `${db}-wal`, `${db}-shm`]) {
      if (!existsSync(path)) writeFileSync(path, "");
      chmodSync(path, 0o644);
      expect(await filesInPlace(dataDir)).toBe(false);
      const store = openStore(dataDir, await filesInPlace(dataDir));
      try {
        await store.setMeta("probe", path);
        expect([mode(dataDir), mode(db), mode(`${db}-wal`), mode(`${db}-shm`)]).toEqual(["700", "600", "600", "600"]);
        expect(await filesInPlace(dataDir)).toBe(true);
      } finally {
        await store.close();
      }
    }
    const reopened = openStore(dataDir, await filesInPlace(dataDir));
    try {
      expect(await reopened.meta("probe")).toBe(`${db}-shm`);
    } finally {
      await reopened.close();
    }
  });
});

describe("a restart that opens the database while its files are checked", () => {
  test("a file found out of place is tightened once open, and one that is not a database fails as on a first start", async () => {
    const dataDir = join(scratch(), "data");
    const db = join(dataDir, "agenticai.db");
    await openStore(dataDir).close();
    for (const path of [db, `${db}-wal`, `${db}-shm`]) {
      if (!existsSync(path)) writeFileSync(path, "");
      chmodSync(path, 0o644);
      const store = await openSqliteStore(dataDir);
      try {
        await store.setMeta("probe", path);
        expect([mode(dataDir), mode(db), mode(`${db}-wal`), mode(`${db}-shm`)]).toEqual(["700", "600", "600", "600"]);
      } finally {
        await store.close();
      }
    }
    const reopened = await openSqliteStore(dataDir);
    try {
      expect(await reopened.meta("probe")).toBe(`${db}-shm`);
    } finally {
      await reopened.close();
    }
    rmSync(db);
    mkdirSync(db);
    const firstStart = (() => {
      try {
        openStore(dataDir, false);
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(firstStart).toContain("EISDIR");
    await expect(openSqliteStore(dataDir)).rejects.toThrow(firstStart);
  });
});

describe("start-up warnings (child process)", () => {
  const { children } = cleanedAfterEach();

  function setup(): { dataDir: string; configPath: string } {
    const dir = scratch();
    const configPath = join(dir, "config.yaml");
    writeFileSync(configPath, "");
    return { dataDir: join(dir, "data"), configPath };
  }

  async function logsOf(env: Record<string, string>) {
    const server = await spawnServer(["server"], { PORT: "0", ...env }, children);
    // Logged just after "listening"; the server is idle from then on.
    for (let i = 0; i < 200 && !server.logs.some((l) => l.msg.startsWith("no public URL")); i++) await Bun.sleep(10);
    return server.logs;
  }

  const NETWORK = "the API answers only loopback clients, but the server is reachable from the network";

  test("on every interface without an API token: a warning that names AGENTICAI_API_TOKEN", async () => {
    const s = setup();
    const logs = await logsOf({ HOST: "0.0.0.0", AGENTICAI_DATA_DIR: s.dataDir, AGENTICAI_CONFIG: s.configPath });
    const warning = logs.find((l) => l.msg.startsWith(NETWORK));
    expect(warning).toMatchObject({ level: "warn", host: "0.0.0.0" });
    expect(warning!.msg).toContain("set AGENTICAI_API_TOKEN");
    // The existing note stays, and a data dir the server made raises nothing.
    expect(logs.some((l) => l.msg === "AGENTICAI_API_TOKEN is not set: /api/* answers loopback clients only")).toBe(
      true,
    );
    expect(logs.some((l) => l.msg.startsWith("the data dir is open"))).toBe(false);
    expect(mode(s.dataDir)).toBe("700");
  });

  test("on loopback, or with a token, no network warning", async () => {
    const envs: Record<string, string>[] = [
      { HOST: "127.0.0.1" },
      { HOST: "0.0.0.0", AGENTICAI_API_TOKEN: "a-token-of-16-chars-or-more" },
    ];
    for (const env of envs) {
      const s = setup();
      const logs = await logsOf({ ...env, AGENTICAI_DATA_DIR: s.dataDir, AGENTICAI_CONFIG: s.configPath });
      expect(logs.some((l) => l.msg.startsWith(NETWORK))).toBe(false);
    }
  });

  test("an existing data dir open to other users is pointed out, and left as it is", async () => {
    const s = setup();
    mkdirSync(s.dataDir);
    chmodSync(s.dataDir, 0o755);
    const logs = await logsOf({ HOST: "127.0.0.1", AGENTICAI_DATA_DIR: s.dataDir, AGENTICAI_CONFIG: s.configPath });
    expect(logs.find((l) => l.msg.startsWith("the data dir is open to other users"))).toMatchObject({
      level: "warn",
      data_dir: s.dataDir,
      mode: "755",
    });
    expect(mode(s.dataDir)).toBe("755");
    expect(existsSync(join(s.dataDir, "agenticai.db"))).toBe(true);
    expect(mode(join(s.dataDir, "agenticai.db"))).toBe("600");
  });
});
