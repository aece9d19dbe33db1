// The round-robin proxy the multi-instance tests put in front of their servers, checked against real servers:
// if it lost bytes or mixed up connections, those tests would fail for the wrong reason.
import { afterEach, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { closedPort } from "./receiver.ts";
import { type RoundRobinProxy, startRoundRobinProxy } from "./tcp-proxy.ts";
import { until } from "./until.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server answering its own name, echoing POST bodies and WebSocket messages back. */
function namedServer(name: string): Server<undefined> {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, srv) {
      if (srv.upgrade(req, { data: undefined })) return;
      if (req.method === "POST") return new Response(await req.arrayBuffer());
      return new Response(name);
    },
    websocket: {
      message(ws, message) {
        ws.send(`${name}: ${message}`);
      },
    },
  });
  cleanups.push(() => server.stop(true));
  return server;
}

/** getRandomValues fills at most 64 KiB at a time. */
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  return bytes;
}

const backend = (server: Server<undefined>) => ({ host: "127.0.0.1", port: server.port! });

async function proxyTo(...backends: { host: string; port: number }[]): Promise<RoundRobinProxy> {
  const proxy = await startRoundRobinProxy(backends);
  cleanups.push(() => proxy.stop());
  return proxy;
}

/** One request on a connection of its own, so the proxy picks the next backend for it. */
async function nameBehind(proxy: RoundRobinProxy): Promise<string> {
  const res = await fetch(proxy.url, { headers: { Connection: "close" } });
  return res.text();
}

describe("startRoundRobinProxy", () => {
  test("sends each new connection to the next backend in turn", async () => {
    const proxy = await proxyTo(backend(namedServer("a")), backend(namedServer("b")));
    const names = [];
    for (let i = 0; i < 4; i++) names.push(await nameBehind(proxy));
    expect(names).toEqual(["a", "b", "a", "b"]);
    expect(proxy.connections).toEqual([2, 2]);
  });

  test("carries a WebSocket both ways, on the backend its connection went to", async () => {
    const proxy = await proxyTo(backend(namedServer("a")), backend(namedServer("b")));
    const replies: string[] = [];
    const open = (ws: WebSocket) =>
      new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error("WebSocket through the proxy failed"));
        ws.onmessage = (e) => replies.push(String(e.data));
      });
    const first = new WebSocket(`ws://127.0.0.1:${proxy.port}/twilio/media-stream`);
    const second = new WebSocket(`ws://127.0.0.1:${proxy.port}/twilio/media-stream`);
    await Promise.all([open(first), open(second)]);
    first.send("hello");
    await until(() => replies.length === 1, "the first echo");
    second.send("again");
    await until(() => replies.length === 2, "the second echo");
    expect(replies).toEqual(["a: hello", "b: again"]);
    first.close();
    second.close();
  });

  test("skips a backend that refuses the connection, and setBackends replaces the list", async () => {
    const a = backend(namedServer("a"));
    const dead = { host: "127.0.0.1", port: await closedPort() };
    const proxy = await proxyTo(a, dead, backend(namedServer("c")));
    const names = [];
    for (let i = 0; i < 6; i++) names.push(await nameBehind(proxy));
    expect(names.filter((n) => n !== "a" && n !== "c")).toEqual([]);
    expect(proxy.connections[1]).toBe(0);
    expect(proxy.connections[0]! + proxy.connections[2]!).toBe(6);

    proxy.setBackends([a]);
    expect(proxy.connections).toEqual([0]);
    expect([await nameBehind(proxy), await nameBehind(proxy)]).toEqual(["a", "a"]);
    expect(proxy.connections).toEqual([2]);
  });

  test("a request a backend closes on without answering goes to the next backend, once", async () => {
    // A process dying with the connection in its listen queue: accepted, the request read, then closed.
    const dying = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (socket) => void socket.end() },
    });
    cleanups.push(() => dying.stop(true));
    const dead = { host: "127.0.0.1", port: dying.port };
    const proxy = await proxyTo(dead, backend(namedServer("b")));
    const res = await fetch(proxy.url, { method: "POST", body: "the request", headers: { Connection: "close" } });
    expect(await res.text()).toBe("the request");
    const twice = await proxyTo(dead, dead, backend(namedServer("c")));
    const failed = await fetch(twice.url, { method: "POST", body: "x", headers: { Connection: "close" } }).catch(
      (e: Error) => e,
    );
    expect(failed).toBeInstanceOf(Error);
  });

  test("closes the client's connection when no backend accepts it", async () => {
    const proxy = await proxyTo({ host: "127.0.0.1", port: await closedPort() });
    await expect(fetch(proxy.url, { headers: { Connection: "close" } })).rejects.toThrow();
  });

  test("carries a 5 MB body up and back intact", async () => {
    const proxy = await proxyTo(backend(namedServer("a")));
    const body = randomBytes(5 * 1024 * 1024);
    const res = await fetch(proxy.url, { method: "POST", body, headers: { Connection: "close" } });
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.length).toBe(body.length);
    expect(Bun.hash(back)).toBe(Bun.hash(body));
  });

  test("holds a backend's 5 MB for a client that is not reading yet, and loses none of it", async () => {
    const body = randomBytes(5 * 1024 * 1024);
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(body) });
    cleanups.push(() => server.stop(true));
    const proxy = await proxyTo(backend(server));
    const chunks: Uint8Array[] = [];
    let closed = false;
    const client = await Bun.connect({
      hostname: "127.0.0.1",
      port: proxy.port,
      socket: {
        // Not reading fills the proxy's socket to this client: the rest has to wait in the proxy.
        open(socket) {
          socket.pause();
        },
        data(_, bytes) {
          chunks.push(new Uint8Array(bytes));
        },
        close() {
          closed = true;
        },
      },
    });
    client.write("GET / HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");
    await Bun.sleep(200);
    expect(chunks).toEqual([]);
    client.resume();
    await until(() => closed, "the response to end");
    const raw = Buffer.concat(chunks);
    const payload = raw.subarray(raw.indexOf("\r\n\r\n") + 4);
    expect(payload.length).toBe(body.length);
    expect(Bun.hash(payload)).toBe(Bun.hash(body));
  });

  test("a backend closing the connection closes the client's, and the other way round", async () => {
    const accepted: { closed: boolean }[] = [];
    const hangUp = Bun.listen<{ closed: boolean }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(socket) {
          socket.data = { closed: false };
          accepted.push(socket.data);
          // The first connection is closed by the backend, the second is left for the client to close.
          if (accepted.length === 1) socket.end();
        },
        data: () => {},
        close: (socket) => {
          socket.data.closed = true;
        },
      },
    });
    cleanups.push(() => hangUp.stop(true));
    const proxy = await proxyTo({ host: "127.0.0.1", port: hangUp.port });

    let clientClosed = false;
    await Bun.connect({
      hostname: "127.0.0.1",
      port: proxy.port,
      socket: {
        data() {},
        close() {
          clientClosed = true;
        },
      },
    });
    await until(() => clientClosed, "the client's connection to close after the backend's");

    const client = await Bun.connect({ hostname: "127.0.0.1", port: proxy.port, socket: { data: () => {} } });
    await until(() => accepted.length === 2, "the second connection to reach the backend");
    client.end();
    await until(() => accepted[1]!.closed, "the backend's connection to close after the client's");
  });
});
