// A voice model that speaks the OpenAI Realtime GA protocol on a local WebSocket. It detects speech
// by energy in the audio it is sent, "transcribes" each caller turn from a script, answers with tone
// audio and a scripted transcript, can be interrupted, and calls `end_call` when the caller says goodbye
// (or another offered tool when the caller's words ask for it: see TOOL_TRIGGERS).
// Its HTTP side also answers the post-call report's Chat Completions request (see report-model.ts).

import { randomBytes } from "node:crypto";
import type { Server, ServerWebSocket } from "bun";
import { createUpsampler } from "../media/resample.ts";
import { base64Bytes } from "../media/transcode.ts";
import { ULAW_DECODE, ULAW_ENCODE } from "../media/ulaw.ts";
import { readStamp, stampedSilence } from "./probe.ts";
import { type ReportReply, reportModelHandler } from "./report-model.ts";

export interface RealtimeSimOptions {
  port?: number;
  apiKey?: string;
  /** RMS (int16 scale) above which a chunk counts as speech. */
  vadThreshold?: number;
  /** Caller transcripts, one per detected turn; "goodbye" in one ends the call through the tool. */
  callerTranscripts?: string[];
  /** The agent's lines, one per response (the greeting first): text alone is spoken as a tone. */
  agentReplies?: AgentLine[];
  /** Length of each reply spoken as a tone, ms. */
  replyMs?: number;
  /** Size of each audio delta, ms. */
  deltaMs?: number;
  /** Send reply audio at real time instead of as fast as possible. */
  pacedReplies?: boolean;
  /** "Thinking" time before a reply to a caller turn starts (not the greeting), ms. */
  responseDelayMs?: number;
  /** Scales responseDelayMs down when the carrier runs faster than real time. */
  speed?: number;
  /** Scripts the report model's answer to each Chat Completions request; undefined answers a made-up report. */
  reportReply?: (body: any) => ReportReply | undefined;
  /** The agent records this with `report_outcome` (when the session offers it) just before it ends the call. */
  reportOutcome?: { outcome: string; summary: string; facts: Record<string, unknown>; next_steps?: string[] };
  /**
   * Load runs: no turn-taking. Once the session is configured the agent talks without pause in
   * stamped deltas of `deltaMs`, stamped caller audio is timed on arrival, and every `bargeInEveryMs`
   * the caller "speaks" (speech_started) and the time until the truncate arrives is reported.
   */
  load?: {
    deltaMs: number;
    bargeInEveryMs?: number;
    onCallerAudio(latencyMs: number, sentAt: number): void;
    onTruncate(latencyMs: number): void;
  };
}

type Json = Record<string, any>;

/** One of the agent's lines: text alone is spoken as a tone. */
export type AgentLine = string | { text: string; audio?: Uint8Array };

/** Who the sessions expect on the line: what each caller turn says, what the agent answers. */
export interface SimConversation {
  callerTranscripts?: string[];
  agentReplies?: AgentLine[];
}

/** A function call this agent made. */
export interface SimToolCall {
  name: string;
  call_id: string;
  arguments: Json;
}

/** A function_call_output item the server sent; `name` is the tool's when this agent made that call. */
export interface SimToolOutput {
  call_id: string;
  name?: string;
  output: string;
}

/**
 * What the agent says when the server directs a line (agent/lines.ts): as a real model would, it follows
 * the directive, here by recognising it. The first match wins; a directive not listed gets a scripted line.
 */
export const DIRECTED_LINES: readonly { when: RegExp; line(match: RegExpExecArray): string }[] = [
  { when: /word for word: ("(?:[^"\\]|\\.)*")/, line: (m) => JSON.parse(m[1]!) as string },
  {
    when: /reached voicemail/,
    line: () => "Hi, this is Ava from Acme Dental about your visit tomorrow. Please call us back. Bye!",
  },
  {
    when: /You are calling as: ("(?:[^"\\]|\\.)*")[\s\S]*automated call screener answered/,
    line: (m) => `Hi, this is ${JSON.parse(m[1]!) as string}, about a visit tomorrow at ten.`,
  },
  {
    when: /automated call screener answered/,
    line: () => "Hi, this is Ava from Acme Dental, calling about a visit tomorrow at ten.",
  },
  { when: /still there/, line: () => "Are you still there?" },
  { when: /cannot hear anyone/, line: () => "I cannot hear anyone, so I will hang up now. Goodbye!" },
  { when: /line has to close now/, line: () => "I am sorry, I have to end the call now. Goodbye!" },
  { when: /you lost them for a second/, line: () => "Sorry, I lost you for a second." },
  {
    when: /but (their line was busy|nobody answered|the call to them did not go through)/,
    line: (m) => `I am sorry, ${m[1]}. Can I help you myself, or pass on a message?`,
  },
];

