// A relay on 127.0.0.1 in front of a PostgreSQL server that counts the round trips its clients make.
// A client waits for the server after each simple Query (`Q`) and after each Sync (`S`, which ends an
// extended-protocol exchange: Parse/Bind/Describe/Execute … Sync), so those two messages are the count.
// Queries a client pipelines before reading the answers count one each: the figure is exchanges, which
// is also how many times the server has to answer.
import type { Socket } from "bun";

export interface PgWireCounter {
  port: number;
  /** Q and S messages from every client since the relay started. */
  roundTrips(): number;
  stop(): void;
}

// The first messages of a connection have no type byte: a length, then a code that says what they are.
const SSL_REQUEST = 80877103;
const PROTOCOL_3 = 196608;
const QUERY = 0x51; // "Q"
const SYNC = 0x53; // "S"
const SSL_ACCEPTED = 0x53; // "S": TLS follows, and nothing after it can be read here.

/** Where the client's byte stream is: untyped startup messages, typed messages, or opaque (TLS, cancel). */
type Phase = "startup" | "typed" | "opaque";

/** One end of a relayed connection; `peer` is the other end, `wire` their shared parse state. */
interface Side {
  /** Null while the connection to PostgreSQL is being made. */
  socket: Socket<Side> | null;
  peer: Side;
  /** Bytes this socket's `write` has not taken yet, oldest first. */
  backlog: Uint8Array[];
  closed: boolean;
  fromClient: boolean;
  wire: Wire;
}

interface Wire {
  phase: Phase;
  /** The header of the message being read: 8 bytes in the startup phase, 5 after. */
  head: number[];
  /** Body bytes of the current message still to pass over. */
  skip: number;
  /** An SSLRequest waits for the server's one-byte answer. */
  sslAsked: boolean;
}

const int32 = (b: number[], at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** Reads the client's bytes only as far as message headers: bodies are skipped, never buffered. */
function parseClient(wire: Wire, bytes: Uint8Array, count: () => void): void {
  let i = 0;
  while (i < bytes.length && wire.phase !== "opaque") {
    if (wire.skip > 0) {
      const n = Math.min(wire.skip, bytes.length - i);
      wire.skip -= n;
      i += n;
      continue;
    }
    const size = wire.phase === "startup" ? 8 : 5;
    while (wire.head.length < size && i < bytes.length) wire.head.push(bytes[i++]!);
    if (wire.head.length < size) return;
    onHeader(wire, count);
    wire.head = [];
  }
}

function onHeader(wire: Wire, count: () => void): void {
  const h = wire.head;
  if (wire.phase === "typed") {
    // The length counts itself but not the type byte.
    wire.skip = int32(h, 1) - 4;
    if (h[0] === QUERY || h[0] === SYNC) count();
    return;
  }
  const code = int32(h, 4);
  wire.skip = int32(h, 0) - 8;
  if (code === SSL_REQUEST) wire.sslAsked = true;
  // A StartupMessage opens the typed phase; a CancelRequest (or anything else) is the connection's last word.
  else wire.phase = code === PROTOCOL_3 ? "typed" : "opaque";
}

/** The server's answer to an SSLRequest is one byte: `N` and the client goes on in plain text. */
function parseServer(wire: Wire, bytes: Uint8Array): void {
  if (!wire.sslAsked || bytes.length === 0) return;
  wire.sslAsked = false;
  if (bytes[0] === SSL_ACCEPTED) wire.phase = "opaque";
}

function newPair(client: Socket<Side>): Side {
  const wire: Wire = { phase: "startup", head: [], skip: 0, sslAsked: false };
  const clientSide = { socket: client, backlog: [], closed: false, fromClient: true, wire } as unknown as Side;
  clientSide.peer = { socket: null, peer: clientSide, backlog: [], closed: false, fromClient: false, wire };
  return clientSide;
}

/** What `to` does not take now waits in its backlog, and the sender is paused until `to` drains. */
function send(to: Side, bytes: Uint8Array): void {
  if (to.closed) return;
  let rest = bytes;
  if (to.socket && to.backlog.length === 0) rest = bytes.subarray(Math.max(0, to.socket.write(bytes)));
  if (rest.length === 0) return;
  // A copy: Bun may reuse the chunk's memory once the data callback returns.
  to.backlog.push(new Uint8Array(rest));
  to.peer.socket?.pause();
}

/** Writes what the socket takes of its backlog, and lets the sender go on once all of it is out. */
function flush(side: Side): void {
  const socket = side.socket;
  if (!socket || side.closed) return;
  while (side.backlog.length > 0) {
    const chunk = side.backlog[0]!;
    const written = Math.max(0, socket.write(chunk));
    if (written < chunk.length) {
      side.backlog[0] = chunk.subarray(written);
      return;
    }
    side.backlog.shift();
  }
  side.peer.socket?.resume();
}

function close(side: Side): void {
  if (side.closed) return;
  side.closed = true;
  side.backlog = [];
  const peer = side.peer;
  if (peer.closed) return;
  // The relay carries a database session: once one end is gone the other has nothing left to say.
  peer.closed = true;
  peer.socket?.end();
}

/** Listens on a free loopback port and relays every connection to PostgreSQL at 127.0.0.1:`pgPort`. */
export function startPgWireCounter(pgPort: number): PgWireCounter {
  let roundTrips = 0;
  const count = () => void roundTrips++;
  const open = new Set<Side>();
  const handlers = {
    data(socket: Socket<Side>, bytes: Uint8Array) {
      const side = socket.data;
      if (side.fromClient) parseClient(side.wire, bytes, count);
      else parseServer(side.wire, bytes);
      send(side.peer, bytes);
    },
    drain: (socket: Socket<Side>) => flush(socket.data),
    close(socket: Socket<Side>) {
      open.delete(socket.data);
      close(socket.data);
    },
    // A reset and the like: close follows and does the work.
    error: () => {},
  };
  const opened = (socket: Socket<Side>) => {
    socket.data.socket = socket;
    open.add(socket.data);
    flush(socket.data);
  };
  const listener = Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      ...handlers,
      open(client) {
        client.data = newPair(client);
        open.add(client.data);
        const upstream = client.data.peer;
        Bun.connect<Side>({
          hostname: "127.0.0.1",
          port: pgPort,
          data: upstream,
          socket: { ...handlers, open: opened },
        })
          // PostgreSQL is not there: the client learns it from its own connection closing.
          .catch(() => close(upstream));
      },
    },
  });
  return {
    port: listener.port,
    roundTrips: () => roundTrips,
    stop() {
      listener.stop(true);
      for (const side of open) side.socket?.terminate();
      open.clear();
    },
  };
}
