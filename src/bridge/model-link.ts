// The socket to the realtime model: opened when the bridge is prepared, ready once the session is
// configured, and reopened once if it drops. A second loss is final.
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { realtimeUrl } from "../model/realtime.ts";

const CLOSE_NORMAL = 1000;

export interface ModelLinkDeps {
  config: Config;
  log: Logger;
  /** The session.update to send on open; `resumed` is true on the reconnect. */
  sessionUpdate(resumed: boolean): string;
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
  /** This is the second socket, opened after the first dropped. */
  readonly resumed: boolean;
  close(reason: string): void;
}

export function createModelLink(deps: ModelLinkDeps): ModelLink {
  const { config, log } = deps;
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

  function connect() {
    let ws: WebSocket;
    try {
      ws = new WebSocket(realtimeUrl(config.openai.base_url, config.openai.model), {
        headers: { Authorization: `Bearer ${config.openai.api_key ?? ""}` },
      });
    } catch (e) {
      log.error("cannot open the model socket", { error: e });
      return lost();
    }
    socket = ws;
    ready = false;
    ws.onopen = () => ws.send(deps.sessionUpdate(resumed));
    ws.onmessage = (ev) =>
      deps.onText(typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer));
    ws.onclose = (ev) => {
      if (socket !== ws || closed) return;
      log.warn("model socket closed", { code: ev.code, reason: ev.reason });
      socket = null;
      lost();
    };
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
    get resumed() {
      return resumed;
    },
    close(reason) {
      if (closed) return;
      closed = true;
      const ws = socket;
      socket = null;
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(CLOSE_NORMAL, reason);
    },
  };
}
