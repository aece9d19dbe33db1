// A real HTTP receiver on 127.0.0.1 for webhook tests: it records every request it gets and answers
// each from a script, so a test can play a receiver that is healthy, failing, slow or rate-limited.

import type { Server } from "bun";
import { type Truthy, until } from "./until.ts";

export interface ReceivedRequest {
  /** 1 for the first request this receiver got, 2 for the next, … */
  n: number;
  method: string;
  /** The path and query, e.g. "/hooks/a?x=1". */
  path: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body exactly as it arrived (what a signature is computed over). */
  raw: string;
  /** The body parsed as JSON, or null when it is not JSON. */
  json: any;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering; Infinity never answers (until the client gives up or stop()). */
  delayMs?: number;
}

/** What a truthy value can be: `ok && list` waits for `list`. */

export type Script = (req: ReceivedRequest, n: number) => number | Answer | Promise<number | Answer>;

export interface Receiver {
  /** "http://127.0.0.1:PORT", no trailing slash. */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** How requests are answered; may be replaced at any time. */
  script: Script;
  /** Resolves with the first truthy value of `fn` over the requests so far, polling until `timeoutMs`. */
  until<T>(fn: (requests: ReceivedRequest[]) => T, timeoutMs?: number, what?: string): Promise<Truthy<T>>;
  stop(): Promise<void>;
}

const OK: Script = () => 200;

/** Listens on `port` (0: any free one). */
export function startReceiver(script: Script = OK, port = 0): Receiver {
  const requests: ReceivedRequest[] = [];
  // Answers held back by delayMs, released at stop() so the server can close.
  const held = new Set<() => void>();
  let stopped = false;

  const wait = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        held.delete(done);
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      held.add(done);
      signal.addEventListener("abort", done, { once: true });
    });

  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port,
    // A held answer must not be cut by the idle timeout: the client's own timeout is what is tested.
    idleTimeout: 0,
    async fetch(req) {
      const raw = await req.text();
      let json: unknown = null;
      try {
        json = JSON.parse(raw);
      } catch {
        json = null;
      }
      const url = new URL(req.url);
      const record: ReceivedRequest = {
        n: requests.length + 1,
        method: req.method,
        path: url.pathname + url.search,
        headers: Object.fromEntries([...req.headers].map(([k, v]) => [k.toLowerCase(), v])),
        raw,
        json,
        at: Date.now(),
      };
      requests.push(record);
      const scripted = await receiver.script(record, record.n);
      const answer: Answer = typeof scripted === "number" ? { status: scripted } : scripted;
      if (answer.delayMs) await wait(answer.delayMs, req.signal);
      if (stopped || req.signal.aborted) return new Response(null, { status: 503 });
      return new Response(answer.body ?? "", { status: answer.status, headers: answer.headers });
    },
  });

  const receiver: Receiver = {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port!,
    requests,
    script,
    async until(fn, timeoutMs = 5_000, what = "the receiver's requests") {
      try {
        return await until(() => fn(requests), what, timeoutMs);
      } catch (e) {
        const seen = requests.map((r) => `${r.method} ${r.path} ${r.json?.type ?? ""}`).join("; ");
        throw new Error(`${(e as Error).message}; got: ${seen || "nothing"}`);
      }
    },
    async stop() {
      stopped = true;
      for (const release of [...held]) release();
      await server.stop(true);
    },
  };
  return receiver;
}

/** A port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}