export function directedLine(instructions: string): string | null {
  for (const d of DIRECTED_LINES) {
    const match = d.when.exec(instructions);
    if (match) return d.line(match);
  }
  return null;
}

/** When a caller's words make the agent call a tool (if the session offers it), and what it says around the call. */
export interface ToolTrigger {
  tool: string;
  when: RegExp;
  args(transcript: string, match: RegExpExecArray): Json;
  /** The reply before the call when the script has no line left. */
  reply: string;
  /** Said when the server asks for a response while the tool still runs (its holding line). */
  holding?: string;
  /** Said in the response that follows the tool's output. */
  afterOutput?(output: string): string;
}

const KEYS: Record<string, string> = {
  one: "1",
  two: "2",
  three: "3",
  four: "4",
  five: "5",
  six: "6",
  seven: "7",
  eight: "8",
  nine: "9",
  zero: "0",
  star: "*",
  pound: "#",
  hash: "#",
};

const PRESS = /press (one|two|three|four|five|six|seven|eight|nine|zero|star|pound|hash|\d)/i;

/** Words alike enough to count as the same ("appointment", "appointments"). */
const stem = (word: string) => word.toLowerCase().slice(0, 6);

/**
 * The option a model would pick from a phone menu for its task: the one whose words its instructions share most
 * ("to change an existing appointment, press two" for a task of changing an appointment), else the first.
 */
export function menuChoice(menu: string, instructions: string): RegExpExecArray | null {
  const task = new Set((instructions.match(/\p{L}{4,}/gu) ?? []).map(stem));
  let best: { match: RegExpExecArray; score: number } | null = null;
  for (const option of menu.split(/[.;]/)) {
    const match = PRESS.exec(option);
    if (!match) continue;
    const score = (option.match(/\p{L}{4,}/gu) ?? []).filter((w) => !/^press$/i.test(w) && task.has(stem(w))).length;
    if (!best || score > best.score) best = { match, score };
  }
  return best?.match ?? null;
}

function consultAnswer(output: string): string {
  let answer: unknown;
  try {
    answer = (JSON.parse(output) as Json).answer;
  } catch {
    answer = undefined;
  }
  return typeof answer === "string" ? `I checked: ${answer}` : "Sorry, I could not check that just now.";
}

/** The first rule whose words a caller turn holds wins; a goodbye (end_call) outranks them all. */
export const TOOL_TRIGGERS: readonly ToolTrigger[] = [
  {
    tool: "send_dtmf",
    when: PRESS,
    args: (_, m) => ({ digits: KEYS[m[1]!.toLowerCase()] ?? m[1]! }),
    reply: "OK, pressing it now.",
  },
  {
    tool: "transfer_call",
    when: /(talk|speak) to (a |an )?(person|human|someone|representative|agent)/i,
    args: () => ({ reason: "The caller asked to talk to a person." }),
    reply: "Of course, one moment.",
    afterOutput: () => "I am connecting you to a person now.",
  },
  {
    tool: "consult_assistant",
    when: /check with|ask (him|her|them)|does .* work for them/i,
    args: (transcript) => ({ question: transcript }),
    reply: "Let me check with them.",
    holding: "Please hold on a moment while I check.",
    afterOutput: consultAnswer,
  },
];

export const triggerFor = (tool: string | undefined) => TOOL_TRIGGERS.find((t) => t.tool === tool);

export interface SimSession {
  readonly id: string;
  readonly model: string;
  /** Client events in order; appends are counted, not kept. */
  readonly received: Json[];
  readonly appendCount: number;
  /** Bytes of caller audio received. */
  readonly audioBytes: number;
  /** Bytes of agent audio sent in deltas. */
  readonly audioBytesSent: number;
  readonly deltaCount: number;
  /** response.done events sent so far, each reporting SIM_RESPONSE_USAGE. */
  readonly responsesDone: number;
  readonly session: Json;
  readonly truncates: Json[];
  readonly toolCalls: SimToolCall[];
  readonly toolOutputs: SimToolOutput[];
  readonly closed: boolean;
  close(code?: number): void;
}

export interface RealtimeSim {
  /** The OPENAI_BASE_URL to configure: `http://127.0.0.1:PORT/v1`. */
  readonly httpBaseUrl: string;
  readonly apiKey: string;
  readonly sessions: SimSession[];
  /** Every Chat Completions request body (the post-call reports), parsed, in order. */
  readonly reportRequests: any[];
  /** The next n connection attempts are answered `status` (default 503; 429 is a rate limit, 401 a bad key). */
  rejectConnections(n: number, status?: number): void;
  /**
   * The next n sessions answer session.update with an `error` event of this code (default
   * `insufficient_quota`) instead of session.updated, then close the socket unless `keepOpen`.
   */
  failSessions(n: number, opts?: { code?: string; keepOpen?: boolean }): void;
  /** Sessions opened from now on follow this conversation instead of the options' own. */
  setConversation(c: SimConversation): void;
  stop(): void;
}

