// The socket to the realtime model: opened when the bridge is prepared, ready once the session is
// configured, and reopened once if it drops. A second loss is final.
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { realtimeUrl } from "../model/realtime.ts";

const CLOSE_NORMAL = 1000;

/** What to check when the handshake fails with this HTTP status (Bun's error says "Expected 101 status code: N"). */
function connectHint(error: string | undefined): string | undefined {
  const status = Number(/status code: (\d{3})/.exec(error ?? "")?.[1]);
  if (status === 401 || status === 403) return "the model refused the API key: check OPENAI_API_KEY";
  if (status === 404) return "no such model or endpoint: check openai.model and openai.base_url";
  if (status === 429) return "rate limited or out of quota at the model provider";
  if (status >= 500) return "the model provider is failing or overloaded";
  return undefined;
}

export interface ModelLinkDeps {
  config: Config;
  log: Logger;
  /** The session.update to send on open; `resumed` is true on the reconnect. */
  sessionUpdate(resumed: boolean): Promise<string>;
  onText(text: string): void;
  /** The socket was reopened after a drop. */
  onReconnect(): void;
  /** The socket could not be kept: the call cannot go on. */
  onGone(): void;
}

export interface ModelLink {
  connect(): void;
  /** Control events; dropped unless the session is ready (audio waits in the bridge's queue instead). */
  send(text: string): void;
  sendAudio(frame: string): void;
  /** Ready, and holding no more than `maxBuffered` bytes unsent. */
  writable(maxBuffered: number): boolean;
  /** session.updated arrived. True only the first time for this socket. */
  markReady(): boolean;
  /** The model refused to go on over this socket (a fatal error event): close it and treat it as lost. */
  drop(why: string): void;
  close(reason: string): void;
}

function openSocket(config: Config, log: Logger): WebSocket | null {
  try {
    return new WebSocket(realtimeUrl(config.openai.base_url, config.openai.model), {
      headers: { Authorization: `Bearer ${config.openai.api_key ?? ""}` },
    });
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
  ws.onmessage = (ev) =>
    deps.onText(typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer));
  // Bun's message names a refused handshake's status: "Expected 101 status code: 401".
  ws.onerror = (ev) => {
    failure = (ev as ErrorEvent).message || "socket error";
  };
  ws.onclose = (ev) => {
    if (!on.current()) return;
    if (opened) deps.log.warn("model socket closed", { code: ev.code, reason: ev.reason, error: failure });
    else deps.log.warn("could not connect to the model", { code: ev.code, error: failure, hint: connectHint(failure) });
    on.lost();
  };
}

export function createModelLink(deps: ModelLinkDeps): ModelLink {
  let socket: WebSocket | null = null;
  let ready = false;
  let resumed = false;
  let closed = false;
  const open = () => socket !== null && ready && socket.readyState === WebSocket.OPEN;
  const lost = () => {
    if (closed) return;
    ready = false;
    if (resumed) return deps.onGone();
    resumed = true;
    deps.onReconnect();
    connect();
  };
  /** Detaches the current socket and closes it; its close event is then not a loss. */
  const release = (reason: string) => {
    const ws = socket;
    socket = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(CLOSE_NORMAL, reason.slice(0, 120));
  };

  function connect() {
    const ws = openSocket(deps.config, deps.log);
    if (!ws) return lost();
    socket = ws;
    ready = false;
    wireSocket(ws, deps, resumed, {
      current: () => socket === ws && !closed,
      lost() {
        socket = null;
        lost();
      },
    });
  }

  return {
    connect,
    send(text) {
      if (open()) socket!.send(text);
    },
    sendAudio: (frame) => socket!.send(frame),
    writable: (maxBuffered) => open() && socket!.bufferedAmount <= maxBuffered,
    markReady() {
      if (ready) return false;
      ready = true;
      return true;
    },
    drop(why) {
      if (!socket || closed) return;
      deps.log.warn("dropping the model socket", { why });
      release(why);
      lost();
    },
    close(reason) {
      if (closed) return;
      closed = true;
      release(reason);
    },
  };
}
