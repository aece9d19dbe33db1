// One call's audio bridge: Twilio's media stream on one side, the realtime model on the other.
// Audio passes through as base64 text (μ-law both ways by default); everything else — barge-in,
// transcripts, the end_call tool, reconnects, limits — is decided here, per call, on the event loop.
import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import type { Store } from "../calls/store.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { base64Bytes, createPcm24ToUlaw, createUlawToPcm24 } from "../media/transcode.ts";
import {
  appendMessage,
  audioDelta,
  clientEvent,
  isTranscriptDelta,
  realtimeUrl,
  sessionConfig,
} from "../model/realtime.ts";
import {
  ControlMessage,
  clearMessage,
  markMessage,
  markName,
  mediaMessage,
  mediaPayload,
  mediaTimestamp,
  type StartMessage,
} from "../twilio/media.ts";
import { detached } from "../wire/json-field.ts";
import { addUsage, type CallMetrics, createMetrics } from "./metrics.ts";
import { audioSent, createPlayback, forgetPending, interrupt, isPlaying, markPlayed } from "./playback.ts";

/** The Twilio side as the bridge sees it: Bun's ServerWebSocket fits. */
export interface TwilioSocket {
  send(text: string): number;
  /** Sends made inside go out in one write. */
  cork(callback: () => void): unknown;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
}

export interface BridgeCall {
  id: string;
  direction: "outbound" | "inbound";
  prompt: string;
}

export interface BridgeDeps {
  config: Config;
  log: Logger;
  store: Store;
  call: BridgeCall;
  /** Ends the call through Twilio with this end reason. */
  hangup(reason: string): Promise<unknown>;
  /** Plays a short apology through Twilio and hangs up; used when the model is gone for good. */
  apologize(reason: string): Promise<unknown>;
  /** The bridge is finished: both sockets are closed and its metrics stored. */
  onClosed(): void;
}

export interface Bridge {
  readonly callId: string;
  attach(twilio: TwilioSocket, start: StartMessage): void;
  onTwilioText(text: string): void;
  /** Twilio's socket has room again after backpressure. */
  onTwilioDrain(): void;
  onTwilioClosed(): void;
  close(reason: string): void;
  metrics(): CallMetrics;
}

const MODEL_CLOSE_NORMAL = 1000;
const FRAME_MS = 20;
/** Timestamp jumps up to this are filled with silence; a longer one is not a congestion gap. */
const MAX_GAP_MS = 2_000;
/** Bound on waiting for the goodbye to play before hanging up anyway. */
const HANGUP_GRACE_MS = 10_000;
/** A prepared bridge whose media stream never arrives is abandoned after this. */
const STREAM_WAIT_MS = 30_000;

type PendingOut = { responseId: string; itemId: string; payload: string; bytes: number };

