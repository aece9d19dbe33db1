// The media stream's socket events, as Bun.serve takes them. The server listens with these before the call service
// has loaded: no socket exists before the upgrade (media.ts), which waits for it, and each socket's data carries
// what reads its `start`, so this module needs none of it.
import type { ServerWebSocket, WebSocketHandler } from "bun";
import type { Bridge } from "../bridge/bridge.ts";
import type { CallerLine } from "../bridge/caller-audio.ts";

export interface MediaSocketData {
  bridge: Bridge | null;
  /** The bridge's caller line, which reads what Twilio sends: every frame of the call comes through here. */
  line: CallerLine | null;
  startTimer: ReturnType<typeof setTimeout> | null;
  /** While a `start` is being admitted: the messages that came after it, for its bridge, in order. */
  held: string[] | null;
  closed: boolean;
  /** Reads a message that came before the socket's `start` was admitted (media.ts). */
  onStart: (ws: ServerWebSocket<MediaSocketData>, text: string) => void;
}

const START_TIMEOUT_MS = 5_000;
/** Twilio's frames are a few hundred bytes; anything near this is not Twilio. */
export const MAX_MEDIA_MESSAGE = 64 * 1024;
export const POLICY_VIOLATION = 1008;

export function mediaSocketHandler(): WebSocketHandler<MediaSocketData> {
  return {
    maxPayloadLength: MAX_MEDIA_MESSAGE,
    // Backpressure is handled per call by dropping audio, not by Bun closing the socket.
    backpressureLimit: 16 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    open(ws) {
      ws.data.startTimer = setTimeout(() => ws.close(POLICY_VIOLATION, "no valid start message"), START_TIMEOUT_MS);
    },
    message(ws, message) {
      // Twilio sends text frames only; a binary frame is not Twilio and carries nothing to act on.
      if (typeof message !== "string") return;
      // The socket's data is read once: each read of it is a call into the runtime.
      const data = ws.data;
      const line = data.line;
      if (line !== null) line.read(line, message);
      else if (data.held) data.held.push(message);
      else data.onStart(ws, message);
    },
    drain(ws) {
      ws.data.bridge?.onTwilioDrain();
    },
    close(ws) {
      const data = ws.data;
      data.closed = true;
      if (data.startTimer) clearTimeout(data.startTimer);
      data.bridge?.onTwilioClosed();
      data.bridge = null;
      data.line = null;
    },
  };
}
