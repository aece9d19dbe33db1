// HTTP/1.1 over a plain socket, for what fetch will not do: send a path exactly as written (fetch resolves
// dot-segments first), send no Host or a broken one, or connect from a chosen local address (on Linux every
// 127.0.0.0/8 address is loopback, so 127.0.0.2 is a second client of a server on 127.0.0.1).
import { connect, type Socket } from "node:net";

export interface RawOptions {
  method?: string;
  /** Request headers as sent; Host defaults to the URL's unless given here (null: none at all). */
  headers?: Record<string, string | null>;
  body?: string;
  localAddress?: string;
  /** HTTP/1.0 instead of 1.1. */
  http10?: boolean;
}

export interface RawHead {
  status: number;
  headers: Headers;
}

function requestText(url: URL, path: string, opts: RawOptions): string {
  const headers: Record<string, string | null> = { Host: url.host, Connection: "close", ...opts.headers };
  if (opts.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(opts.body));
  const lines = Object.entries(headers).flatMap(([k, v]) => (v === null ? [] : [`${k}: ${v}`]));
  return `${opts.method ?? "GET"} ${path} HTTP/1.${opts.http10 ? 0 : 1}\r\n${lines.join("\r\n")}\r\n\r\n${opts.body ?? ""}`;
}

function parseHead(text: string): RawHead {
  const [statusLine, ...lines] = text.split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine!.split(" ")[1]), headers };
}

function dechunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

function open(base: string, path: string, opts: RawOptions): Socket {
  const url = new URL(base);
  const socket = connect({ host: url.hostname, port: Number(url.port), localAddress: opts.localAddress });
  socket.setEncoding("utf8");
  socket.on("connect", () => socket.write(requestText(url, path, opts)));
  return socket;
}

/** One whole request and answer (the server closes the connection after it). */
export function rawRequest(base: string, path: string, opts: RawOptions = {}): Promise<RawHead & { body: string }> {
  const socket = open(base, path, opts);
  let text = "";
  socket.on("data", (chunk: string) => {
    text += chunk;
  });
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("close", () => {
      const split = text.indexOf("\r\n\r\n");
      const head = parseHead(text.slice(0, split));
      const raw = text.slice(split + 4);
      resolve({ ...head, body: head.headers.get("transfer-encoding") === "chunked" ? dechunk(raw) : raw });
    });
  });
}

/** A request whose answer may stay open (a live stream): resolves once the head is in; `close` hangs up. */
export function rawStream(base: string, path: string, opts: RawOptions = {}): Promise<RawHead & { close(): void }> {
  const socket = open(base, path, opts);
  let text = "";
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("data", (chunk: string) => {
      text += chunk;
      const split = text.indexOf("\r\n\r\n");
      if (split < 0) return;
      socket.removeAllListeners("data");
      socket.on("data", () => {});
      resolve({ ...parseHead(text.slice(0, split)), close: () => socket.destroy() });
    });
    socket.on("close", () => reject(new Error(`closed before an answer: ${text}`)));
  });
}
