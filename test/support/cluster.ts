// Real agenticai processes on one real PostgreSQL database, behind the round-robin proxy that plays the load
// balancer, with the simulated carrier and voice model in the test's process: what the tests that move calls
// between instances start from. The carrier sends each webhook on a connection of its own, so a call's webhooks
// and streams land on either instance; a backend that refuses a connection is skipped, as a balancer retries it.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { type Simulators, simulatorEnv, startSimulators } from "../../src/sim/simulators.ts";
import { tempDir } from "./app.ts";
import type { Postgres } from "./postgres.ts";
import { childApi, type ServerProcess, spawnServer } from "./process.ts";
import { type Receiver, startReceiver } from "./receiver.ts";
import { type Backend, type RoundRobinProxy, startRoundRobinProxy } from "./tcp-proxy.ts";

export interface Cluster {
  servers: ServerProcess[];
  proxy: RoundRobinProxy;
  sims: Simulators;
  receiver: Receiver;
  db: SQL;
  /** Starts one more instance on the same database and config (not put behind the proxy). */
  spawn(name: string): Promise<ServerProcess>;
  /** Puts exactly these instances behind the proxy. */
  route(...servers: ServerProcess[]): void;
}

export interface ClusterOptions {
  /** config.yaml's text, shared by every instance. */
  yaml?: string;
  instances?: number;
  speed?: number;
  record?: boolean;
}

export const backend = (s: ServerProcess): Backend => ({ host: "127.0.0.1", port: s.port });

export async function startCluster(
  pg: Postgres,
  children: Set<ServerProcess>,
  cleanups: (() => unknown)[],
  opts: ClusterOptions = {},
): Promise<Cluster> {
  const url = await pg.createDatabase();
  const db = new SQL(url);
  cleanups.push(() => db.close());
  const sims = await startSimulators({ speed: opts.speed ?? 4, freshConnections: true, record: opts.record });
  cleanups.push(() => sims.stop());
  const receiver = startReceiver(() => 204);
  cleanups.push(() => receiver.stop());
  const proxy = await startRoundRobinProxy([]);
  cleanups.push(() => proxy.stop());
  const dir = tempDir("agenticai-cluster-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, "config.yaml");
  // The tests poll the API: the per-client rate limit is not what they look at.
  const limits = "limits:\n  api_requests_per_minute: 100000\n  calls_per_minute: 100000\n";
  writeFileSync(configPath, `${limits}${opts.yaml ?? ""}`);
  const spawn = (name: string) =>
    spawnServer(
      ["server"],
      {
        HOST: "127.0.0.1",
        PORT: "0",
        DATABASE_URL: url,
        AGENTICAI_WEBHOOK_URL: proxy.url,
        AGENTICAI_DATA_DIR: join(dir, name),
        AGENTICAI_CONFIG: configPath,
        AGENTICAI_EVENTS_URL: `${receiver.url}/events`,
        ...simulatorEnv(sims),
      },
      children,
    );
  const names = ["a", "b", "c"].slice(0, opts.instances ?? 2);
  const servers = await Promise.all(names.map(spawn));
  const route = (...list: ServerProcess[]) => proxy.setBackends(list.map(backend));
  route(...servers);
  return { servers, proxy, sims, receiver, db, spawn, route };
}

/** The instance id a server names in /health. */
export const instanceId = async (s: ServerProcess) => (await childApi(s, "/health")).body.instance_id as string;

/** Which of `servers` holds the call now (the calls row's owner). */
export async function holder(c: Cluster, id: string, servers = c.servers): Promise<ServerProcess | null> {
  const [row] = await c.db`SELECT owner FROM calls WHERE id = ${id}`;
  for (const s of servers) if (s.proc.exitCode === null && (await instanceId(s)) === row?.owner) return s;
  return null;
}

/**
 * Plays the balancer's active health check: every `everyMs`, an instance whose /health is not 200 (or that does
 * not answer) is taken out of the proxy's list. Returns the function that stops checking.
 */
export function followHealth(c: Cluster, servers: ServerProcess[], everyMs = 200): () => void {
  let healthy = [...servers];
  const check = async () => {
    const next: ServerProcess[] = [];
    for (const s of healthy) {
      const ok = await fetch(`${s.url}/health`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) next.push(s);
    }
    if (next.length !== healthy.length) c.route(...next);
    healthy = next;
  };
  const timer = setInterval(() => void check(), everyMs);
  return () => clearInterval(timer);
}