export function createBridge(deps: BridgeDeps): Bridge {
  const { config, log, store, call } = deps;
  const metrics = createMetrics();
  const playback = createPlayback();
  const pcm = config.audio.format === "pcm";
  const toModel = pcm ? createUlawToPcm24() : null;
  const toTwilio = pcm ? createPcm24ToUlaw() : null;
  // Bytes a socket may hold before audio waits in our own queue: μ-law is 8 B/ms, base64 and JSON
  // add ~1.4×, pcm 24 kHz 6× more. Our queues hold at most max_buffered_ms more and drop the oldest.
  const maxBuffered = config.audio.max_buffered_ms * 8 * 1.5 * (pcm ? 6 : 1);
  const maxQueuedFrames = Math.ceil(config.audio.max_buffered_ms / FRAME_MS);
  const maxQueuedBytes = config.audio.max_buffered_ms * 8;
  const preparedAt = performance.now();

  let model: WebSocket | null = null;
  let modelReady = false;
  let reconnected = false;
  let closed = false;
  let twilio: TwilioSocket | null = null;
  let streamSid = "";
  let attachedAt = 0;
  // Audio that cannot be sent yet: before the model session is ready or the stream has started, and
  // while a socket is backed up. Stale audio is worth less than fresh, so the oldest goes first.
  const inQueue: string[] = [];
  const outQueue: PendingOut[] = [];
  let outQueuedBytes = 0;
  let activeResponse: string | null = null;
  let speechStoppedAt: number | null = null;
  let awaitingFirstDelta = false;
  // When each turn began, until its transcript is stored: a long call must not keep every turn's entry.
  const callerStarted = new Map<string, number>();
  const agentStarted = new Map<string, number>();
  let hangupPending: { toolCallId: string; responseId: string | null; reason: string } | null = null;
  let hangingUp = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const modelOpen = () => model !== null && modelReady && model.readyState === WebSocket.OPEN;

  /** Control events; audio goes through the bounded queue below instead. */
  const sendModel = (text: string) => {
    if (modelOpen()) model!.send(text);
  };

  const saveMetrics = () => store.saveMetrics(call.id, JSON.stringify(metrics), Date.now());

  const instructions = (withHistory: boolean) => {
    const parts = [config.agent.preamble, call.prompt].filter(Boolean);
    if (withHistory) {
      const turns = store.transcript(call.id).map((t) => `${t.role === "agent" ? "You" : "Caller"}: ${t.text}`);
      if (turns.length)
        parts.push(
          `The call was briefly interrupted by a technical problem. The conversation so far:\n${turns.join("\n")}\nContinue from there.`,
        );
    }
    return parts.join("\n\n");
  };

  // ── model → Twilio ────────────────────────────────────────────────────────────────────────────
  const twilioWritable = () => twilio !== null && twilio.getBufferedAmount() <= maxBuffered;

  const sendOut = (socket: TwilioSocket, out: PendingOut) => {
    const now = performance.now();
    if (metrics.time_to_first_audio_ms === null) metrics.time_to_first_audio_ms = Math.round(now - attachedAt);
    if (awaitingFirstDelta && speechStoppedAt !== null) {
      metrics.turn_latency_ms.push(Math.round(now - speechStoppedAt));
      awaitingFirstDelta = false;
      saveMetrics();
    }
    if (playback.current?.itemId !== out.itemId) {
      // The ids are slices of a delta; kept for the whole item, they must not keep that delta alive.
      out.itemId = detached(out.itemId);
      out.responseId = detached(out.responseId);
      if (!agentStarted.has(out.itemId)) agentStarted.set(out.itemId, Date.now());
    }
    const mark = markMessage(streamSid, audioSent(playback, out.responseId, out.itemId, out.bytes, now));
    // The audio and its mark leave in one write: half the syscalls on the busiest path out.
    socket.cork(() => {
      socket.send(mediaMessage(streamSid, out.payload));
      socket.send(mark);
    });
    metrics.frames_out++;
  };

  const flushOut = () => {
    while (outQueue.length && twilioWritable()) {
      const out = outQueue.shift()!;
      outQueuedBytes -= out.bytes;
      sendOut(twilio!, out);
    }
  };

  /** The greeting may be ready before Twilio opens the stream, and Twilio may fall behind: queue, bounded. */
  const forwardAudio = (out: PendingOut) => {
    if (outQueue.length === 0 && twilioWritable()) return sendOut(twilio!, out);
    outQueue.push(out);
    outQueuedBytes += out.bytes;
    while (outQueuedBytes > maxQueuedBytes) {
      outQueuedBytes -= outQueue.shift()!.bytes;
      metrics.frames_dropped_out++;
    }
    flushOut();
  };

  const onDelta = (responseId: string, itemId: string, delta: string) => {
    if (playback.discarded.has(responseId)) return;
    if (toTwilio) {
      const { payload, bytes } = toTwilio(delta);
      if (bytes > 0) forwardAudio({ responseId, itemId, payload, bytes });
    } else {
      forwardAudio({ responseId, itemId, payload: delta, bytes: base64Bytes(delta) });
    }
  };

  const bargeIn = () => {
    const t0 = performance.now();
    const cut = interrupt(playback, t0, activeResponse);
    if (!cut || !twilio) return;
    // Audio still waiting on our side belongs to the reply being cut off.
    outQueue.length = 0;
    outQueuedBytes = 0;
    twilio.send(clearMessage(streamSid));
    sendModel(
      clientEvent({
        type: "conversation.item.truncate",
        item_id: cut.itemId,
        content_index: 0,
        audio_end_ms: cut.audioEndMs,
      }),
    );
    metrics.barge_in_reaction_ms.push(Math.round((performance.now() - t0) * 1000) / 1000);
    metrics.barge_ins++;
    store.upsertTurn({
      call_id: call.id,
      role: "agent",
      item_id: cut.itemId,
      text: "",
      started_at: agentStarted.get(cut.itemId) ?? Date.now(),
      interrupted: 1,
    });
    // The row holds the start now, and its transcript (if one still comes) keeps the earlier time.
    agentStarted.delete(cut.itemId);
  };

  const maybeHangUp = () => {
    if (!hangupPending || hangupPending.responseId !== null || hangingUp) return;
    if (isPlaying(playback)) return;
    hangingUp = true;
    log.info("agent ended the call", { reason: hangupPending.reason });
    deps.hangup("agent_hangup").catch((e) => log.warn("hanging up after end_call failed", { error: e }));
  };

  const onModelEvent = (event: RealtimeServerEvent) => {
    switch (event.type) {
      case "session.updated":
        if (modelReady) return;
        modelReady = true;
        if (metrics.model_connect_ms === null) metrics.model_connect_ms = Math.round(performance.now() - preparedAt);
        flushIn();
        if (!reconnected) {
          const greeting =
            call.direction === "outbound" ? config.agent.outbound_greeting : config.agent.inbound_greeting;
          // A response's instructions replace the session's for that response, so the greeting carries the prompt too.
          if (greeting)
            sendModel(
              clientEvent({
                type: "response.create",
                response: { instructions: `${instructions(false)}\n\n${greeting}` },
              }),
            );
        }
        return;
      case "response.output_audio.delta":
        onDelta(event.response_id, event.item_id, event.delta);
        return;
      case "input_audio_buffer.speech_started":
        callerStarted.set(event.item_id, Date.now());
        bargeIn();
        return;
      case "input_audio_buffer.speech_stopped":
        speechStoppedAt = performance.now();
        awaitingFirstDelta = true;
        return;
      case "conversation.item.input_audio_transcription.completed":
        store.upsertTurn({
          call_id: call.id,
          role: "caller",
          item_id: event.item_id,
          text: event.transcript,
          started_at: callerStarted.get(event.item_id) ?? Date.now(),
          interrupted: 0,
        });
        callerStarted.delete(event.item_id);
        return;
      case "conversation.item.input_audio_transcription.failed":
        callerStarted.delete(event.item_id);
        return;
      case "response.output_audio_transcript.done":
        store.upsertTurn({
          call_id: call.id,
          role: "agent",
          item_id: event.item_id,
          text: event.transcript,
          started_at: agentStarted.get(event.item_id) ?? Date.now(),
          interrupted: 0,
        });
        // The turn's row now holds its start; a later barge-in's upsert keeps the earlier time.
        agentStarted.delete(event.item_id);
        return;
      case "response.created":
        activeResponse = event.response.id ?? null;
        return;
      case "response.function_call_arguments.done":
        if (event.name === "end_call") {
          let reason = "";
          try {
            reason = String((JSON.parse(event.arguments) as { reason?: unknown }).reason ?? "");
          } catch {
            reason = "";
          }
          hangupPending = { toolCallId: event.call_id, responseId: event.response_id, reason };
          later(HANGUP_GRACE_MS, () => {
            if (hangupPending) hangupPending.responseId = null;
            forgetPending(playback);
            maybeHangUp();
          });
        }
        return;
      case "response.done": {
        const id = event.response.id ?? null;
        if (activeResponse === id) activeResponse = null;
        // No more deltas come for a finished response, so it need not be remembered as discarded.
        if (id) playback.discarded.delete(id);
        addUsage(metrics, event.response.usage);
        saveMetrics();
        if (hangupPending && hangupPending.responseId === id) {
          sendModel(
            clientEvent({
              type: "conversation.item.create",
              item: {
                type: "function_call_output",
                call_id: hangupPending.toolCallId,
                output: JSON.stringify({ ok: true, result: "The call will end once your goodbye has played." }),
              },
            }),
          );
          hangupPending.responseId = null;
          maybeHangUp();
        }
        return;
      }
      case "error":
        log.warn("model reported an error", { code: event.error.code, message: event.error.message });
        return;
      default:
        return;
    }
  };

  const onModelText = (text: string) => {
    const delta = audioDelta(text);
    if (delta) return onDelta(delta.responseId, delta.itemId, delta.delta);
    if (isTranscriptDelta(text)) return;
    let event: RealtimeServerEvent;
    try {
      event = JSON.parse(text) as RealtimeServerEvent;
    } catch {
      log.warn("model sent a message that is not JSON");
      return;
    }
    onModelEvent(event);
  };

  const connectModel = () => {
    const url = realtimeUrl(config.openai.base_url, config.openai.model);
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, { headers: { Authorization: `Bearer ${config.openai.api_key ?? ""}` } });
    } catch (e) {
      log.error("cannot open the model socket", { error: e });
      return modelLost();
    }
    model = socket;
    modelReady = false;
    socket.onopen = () =>
      socket.send(clientEvent({ type: "session.update", session: sessionConfig(config, instructions(reconnected)) }));
    socket.onmessage = (ev) =>
      onModelText(typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer));
    socket.onclose = (ev) => {
      if (model !== socket || closed) return;
      log.warn("model socket closed", { code: ev.code, reason: ev.reason });
      model = null;
      modelLost();
    };
  };

  const modelLost = () => {
    if (closed) return;
    modelReady = false;
    if (!reconnected) {
      reconnected = true;
      metrics.model_reconnects++;
      connectModel();
      return;
    }
    log.error("model unavailable: apologizing and hanging up");
    deps.apologize("model_unavailable").catch((e) => log.warn("apologizing through Twilio failed", { error: e }));
    close("model_unavailable");
  };

  // ── Twilio → model ────────────────────────────────────────────────────────────────────────────
  const modelWritable = () => modelOpen() && model!.bufferedAmount <= maxBuffered;

  function flushIn() {
    while (inQueue.length && modelWritable()) model!.send(inQueue.shift()!);
  }

  let nextTimestamp: number | null = null;

  /**
   * Twilio discards audio under congestion (31930) and its timestamps jump. Silence of the missing
   * length keeps the model's audio clock, and so its turn detection and truncation points, true.
   */
  const fillGap = (timestamp: number | null, payload: string) => {
    if (timestamp === null || !Number.isFinite(timestamp)) return;
    const gap = nextTimestamp === null ? 0 : timestamp - nextTimestamp;
    nextTimestamp = timestamp + base64Bytes(payload) / 8;
    if (gap < FRAME_MS || gap > MAX_GAP_MS) return;
    // Whole groups of 3 bytes, so the silence is plain base64 of one repeated character.
    const bytes = Math.floor((gap * (pcm ? 48 : 8)) / 3) * 3;
    queueAppend(appendMessage((pcm ? "A" : "/").repeat((bytes / 3) * 4)));
    metrics.gap_filled_ms += Math.round(gap);
  };

  const onCallerAudio = (payload: string, timestamp: number | null) => {
    metrics.frames_in++;
    fillGap(timestamp, payload);
    queueAppend(appendMessage(toModel ? toModel(payload) : payload));
  };

  const queueAppend = (frame: string) => {
    if (inQueue.length === 0 && modelWritable()) return model!.send(frame);
    inQueue.push(frame);
    if (inQueue.length > maxQueuedFrames) {
      inQueue.shift();
      metrics.frames_dropped_in++;
    }
    flushIn();
  };

  const onControl = (msg: ControlMessage) => {
    switch (msg.event) {
      case "media":
        return onCallerAudio(msg.media.payload, msg.media.timestamp === undefined ? null : Number(msg.media.timestamp));
      case "mark":
        if (markPlayed(playback, msg.mark.name, performance.now())) maybeHangUp();
        return;
      case "dtmf":
        sendModel(
          clientEvent({
            type: "conversation.item.create",
            item: {
              type: "message",
              role: "user",
              content: [{ type: "input_text", text: `The caller pressed ${msg.dtmf.digit} on the keypad.` }],
            },
          }),
        );
        if (!activeResponse) sendModel(clientEvent({ type: "response.create" }));
        return;
      case "stop":
        close("stream_stopped");
        return;
      default:
        return;
    }
  };

  function close(reason: string) {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    const m = model;
    model = null;
    if (m && m.readyState <= WebSocket.OPEN) m.close(MODEL_CLOSE_NORMAL, reason);
    twilio?.close(1000, reason);
    twilio = null;
    saveMetrics();
    deps.onClosed();
  }

  connectModel();
  later(config.calls.max_duration_s * 1000, () => {
    log.info("maximum call duration reached");
    deps.hangup("max_duration").catch((e) => log.warn("hanging up at the duration limit failed", { error: e }));
  });
  later(STREAM_WAIT_MS, () => {
    if (!twilio) close("stream_never_started");
  });

  return {
    callId: call.id,
    attach(socket, start) {
      twilio = socket;
      streamSid = start.streamSid;
      attachedAt = performance.now();
      flushOut();
    },
    onTwilioDrain: flushOut,
    onTwilioText(text) {
      const payload = mediaPayload(text);
      if (payload !== null) return onCallerAudio(payload, mediaTimestamp(text));
      const mark = markName(text);
      if (mark !== null) {
        if (markPlayed(playback, mark, performance.now())) maybeHangUp();
        return;
      }
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return;
      }
      const parsed = ControlMessage.safeParse(raw);
      if (parsed.success) onControl(parsed.data);
    },
    onTwilioClosed() {
      twilio = null;
      close("stream_closed");
    },
    close,
    metrics: () => metrics,
  };
}