interface ToolCallSpec {
  name: string;
  args: Json;
}

interface State {
  sim: SimSession | null;
  /** The conversation when the session opened. */
  conversation: SimConversation;
  ws: ServerWebSocket<Data> | null;
  session: Json;
  received: Json[];
  counters: {
    appendCount: number;
    audioBytes: number;
    audioBytesSent: number;
    deltaCount: number;
    /** response.done events sent, each with SIM_RESPONSE_USAGE. */
    responsesDone: number;
  };
  truncates: Json[];
  toolCalls: SimToolCall[];
  toolOutputs: SimToolOutput[];
  /** toolOutputs already answered by a response. */
  outputsAnswered: number;
  closed: boolean;
  audioMs: number;
  speaking: boolean;
  silentMs: number;
  speechItem: string;
  callerTurns: number;
  agentTurns: number;
  /** What the caller said since the agent last answered: a server-asked reply answers it, as a model would. */
  unanswered: string[];
  /** A response has started: conversation items from now on are not the history a new session is given. */
  responded: boolean;
  active: { id: string; itemId: string; cancelled: boolean; sentMs: number } | null;
  itemAudioMs: Map<string, number>;
  timers: ReturnType<typeof setInterval>[];
  bargeInAt: number | null;
  /** This session answers session.update with an error (failSessions). */
  failing: boolean;
}

interface Data {
  state: State;
}

/** A refused handshake, worded as OpenAI words it for that status. */
function rejection(status: number): Response {
  const error =
    status === 429
      ? { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" }
      : status === 401
        ? { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" }
        : { message: "The server is overloaded", type: "server_error" };
  return Response.json({ error }, { status });
}

const id = (prefix: string) => `${prefix}_${randomBytes(8).toString("hex")}`;

function tone(hz: number, rate: number, ms: number, pcm: boolean): Buffer {
  const n = Math.round((rate * ms) / 1000);
  if (pcm) {
    const out = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) out.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
    return out;
  }
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++)
    out[i] = ULAW_ENCODE[Math.round(6000 * Math.sin((2 * Math.PI * hz * i) / rate)) & 0xffff]!;
  return out;
}

/** Recorded μ-law speech in the session's output format (24 kHz PCM16 when it asks for audio/pcm). */
function speech(ulaw: Uint8Array, pcm: boolean): Buffer {
  if (!pcm) return Buffer.from(ulaw);
  const pcm8 = Int16Array.from(ulaw, (b) => ULAW_DECODE[b]!);
  const out = Buffer.alloc(pcm8.length * 6);
  createUpsampler().process(pcm8, new Int16Array(out.buffer, out.byteOffset, pcm8.length * 3));
  return out;
}

function rms(audio: Buffer, pcm: boolean): number {
  let sum = 0;
  let n = 0;
  if (pcm) {
    for (let i = 0; i + 1 < audio.length; i += 2, n++) sum += audio.readInt16LE(i) ** 2;
  } else {
    for (; n < audio.length; n++) sum += ULAW_DECODE[audio[n]!]! ** 2;
  }
  return n ? Math.sqrt(sum / n) : 0;
}

const APPEND_PREFIX = '{"type":"input_audio_buffer.append","audio":"';
/** What a response's done event reports it used; the figures only need to be plausible. */
export const SIM_RESPONSE_USAGE = {
  total_tokens: 120,
  input_tokens: 80,
  output_tokens: 40,
  input_token_details: {
    text_tokens: 50,
    audio_tokens: 30,
    cached_tokens: 20,
    cached_tokens_details: { text_tokens: 10, audio_tokens: 10 },
  },
  output_token_details: { text_tokens: 10, audio_tokens: 30 },
};
const isPcm = (session: Json, dir: "input" | "output") => session.audio?.[dir]?.format?.type === "audio/pcm";
const BETA_KEYS = [
  "modalities",
  "input_audio_format",
  "output_audio_format",
  "voice",
  "turn_detection",
  "input_audio_transcription",
  "temperature",
];

