// A round-robin TCP proxy on 127.0.0.1 standing in for the load balancer in front of several agenticai
// instances: each new client connection goes to the next backend in turn, so anything that opens its own
// connection (a webhook, the media-stream WebSocket) may land on a different instance than the last one.
//
// It balances connections, not requests. Bun's fetch keeps connections alive and would send one client's
// requests down the same connection to the same backend; a test that wants each request on a new connection
// (and so on the next backend) sends `Connection: close`.
//
// A backend that refuses the connection is skipped for that connection (the next one is tried), as a load
// balancer's health check would have taken it out; setBackends() swaps the list, e.g. after killing one. A backend
// that closes a connection before answering a byte (a process dying with the connection in its listen queue) has
// what the client sent replayed to the next one, once, as HAProxy's `retry-on empty-response` does.

import type { Socket } from "bun";

export interface Backend {
  host: string;
  port: number;
}

export interface RoundRobinProxy {
  port: number;
  /** "http://127.0.0.1:PORT", no trailing slash. */
  url: string;
  /** connections[i]: client connections sent to backends[i] (reset by setBackends). */
  connections: number[];
  setBackends(backends: Backend[]): void;
  /** Stops listening and cuts every connection still open, both ways. */
  stop(): Promise<void>;
}

/** One end of a proxied connection; `peer` is the other end. */
interface Side {
  /** Null while the backend connection is being made. */
  socket: Socket<Side> | null;
  peer: Side;
  /** Bytes for this socket that its `write` has not taken yet, oldest first. */
  backlog: Uint8Array[];
  /** The peer has closed: end this socket once its backlog is written. */
  ending: boolean;
  closed: boolean;
  /** A backend's side until it answers: everything sent to it, to replay to the next backend if it closes first. */
  unanswered: Uint8Array[] | null;
}

function newPair(client: Socket<Side>): Side {
  const clientSide = { socket: client, backlog: [], ending: false, closed: false, unanswered: null } as unknown as Side;
  const backendSide: Side = {
    socket: null,
    peer: clientSide,
    backlog: [],
    ending: false,
    closed: false,
    unanswered: [],
  };
  clientSide.peer = backendSide;
  return clientSide;
}

/** Writes what the socket takes of its backlog; false when some is left for its next drain. */
function flush(side: Side): boolean {
  const socket = side.socket;
  if (!socket || side.closed) return side.backlog.length === 0;
  while (side.backlog.length > 0) {
    const chunk = side.backlog[0]!;
    const written = Math.max(0, socket.write(chunk));
    if (written < chunk.length) {
      side.backlog[0] = chunk.subarray(written);
      return false;
    }
    side.backlog.shift();
  }
  if (side.ending) socket.end();
  return true;
}

/** What `to` does not take now waits in its backlog, and the sender is paused until `to` drains. */
function send(to: Side, bytes: Uint8Array) {
  if (to.closed) return;
  to.unanswered?.push(new Uint8Array(bytes));
  let rest = bytes;
  if (to.socket && to.backlog.length === 0) rest = bytes.subarray(Math.max(0, to.socket.write(bytes)));
  if (rest.length === 0) return;
  // A copy: Bun may reuse the chunk's memory once this data callback returns.
  to.backlog.push(new Uint8Array(rest));
  to.peer.socket?.pause();
}

function onDrain(side: Side) {
  if (flush(side)) side.peer.socket?.resume();
}

function onClose(side: Side) {
  if (side.closed) return;
  side.closed = true;
  side.backlog = [];
  const peer = side.peer;
  if (peer.closed) return;
  peer.ending = true;
  // Paused, it would not read the FIN that completes its own close; what it reads now goes nowhere.
  peer.socket?.resume();
  // A backend still connecting is ended as soon as it opens (its first flush).
  if (peer.socket && peer.backlog.length === 0) peer.socket.end();
}

export async function startRoundRobinProxy(initial: Backend[]): Promise<RoundRobinProxy> {
  let backends = [...initial];
  const connections = backends.map(() => 0);
  // Every side with a socket, for stop() to cut.
  const open = new Set<Side>();
  let turn = 0;

  const pipe = {
    data: (socket: Socket<Side>, bytes: Uint8Array) => {
      socket.data.unanswered = null;
      send(socket.data.peer, bytes);
    },
    drain: (socket: Socket<Side>) => onDrain(socket.data),
    close: (socket: Socket<Side>) => {
      open.delete(socket.data);
      if (!retried(socket.data)) onClose(socket.data);
    },
    // A reset and the like: close follows and does the work.
    error: () => {},
  };

  /** Tries each backend once, starting with this connection's turn; false when none accepts. */
  async function connectBackend(side: Side): Promise<boolean> {
    const list = backends;
    const start = turn++;
    for (let i = 0; i < list.length; i++) {
      const index = (start + i) % list.length;
      const { host, port } = list[index]!;
      const opened = (socket: Socket<Side>) => {
        side.socket = socket;
        open.add(side);
        onDrain(side);
      };
      try {
        await Bun.connect<Side>({ hostname: host, port, data: side, socket: { ...pipe, open: opened } });
      } catch {
        continue;
      }
      // Not counted against a list setBackends replaced meanwhile.
      if (list === backends) connections[index]!++;
      return true;
    }
    return false;
  }

  /** A backend that closed before answering a request: the request goes to the next backend instead, once. */
  function retried(side: Side): boolean {
    const sent = side.unanswered;
    if (!sent?.length || side.peer.closed || side.closed) return false;
    side.socket = null;
    side.backlog = [...sent];
    side.unanswered = null;
    void connectBackend(side).then((connected) => {
      if (!connected) onClose(side);
    });
    return true;
  }

  async function onClientOpen(client: Socket<Side>) {
    const side = newPair(client);
    client.data = side;
    open.add(side);
    // Held until the backend is there: what the client sends meanwhile would only pile up here.
    client.pause();
    const connected = await connectBackend(side.peer);
    if (side.closed) return;
    if (connected) client.resume();
    else client.end();
  }

  const listener = Bun.listen<Side>({ hostname: "127.0.0.1", port: 0, socket: { ...pipe, open: onClientOpen } });

  return {
    port: listener.port,
    url: `http://127.0.0.1:${listener.port}`,
    connections,
    setBackends(next) {
      backends = [...next];
      connections.splice(0, connections.length, ...next.map(() => 0));
    },
    async stop() {
      listener.stop(true);
      for (const side of open) side.socket?.terminate();
      open.clear();
    },
  };
}
