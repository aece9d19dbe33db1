// The socket to the realtime model: opened when the bridge is prepared, ready once the session is
// configured, and reopened once if it drops. A second loss is final. A server that says it will close the
// socket (Gemini's goAway, about every 10 minutes) gets a new one that resumes the session: the old one
// keeps sending what it has until the new one is ready, so the caller hears no gap, and that is no loss.
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { ModelProtocol } from "../model/protocol.ts";

const CLOSE_NORMAL = 1000;

/** What to check when the handshake fails with this HTTP status (Bun's error says "Expected 101 status code: N"). */
function connectHint(error: string | undefined, protocol: ModelProtocol): string | undefined {
  const status = Number(/status code: (\d{3})/.exec(error ?? "")?.[1]);
  const section = protocol.provider === "google" ? "gemini" : "openai";
  if (status === 401 || status === 403) return `the model refused the API key: ${protocol.keyHint}`;
  if (status === 404) return `no such model or endpoint: check ${section}.model and ${section}.base_url`;
  if (status === 429) return "rate limited or out of quota at the model provider";
  if (status >= 500) return "the model provider is failing or overloaded";
  return undefined;
}

export interface ModelLinkDeps {
  config: Config;
  log: Logger;
  protocol: ModelProtocol;
  /** The session set-up to send on open; `resumed` is true on the reconnect (and a renewal). */
  sessionUpdate(resumed: boolean): Promise<string>;
  /**
   * What reads the model's messages: asked for as each socket is wired (the bridge makes it after its link), and
   * handed each message directly.
   */
  reader(): (data: string | ArrayBuffer) => void;
  /** The socket the caller's audio goes to now: the one whose session is ready, or null while none is. */
  audioTo(ws: WebSocket | null): void;
  /** The socket was reopened after a drop. */
  onReconnect(): void;
  /** The socket could not be kept: the call cannot go on. */
  onGone(): void;
}

export interface ModelLink {
  connect(): void;
  /** Control events; dropped unless the session is ready (audio waits in the bridge's queue instead); null: none. */
  send(text: string | null): void;
  /** session.updated arrived. True only the first time for this socket. */
  markReady(): boolean;
  /** The model refused to go on over this socket (a fatal error event): close it and treat it as lost. */
  drop(why: string): void;
  /** The server will close this socket soon: open another that resumes the session, and switch once it is ready. */
  renew(): void;
  close(reason: string): void;
}

function openSocket(protocol: ModelProtocol, log: Logger): WebSocket | null {
  try {
    const { url, headers } = protocol.socket();
    const ws = new WebSocket(url, headers ? { headers } : undefined);
    // Gemini sends its JSON as binary frames: no Blob to wait on per message.
    ws.binaryType = "arraybuffer";
    return ws;
  } catch (e) {
    log.error("cannot open the model socket", { error: e });
    return null;
  }
}

/** One socket's handlers: session.update once open, text to the bridge, and a log line that says why it closed. */
function wireSocket(
  ws: WebSocket,
  deps: ModelLinkDeps,
  resumed: boolean,
  on: { current(): boolean; lost(): void },
): void {
  let opened = false;
  let failure: string | undefined;
  ws.onopen = () => {
    opened = true;
    deps
      .sessionUpdate(resumed)
      .then((update) => {
        if (on.current() && ws.readyState === WebSocket.OPEN) ws.send(update);
      })
      .catch((error: unknown) => deps.log.error("configuring the model session failed", { error }));
  };
  const read = deps.reader();
  ws.onmessage = (ev) => read(ev.data as string | ArrayBuffer);
  // Bun's message names a refused handshake's status: "Expected 101 status code: 401".
  ws.onerror = (ev) => {
    failure = (ev as ErrorEvent).message || "socket error";
  };
  ws.onclose = (ev) => {
    if (!on.current()) return;
    if (opened) deps.log.warn("model socket closed", { code: ev.code, reason: ev.reason, error: failure });
    else {
      const hint = connectHint(failure, deps.protocol);
      deps.log.warn("could not connect to the model", { code: ev.code, error: failure, hint });
    }
    on.lost();
  };
}

export function createModelLink(deps: ModelLinkDeps): ModelLink {
  let socket: WebSocket | null = null;
  /** The socket that resumes the session on a renewal, until its session is ready. */
  let next: WebSocket | null = null;
  /** Sockets a renewal replaced: they send what they still have until the server closes them. */
  const retired = new Set<WebSocket>();
  let ready = false;
  let resumed = false;
  let closed = false;
  const open = () => socket !== null && ready && socket.readyState === WebSocket.OPEN;
  let audioTo: WebSocket | null = null;
  /** Tells the caller's audio where to go whenever the socket or its readiness changes. */
  const announce = () => {
    const now = ready && !closed ? socket : null;
    if (now === audioTo) return;
    audioTo = now;
    deps.audioTo(now);
  };
  const lost = () => {
    if (closed) return;
    ready = false;
    announce();
    if (resumed) return deps.onGone();
    resumed = true;
    deps.onReconnect();
    connect();
  };
  /** Detaches the current socket and closes it; its close event is then not a loss. */
  const release = (reason: string) => {
    const ws = socket;
    socket = null;
    announce();
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(CLOSE_NORMAL, reason.slice(0, 120));
  };

  function connect() {
    const ws = openSocket(deps.protocol, deps.log);
    if (!ws) return lost();
    socket = ws;
    ready = false;
    announce();
    wireSocket(ws, deps, resumed, {
      current: () => socket === ws && !closed,
      lost() {
        socket = null;
        announce();
        lost();
      },
    });
  }

  /** A renewal's socket is ready: it takes over, and the old one is left to finish and be closed by the server. */
  function switchToNext(): void {
    if (socket) retired.add(socket);
    socket = next;
    next = null;
    announce();
  }

  return {
    connect,
    send(text) {
      if (text !== null && open()) socket!.send(text);
    },
    markReady() {
      if (next) {
        switchToNext();
        return false;
      }
      if (ready) return false;
      ready = true;
      announce();
      return true;
    },
    drop(why) {
      if (!socket || closed) return;
      deps.log.warn("dropping the model socket", { why });
      release(why);
      lost();
    },
    renew() {
      if (closed || next || !socket) return;
      const ws = openSocket(deps.protocol, deps.log);
      // Without a new socket the old one goes on; its close is then a loss like any other.
      if (!ws) return;
      next = ws;
      deps.log.info("the model will close its socket soon: resuming the session on a new one");
      wireSocket(ws, deps, true, {
        current: () => (next === ws || socket === ws) && !closed,
        lost() {
          if (next === ws) next = null;
          else {
            socket = null;
            announce();
            lost();
          }
        },
      });
    },
    close(reason) {
      if (closed) return;
      closed = true;
      release(reason);
      for (const ws of [next, ...retired]) if (ws && ws.readyState <= WebSocket.OPEN) ws.close(CLOSE_NORMAL);
      next = null;
      retired.clear();
    },
  };
}