export function startRealtimeSim(opts: RealtimeSimOptions = {}): RealtimeSim {
  const apiKey = opts.apiKey ?? "sk-sim";
  const threshold = opts.vadThreshold ?? 1000;
  const replyMs = opts.replyMs ?? 1000;
  const deltaMs = opts.deltaMs ?? 100;
  const sessions: SimSession[] = [];
  const reportRequests: any[] = [];
  const chatCompletions = reportModelHandler({ apiKey, reply: opts.reportReply, requests: reportRequests });
  let rejecting = 0;
  let rejectStatus = 503;
  let failing = 0;
  let failWith: { code?: string; keepOpen?: boolean } = {};
  let eventSeq = 0;
  let conversation: SimConversation = { callerTranscripts: opts.callerTranscripts, agentReplies: opts.agentReplies };

  const send = (st: State, event: Json) => {
    if (!st.ws || st.closed) return;
    // `type` first, as OpenAI writes its events.
    st.ws.send(JSON.stringify({ type: event.type, event_id: id("event"), ...event }));
  };
  const error = (st: State, code: string, message: string, extra: Json = {}) =>
    send(st, {
      type: "error",
      error: { type: "invalid_request_error", code, message, param: null, event_id: null, ...extra },
    });

  /** Streams one response; resolves true when it was cancelled before it finished. */
  async function respond(
    st: State,
    opts2: { line: { text: string; audio?: Uint8Array }; calls: ToolCallSpec[] },
  ): Promise<boolean> {
    const responseId = id("resp");
    const itemId = id("item");
    const response = { id: responseId, itemId, cancelled: false, sentMs: 0 };
    st.active = response;
    st.responded = true;
    send(st, {
      type: "response.created",
      response: { id: responseId, object: "realtime.response", status: "in_progress", output: [] },
    });
    if (opts2.line.text === "" && !opts2.line.audio) {
      callsOnly(st, response, opts2.calls);
      return false;
    }
    send(st, {
      type: "response.output_item.added",
      response_id: responseId,
      output_index: 0,
      item: { id: itemId, type: "message", role: "assistant", status: "in_progress", content: [] },
    });
    const pcmOut = isPcm(st.session, "output");
    const audio = opts2.line.audio
      ? speech(opts2.line.audio, pcmOut)
      : tone(440, pcmOut ? 24000 : 8000, replyMs, pcmOut);
    const bytesPerMs = pcmOut ? 48 : 8;
    const step = deltaMs * bytesPerMs;
    const started = performance.now();
    // The transcript streams beside the audio, a word an event, as OpenAI's does (a few tokens each).
    const words = opts2.line.text.split(/(?<= )/);
    for (let at = 0; at < audio.length; at += step) {
      if (response.cancelled || st.closed) break;
      const word = words.shift();
      if (word)
        send(st, {
          type: "response.output_audio_transcript.delta",
          response_id: responseId,
          item_id: itemId,
          output_index: 0,
          content_index: 0,
          delta: word,
        });
      const chunk = audio.subarray(at, at + step);
      send(st, {
        type: "response.output_audio.delta",
        response_id: responseId,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta: chunk.toString("base64"),
      });
      st.counters.deltaCount++;
      st.counters.audioBytesSent += chunk.length;
      response.sentMs += chunk.length / bytesPerMs;
      st.itemAudioMs.set(itemId, response.sentMs);
      // Yield between chunks so speech_started and cancels interleave as they would on the wire.
      await Bun.sleep(opts.pacedReplies ? Math.max(0, started + response.sentMs - performance.now()) : 0);
    }
    if (st.active === response) st.active = null;
    const output: Json[] = [
      { id: itemId, type: "message", role: "assistant", status: response.cancelled ? "incomplete" : "completed" },
    ];
    if (!response.cancelled) {
      send(st, {
        type: "response.output_audio.done",
        response_id: responseId,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
      });
      send(st, {
        type: "response.output_audio_transcript.done",
        response_id: responseId,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        transcript: opts2.line.text,
      });
      send(st, { type: "response.output_item.done", response_id: responseId, output_index: 0, item: output[0] });
      output.push(...functionCalls(st, responseId, opts2.calls));
    }
    st.counters.responsesDone++;
    send(st, {
      type: "response.done",
      response: {
        id: responseId,
        object: "realtime.response",
        status: response.cancelled ? "cancelled" : "completed",
        status_details: response.cancelled
          ? { type: "cancelled", reason: st.closed ? "client_cancelled" : "turn_detected" }
          : null,
        output,
        usage: SIM_RESPONSE_USAGE,
      },
    });
    return response.cancelled;
  }

  /** A reply that is only function calls, as a model gives at a phone menu: nothing is said over it. */
  function callsOnly(st: State, response: { id: string }, calls: ToolCallSpec[]) {
    const output = functionCalls(st, response.id, calls);
    if (st.active === response) st.active = null;
    send(st, {
      type: "response.done",
      response: {
        id: response.id,
        object: "realtime.response",
        status: "completed",
        status_details: null,
        output,
        usage: SIM_RESPONSE_USAGE,
      },
    });
  }

  const hasTool = (st: State, name: string) => (st.session.tools ?? []).some((t: Json) => t.name === name);

  /** What the agent calls as it says goodbye: its report first, if scripted and offered, then end_call. */
  const goodbyeCalls = (st: State): ToolCallSpec[] => [
    ...(opts.reportOutcome && hasTool(st, "report_outcome")
      ? [{ name: "report_outcome", args: opts.reportOutcome }]
      : []),
    { name: "end_call", args: { reason: "caller said goodbye" } },
  ];

  /** Function calls as OpenAI streams them after a reply's message item, each its own output item. */
  function functionCalls(st: State, responseId: string, calls: ToolCallSpec[]): Json[] {
    return calls.map(({ name, args }, i) => {
      const outputIndex = i + 1;
      const call = {
        id: id("item"),
        type: "function_call",
        call_id: id("call"),
        name,
        arguments: JSON.stringify(args),
        status: "completed",
      };
      send(st, {
        type: "response.output_item.added",
        response_id: responseId,
        output_index: outputIndex,
        item: { ...call, arguments: "" },
      });
      send(st, {
        type: "response.function_call_arguments.done",
        response_id: responseId,
        item_id: call.id,
        output_index: outputIndex,
        call_id: call.call_id,
        name,
        arguments: call.arguments,
      });
      send(st, { type: "response.output_item.done", response_id: responseId, output_index: outputIndex, item: call });
      st.toolCalls.push({ name, call_id: call.call_id, arguments: args });
      return call;
    });
  }

  const nextAgentLine = (st: State, fallback: string) => {
    const line = st.conversation.agentReplies?.[st.agentTurns++] ?? fallback;
    return typeof line === "string" ? { text: line } : line;
  };

  /** What the agent does about a caller's words: the line it falls back on, and the tools it calls after it. */
  function turnFor(st: State, transcript: string): { fallback: string; calls: ToolCallSpec[] } {
    if (/goodbye/i.test(transcript) && hasTool(st, "end_call"))
      return { fallback: "Goodbye!", calls: goodbyeCalls(st) };
    for (const t of TOOL_TRIGGERS) {
      const match = t.when.exec(transcript);
      if (match && hasTool(st, t.tool))
        return { fallback: t.reply, calls: [{ name: t.tool, args: t.args(transcript, match) }] };
    }
    return { fallback: "OK.", calls: [] };
  }

  /**
   * The line of a response the server asks for: about a tool's output that just came in, else a holding
   * line while a tool still runs, else the script's next line (the greeting, a server-decided line).
   */
  function serverAskedLine(st: State, instructions: string): { text: string; audio?: Uint8Array } {
    const directed = directedLine(instructions);
    if (directed) return { text: directed };
    const fresh = st.toolOutputs.slice(st.outputsAnswered);
    st.outputsAnswered = st.toolOutputs.length;
    for (const o of fresh) {
      const about = triggerFor(o.name)?.afterOutput?.(o.output);
      if (about) return { text: about };
    }
    const running = st.toolCalls.filter((c) => !st.toolOutputs.some((o) => o.call_id === c.call_id));
    const holding = running.map((c) => triggerFor(c.name)?.holding).find((h) => h !== undefined);
    return holding ? { text: holding } : nextAgentLine(st, "OK.");
  }

  /**
   * A response the server asked for: without instructions the model answers what the caller said (turn-taking
   * is the server's), at a phone menu it presses the key its words point to, else it says the directed line.
   */
  function askedResponse(st: State, instructions: string | undefined) {
    const heard = st.unanswered.join(" ");
    st.unanswered = [];
    if (instructions === undefined && heard) {
      const { fallback, calls } = turnFor(st, heard);
      return startResponse(st, () => nextAgentLine(st, fallback), calls, heard);
    }
    if (instructions && /automated phone menu/.test(instructions)) {
      const press = TOOL_TRIGGERS.find((t) => t.tool === "send_dtmf")!;
      const match = menuChoice(heard, instructions);
      const calls = match && hasTool(st, "send_dtmf") ? [{ name: press.tool, args: press.args(heard, match) }] : [];
      return startResponse(st, () => nextAgentLine(st, ""), calls);
    }
    startResponse(st, () => serverAskedLine(st, instructions ?? ""));
  }

  function startResponse(
    st: State,
    line: () => { text: string; audio?: Uint8Array },
    calls: ToolCallSpec[] = [],
    heard = "",
  ) {
    if (st.active)
      return error(
        st,
        "conversation_already_has_active_response",
        "Conversation already has an active response in progress",
      );
    void respond(st, { line: line(), calls }).then((cancelled) => {
      // A reply cut off before its tool calls left what it answered unanswered: the next reply answers it.
      if (cancelled && heard) st.unanswered.unshift(heard);
    });
  }

  function cancel(st: State) {
    if (st.active) st.active.cancelled = true;
  }

  /** Load mode: a reply that never ends, in stamped chunks at real time, with periodic interruptions. */
  function stream(st: State, load: NonNullable<RealtimeSimOptions["load"]>) {
    let response = { id: id("resp"), itemId: id("item"), sentMs: 0 };
    const bytes = load.deltaMs * 8;
    const chunk = stampedSilence(bytes);
    const delta = () => {
      // Written as OpenAI does (type first), as a template: a thousand sessions send ten a second each.
      st.ws!.send(
        `{"type":"response.output_audio.delta","event_id":"event_${++eventSeq}","response_id":"${response.id}","item_id":"${response.itemId}","output_index":0,"content_index":0,"delta":"${chunk()}"}`,
      );
      st.counters.deltaCount++;
      st.counters.audioBytesSent += bytes;
      response.sentMs += load.deltaMs;
      st.itemAudioMs.set(response.itemId, response.sentMs);
    };
    // Sessions set up in a burst start at random phases of the delta clock, as independent replies would.
    const phase = Math.random() * load.deltaMs;
    const startedAt = performance.now() + phase;
    let sent = 0;
    // Every delta that is due goes out, so a generator behind its timers still offers the full load.
    const start = () =>
      st.timers.push(
        setInterval(() => {
          const due = Math.floor((performance.now() - startedAt) / load.deltaMs);
          while (sent < due && st.ws && !st.closed) {
            sent++;
            delta();
          }
        }, load.deltaMs),
      );
    const responseCreated = () =>
      send(st, {
        type: "response.created",
        response: { id: response.id, object: "realtime.response", status: "in_progress", output: [] },
      });
    responseCreated();
    st.timers.push(setTimeout(start, phase));
    if (!load.bargeInEveryMs) return;
    const every = load.bargeInEveryMs;
    // Staggered so a thousand sessions do not all interrupt in the same millisecond.
    setTimeout(() => {
      if (st.closed) return;
      st.timers.push(
        setInterval(() => {
          st.bargeInAt = performance.now();
          const caller = id("item");
          const audioMs = Math.round(st.audioMs);
          send(st, { type: "input_audio_buffer.speech_started", audio_start_ms: audioMs, item_id: caller });
          // A whole turn, as OpenAI sends it when turn detection interrupts a reply: the reply is
          // cancelled, the caller's words are transcribed, and the agent answers in a new response.
          st.counters.responsesDone++;
          send(st, {
            type: "response.done",
            response: {
              id: response.id,
              object: "realtime.response",
              status: "cancelled",
              status_details: { type: "cancelled", reason: "turn_detected" },
              output: [],
              usage: SIM_RESPONSE_USAGE,
            },
          });
          send(st, { type: "input_audio_buffer.speech_stopped", audio_end_ms: audioMs, item_id: caller });
          send(st, {
            type: "conversation.item.input_audio_transcription.completed",
            item_id: caller,
            content_index: 0,
            transcript: "Sorry, one more thing.",
            usage: { type: "duration", seconds: 1 },
          });
          response = { id: id("resp"), itemId: id("item"), sentMs: 0 };
          responseCreated();
        }, every),
      );
    }, Math.random() * every);
  }

  /** Load mode: caller audio is only timed and counted, so no decode beyond the stamp. */
  function onStampedAudio(st: State, b64: string, load: NonNullable<RealtimeSimOptions["load"]>) {
    st.counters.appendCount++;
    st.counters.audioBytes += base64Bytes(b64);
    const sentAt = readStamp(b64);
    if (sentAt !== null) load.onCallerAudio(performance.now() - sentAt, sentAt);
  }

  function onAudio(st: State, b64: string) {
    const pcmIn = isPcm(st.session, "input");
    const audio = Buffer.from(b64, "base64");
    st.counters.appendCount++;
    st.counters.audioBytes += audio.length;

    const ms = audio.length / (pcmIn ? 48 : 8);
    const loud = rms(audio, pcmIn) > threshold;
    const turn = st.session.audio?.input?.turn_detection ?? {};
    st.audioMs += ms;
    if (loud) {
      st.silentMs = 0;
      if (!st.speaking) {
        st.speaking = true;
        st.speechItem = id("item");
        send(st, {
          type: "input_audio_buffer.speech_started",
          audio_start_ms: Math.round(st.audioMs - ms),
          item_id: st.speechItem,
        });
        if (turn.interrupt_response !== false) cancel(st);
      }
      return;
    }
    if (!st.speaking) return;
    st.silentMs += ms;
    if (st.silentMs < (turn.silence_duration_ms ?? 500)) return;
    st.speaking = false;
    const item = st.speechItem;
    send(st, {
      type: "input_audio_buffer.speech_stopped",
      audio_end_ms: Math.round(st.audioMs - st.silentMs),
      item_id: item,
    });
    send(st, { type: "input_audio_buffer.committed", item_id: item, previous_item_id: null });
    const transcript = st.conversation.callerTranscripts?.[st.callerTurns++] ?? "Hello?";
    send(st, {
      type: "conversation.item.input_audio_transcription.completed",
      item_id: item,
      content_index: 0,
      transcript,
      usage: { type: "duration", seconds: 1 },
    });
    if (transcript) st.unanswered.push(transcript);
    if (turn.create_response === false) return;
    // The reply answers all the caller said since the agent last spoke, as a model hears the conversation.
    const heard = st.unanswered.join(" ") || transcript;
    const { fallback, calls } = turnFor(st, heard);
    st.unanswered = [];
    const reply = () => startResponse(st, () => nextAgentLine(st, fallback), calls, heard);
    const delay = (opts.responseDelayMs ?? 0) / (opts.speed ?? 1);
    if (delay > 0) setTimeout(() => !st.closed && reply(), delay);
    else reply();
  }

  function updateSession(st: State, event: Json) {
    const s = event.session ?? {};
    const beta = BETA_KEYS.find((k) => k in s);
    if (s.type !== "realtime" || beta)
      return error(st, "unknown_parameter", `Unknown parameter: 'session.${beta ?? "type"}'.`, {
        param: `session.${beta ?? "type"}`,
        event_id: event.event_id ?? null,
      });
    st.session = {
      ...st.session,
      ...s,
      audio: {
        input: { ...st.session.audio?.input, ...s.audio?.input },
        output: { ...st.session.audio?.output, ...s.audio?.output },
      },
    };
    send(st, { type: "session.updated", session: st.session });
    if (opts.load && st.timers.length === 0) stream(st, opts.load);
  }

  function onEvent(st: State, event: Json) {
    if (event.type !== "input_audio_buffer.append") st.received.push(event);
    switch (event.type) {
      case "input_audio_buffer.append":
        return onAudio(st, String(event.audio ?? ""));
      case "session.update":
        return st.failing ? failSession(st, event) : updateSession(st, event);
      case "response.create":
        // Under load the agent is already talking without end; the greeting request is moot.
        return opts.load ? undefined : askedResponse(st, event.response?.instructions);
      case "response.cancel":
        if (!st.active) return error(st, "response_cancel_not_active", "Cancellation failed: no active response found");
        return cancel(st);
      case "conversation.item.truncate": {
        if (opts.load && st.bargeInAt !== null) {
          opts.load.onTruncate(performance.now() - st.bargeInAt);
          st.bargeInAt = null;
          return;
        }
        st.truncates.push(event);
        const have = st.itemAudioMs.get(event.item_id);
        if (have === undefined || event.audio_end_ms > have)
          return error(st, "invalid_value", "audio_end_ms is longer than the audio");
        return send(st, {
          type: "conversation.item.truncated",
          item_id: event.item_id,
          content_index: event.content_index ?? 0,
          audio_end_ms: event.audio_end_ms,
        });
      }
      case "conversation.item.create": {
        const item = { id: id("item"), ...event.item };
        if (item.type === "function_call_output") recordOutput(st, item);
        if (item.type === "message" && !st.responded) followHistory(st, item.role);
        send(st, { type: "conversation.item.added", previous_item_id: null, item });
        return send(st, { type: "conversation.item.done", previous_item_id: null, item });
      }
      case "input_audio_buffer.commit":
      case "input_audio_buffer.clear":
        return;
      default:
        return error(st, "invalid_event", `Invalid event type '${event.type}'`);
    }
  }

  /**
   * A session taking over a call is given what was said before it, before it says anything: like a real model it
   * then goes on from there, so the script goes on from the turns already taken on either side.
   */
  function followHistory(st: State, role: unknown) {
    if (role === "user") st.callerTurns++;
    if (role === "assistant") st.agentTurns++;
  }

  function recordOutput(st: State, item: Json) {
    const callId = String(item.call_id ?? "");
    const name = st.toolCalls.find((c) => c.call_id === callId)?.name;
    st.toolOutputs.push({ call_id: callId, ...(name && { name }), output: String(item.output ?? "") });
  }

  /** What OpenAI sends when the account cannot pay for the session: an error, then (usually) the socket closes. */
  function failSession(st: State, event: Json) {
    const code = failWith.code ?? "insufficient_quota";
    const message =
      code === "insufficient_quota"
        ? "You exceeded your current quota, please check your plan and billing details."
        : `Simulated failure: ${code}`;
    send(st, { type: "error", error: { type: code, code, message, param: null, event_id: event.event_id ?? null } });
    if (!failWith.keepOpen) st.ws?.close(1011, code);
  }

  const server: Server<Data> = Bun.serve<Data>({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    fetch(req, srv) {
      const url = new URL(req.url);
      if (req.method === "POST" && url.pathname.endsWith("/chat/completions")) return chatCompletions(req);
      if (!url.pathname.endsWith("/realtime"))
        return Response.json({ error: { message: "Not found" } }, { status: 404 });
      if (rejecting > 0) {
        rejecting--;
        return rejection(rejectStatus);
      }
      const protocols = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
      const keyed =
        req.headers.get("authorization") === `Bearer ${apiKey}` ||
        protocols.includes(`openai-insecure-api-key.${apiKey}`);
      if (!keyed)
        return Response.json(
          { error: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" } },
          { status: 401 },
        );
      const model = url.searchParams.get("model") ?? "";
      const state: State = {
        sim: null,
        conversation,
        ws: null,
        session: {
          type: "realtime",
          id: id("sess"),
          object: "realtime.session",
          model,
          output_modalities: ["audio"],
          instructions: "",
          tools: [],
          audio: {
            input: { format: { type: "audio/pcmu" } },
            output: { format: { type: "audio/pcmu" }, voice: "marin" },
          },
        },
        received: [],
        counters: { appendCount: 0, audioBytes: 0, audioBytesSent: 0, deltaCount: 0, responsesDone: 0 },
        truncates: [],
        toolCalls: [],
        toolOutputs: [],
        outputsAnswered: 0,
        closed: false,
        audioMs: 0,
        speaking: false,
        silentMs: 0,
        speechItem: "",
        callerTurns: 0,
        agentTurns: 0,
        unanswered: [],
        responded: false,
        active: null,
        itemAudioMs: new Map(),
        timers: [],
        bargeInAt: null,
        failing: failing > 0,
      };
      if (failing > 0) failing--;
      const beta = req.headers.has("openai-beta");
      const headers = protocols.includes("realtime") ? { "Sec-WebSocket-Protocol": "realtime" } : undefined;
      if (!srv.upgrade(req, { data: { state }, headers })) return new Response("Upgrade required", { status: 426 });
      state.sim = {
        id: state.session.id,
        model,
        received: state.received,
        get appendCount() {
          return state.counters.appendCount;
        },
        get audioBytes() {
          return state.counters.audioBytes;
        },
        get audioBytesSent() {
          return state.counters.audioBytesSent;
        },
        get responsesDone() {
          return state.counters.responsesDone;
        },
        get deltaCount() {
          return state.counters.deltaCount;
        },
        get session() {
          return state.session;
        },
        truncates: state.truncates,
        toolCalls: state.toolCalls,
        toolOutputs: state.toolOutputs,
        get closed() {
          return state.closed;
        },
        close: (code = 1011) => state.ws?.close(code, "simulated drop"),
      };
      sessions.push(state.sim);
      if (beta)
        queueMicrotask(() => {
          error(state, "beta_api_shape_disabled", "The Realtime Beta API is no longer supported.");
          state.ws?.close(4000, "beta_api_shape_disabled");
        });
      return undefined;
    },
    websocket: {
      maxPayloadLength: 16 * 1024 * 1024,
      open(ws) {
        ws.data.state.ws = ws;
        send(ws.data.state, { type: "session.created", session: ws.data.state.session });
      },
      message(ws, message) {
        if (opts.load && typeof message === "string" && message.startsWith(APPEND_PREFIX)) {
          const end = message.indexOf('"', APPEND_PREFIX.length);
          if (end > 0) return onStampedAudio(ws.data.state, message.slice(APPEND_PREFIX.length, end), opts.load);
        }
        let event: Json;
        try {
          event = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
        } catch {
          return error(ws.data.state, "invalid_json", "The message is not valid JSON.");
        }
        onEvent(ws.data.state, event);
      },
      close(ws) {
        const st = ws.data.state;
        st.closed = true;
        for (const t of st.timers) clearInterval(t);
        cancel(st);
      },
    },
  });

  return {
    httpBaseUrl: `http://127.0.0.1:${server.port}/v1`,
    apiKey,
    sessions,
    reportRequests,
    rejectConnections: (n, status = 503) => {
      rejecting = n;
      rejectStatus = status;
    },
    failSessions: (n, o = {}) => {
      failing = n;
      failWith = o;
    },
    setConversation: (c) => {
      conversation = c;
    },
    stop: () => void server.stop(true),
  };
}
