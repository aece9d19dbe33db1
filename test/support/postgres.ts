// A real PostgreSQL server for a test file: initdb into a temp dir, started with pg_ctl on a free port,
// a fresh database per test. fsync is off: the data dies with the test, and start-up stays at a second or two.
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";

export interface Postgres {
  /** A URL for database `dbName` on this server, as the superuser `postgres`. */
  url(dbName: string): string;
  /** Creates a database, empty or a copy of the one at `templateUrl` (which no one may be connected to). */
  createDatabase(templateUrl?: string): Promise<string>;
  stop(): Promise<void>;
}

/** initdb from Debian's versioned dir (newest first), else from PATH; null when PostgreSQL is not installed. */
function findBinDir(): string | null {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  const found = Bun.which("initdb");
  return found ? join(found, "..") : null;
}

/** uid and gid of the `postgres` user that Debian's package creates. */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error("PostgreSQL refuses to run as root, and there is no `postgres` user to run it as");
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** initdb and pg_ctl refuse to run as root: then they run as `postgres`. */
const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool to completion. */
function spawnTool(bin: string, tool: string, args: string[]) {
  const cmd = [join(bin, tool), ...args];
  const argv = asRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
  return spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 30_000 });
}

function run(bin: string, tool: string, args: string[]): void {
  const r = spawnTool(bin, tool, args);
  if (r.status !== 0) throw new Error(`${tool} failed (${r.status}): ${r.stderr || r.stdout || r.error}`);
}

/** A port nothing listens on now; PostgreSQL binds it a moment later, which a parallel run could race. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function initCluster(bin: string, dir: string): string {
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  run(bin, "initdb", ["-A", "trust", "-U", "postgres", "-D", data, "--no-sync", "--no-instructions", "-E", "UTF8"]);
  return data;
}

function startServer(bin: string, dir: string, data: string, port: number): void {
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
  ];
  run(bin, "pg_ctl", ["start", "-w", "-s", "-D", data, "-l", join(dir, "log"), "-o", settings.join(" ")]);
}

/** A cluster in a new temp dir, started on a free port; the dir is removed again if that fails. */
async function launch(bin: string): Promise<{ dir: string; data: string; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), "agenticai-pg-"));
  try {
    const data = initCluster(bin, dir);
    let port = await freePort();
    try {
      startServer(bin, dir, data, port);
    } catch {
      // Someone took the port between the probe and the bind: one more try on another.
      port = await freePort();
      startServer(bin, dir, data, port);
    }
    return { dir, data, port };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Starts a server and stops it when the process exits, even if a test forgets to (a crashed test file
 * would otherwise leave a postmaster behind). Fails, not skips, when PostgreSQL is missing: the store suite
 * for PostgreSQL is part of the tests.
 */
export async function startPostgres(): Promise<Postgres> {
  const bin = findBinDir();
  if (!bin) throw new Error("PostgreSQL is not installed (no initdb): apt-get install postgresql");
  const { dir, data, port } = await launch(bin);
  let stopped = false;
  const halt = () => {
    if (stopped) return;
    stopped = true;
    spawnTool(bin, "pg_ctl", ["stop", "-s", "-m", "immediate", "-D", data]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", halt);
  const url = (dbName: string) => `postgres://postgres@127.0.0.1:${port}/${dbName}`;
  const admin = new SQL(url("postgres"), { max: 1 });
  let databases = 0;
  return {
    url,
    async createDatabase(templateUrl) {
      const name = `test_${++databases}`;
      const template = templateUrl ? new URL(templateUrl).pathname.slice(1) : "template1";
      // FILE_COPY copies the small template's files: faster than WAL-logging them (PostgreSQL 15's default).
      await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`);
      return url(name);
    },
    async stop() {
      await admin.close();
      halt();
    },
  };
}
