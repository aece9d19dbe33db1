// A voice model that speaks Google's Gemini Live API (BidiGenerateContent) on a local WebSocket, with the same
// behaviours as the OpenAI one (voice-model.ts): energy detection of the caller's speech, scripted transcripts
// and replies, interruptions, tool calls from the caller's words, and the server-decided lines it is sent as
// text. Like Google's server it sends its JSON as binary frames (indented), closes 1007 on an unknown setup
// field and 1008 on a bad key, answers a reply's tool calls before going on, and sends goAway before it closes
// a long session, which a new socket resumes with the handle of its last sessionResumptionUpdate.
import { randomBytes } from "node:crypto";
import type { Server, ServerWebSocket } from "bun";
import { ULAW_DECODE } from "../media/ulaw.ts";
import {
  type AgentLine,
  directedLine,
  menuChoice,
  type SimConversation,
  TOOL_TRIGGERS,
  triggerFor,
} from "./voice-model.ts";

export interface GeminiSimOptions {
  apiKey?: string;
  callerTranscripts?: string[];
  agentReplies?: AgentLine[];
  /** RMS (int16 scale) above which a chunk counts as speech. */
  vadThreshold?: number;
  /** Silence that ends a caller's turn, ms of audio. */
  silenceMs?: number;
  replyMs?: number;
  deltaMs?: number;
  /** Send reply audio at real time instead of as fast as possible. */
  pacedReplies?: boolean;
  /** A session says goAway this long after its setup (wall time), then closes (1011) after `goAwayLeftMs`. */
  goAwayAfterMs?: number;
  goAwayLeftMs?: number;
  /** The agent records this with report_outcome (when offered) just before it ends the call. */
  reportOutcome?: { outcome: string; summary: string; facts: Record<string, unknown>; next_steps?: string[] };
}

type Json = Record<string, any>;

export interface GeminiSimSession {
  readonly setup: Json;
  /** Client messages in order; audio is counted, not kept. */
  readonly received: Json[];
  readonly audioBytes: number;
  readonly audioChunks: number;
  readonly audioMimeTypes: Set<string>;
  readonly toolCalls: { id: string; name: string; args: Json }[];
  readonly toolResponses: { id: string; name: string; response: Json }[];
  readonly interruptedAt: number[];
  readonly goAwayAt: number | null;
  /** The handle this session resumed, if it was set up with one. */
  readonly resumedFrom: string | null;
  readonly replies: number;
  readonly closed: boolean;
}

export interface GeminiSim {
  /** The GEMINI_BASE_URL to configure: an origin. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly sessions: GeminiSimSession[];
  setConversation(c: SimConversation): void;
  stop(): void;
}

/** What a session remembers of the conversation, and what a resumption handle restores. */
interface Memory {
  conversation: SimConversation;
  callerTurns: number;
  agentTurns: number;
  unanswered: string[];
  /** The caller's last turn: a menu's options, for when the server asks which to pick. */
  lastHeard: string;
  toolCalls: { id: string; name: string; args: Json }[];
  toolResponses: { id: string; name: string; response: Json }[];
  answered: number;
}

interface State {
  ws: ServerWebSocket<{ state: State }> | null;
  memory: Memory;
  session: GeminiSimSession & { setup: Json; resumedFrom: string | null; goAwayAt: number | null; replies: number };
  counters: { audioBytes: number; audioChunks: number };
  set: boolean;
  speaking: boolean;
  silentMs: number;
  active: { cancelled: boolean } | null;
  /** Tool calls of the reply under way that have no response yet. */
  pending: Set<string>;
  timers: ReturnType<typeof setTimeout>[];
  closed: boolean;
}

/** The setup fields Google documents (those this server sends among them); any other closes the socket, 1007. */
const SETUP_KEYS = new Set([
  "model",
  "generationConfig",
  "systemInstruction",
  "tools",
  "realtimeInputConfig",
  "inputAudioTranscription",
  "outputAudioTranscription",
  "sessionResumption",
  "contextWindowCompression",
  "proactivity",
]);

export const SIM_GEMINI_USAGE = {
  promptTokenCount: 80,
  responseTokenCount: 40,
  totalTokenCount: 120,
  promptTokensDetails: [
    { modality: "TEXT", tokenCount: 50 },
    { modality: "AUDIO", tokenCount: 30 },
  ],
  responseTokensDetails: [
    { modality: "TEXT", tokenCount: 10 },
    { modality: "AUDIO", tokenCount: 30 },
  ],
};

const id = (prefix: string) => `${prefix}_${randomBytes(6).toString("hex")}`;

function tone24k(ms: number): Buffer {
  const n = Math.round(24 * ms);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) out.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 24000)), i * 2);
  return out;
}

/** Recorded μ-law speech at 24 kHz PCM, by repeating each sample (the sim needs no filter). */
function speech24k(ulaw: Uint8Array): Buffer {
  const out = Buffer.alloc(ulaw.length * 6);
  for (let i = 0; i < ulaw.length; i++) {
    const v = ULAW_DECODE[ulaw[i]!]!;
    for (let k = 0; k < 3; k++) out.writeInt16LE(v, (i * 3 + k) * 2);
  }
  return out;
}

function rms16(audio: Buffer): number {
  let sum = 0;
  const n = audio.length >> 1;
  for (let i = 0; i < n; i++) sum += audio.readInt16LE(i * 2) ** 2;
  return n ? Math.sqrt(sum / n) : 0;
}

export function startGeminiSim(opts: GeminiSimOptions = {}): GeminiSim {
  const apiKey = opts.apiKey ?? "gemini-sim-key";
  const threshold = opts.vadThreshold ?? 1000;
  const sessions: GeminiSimSession[] = [];
  const handles = new Map<string, Memory>();
  let conversation: SimConversation = { callerTranscripts: opts.callerTranscripts, agentReplies: opts.agentReplies };

  // Google's server indents its JSON and sends it as binary frames.
  const send = (st: State, m: Json) => {
    if (st.ws && !st.closed) st.ws.send(Buffer.from(JSON.stringify(m, null, 2)));
  };
  const later = (st: State, ms: number, fn: () => void) => st.timers.push(setTimeout(() => !st.closed && fn(), ms));
  const hasTool = (st: State, name: string) =>
    (st.session.setup.tools ?? []).some((t: Json) => (t.functionDeclarations ?? []).some((f: Json) => f.name === name));
  const nextLine = (st: State, fallback: string): { text: string; audio?: Uint8Array } => {
    const line = st.memory.conversation.agentReplies?.[st.memory.agentTurns++] ?? fallback;
    return typeof line === "string" ? { text: line } : line;
  };

  /** A line's audio and transcript, at the reply's pace; false when the reply was cut off first. */
  async function speak(st: State, turn: { cancelled: boolean }, line: { text: string; audio?: Uint8Array }) {
    if (!line.text && !line.audio) return true;
    const audio = line.audio ? speech24k(line.audio) : tone24k(opts.replyMs ?? 1000);
    const step = (opts.deltaMs ?? 100) * 48;
    const started = performance.now();
    let sentMs = 0;
    const words = line.text.split(/(?<= )/);
    for (let at = 0; at < audio.length; at += step) {
      if (turn.cancelled || st.closed) return false;
      const data = audio.subarray(at, at + step).toString("base64");
      send(st, {
        serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm;rate=24000", data } }] } },
      });
      const word = words.shift();
      if (word) send(st, { serverContent: { outputTranscription: { text: word } } });
      sentMs += step / 48;
      await Bun.sleep(opts.pacedReplies ? Math.max(0, started + sentMs - performance.now()) : 0);
    }
    if (turn.cancelled || st.closed) return false;
    // The transcript is whole once the audio is, however the words and chunks fell.
    if (words.length > 0) send(st, { serverContent: { outputTranscription: { text: words.join("") } } });
    return true;
  }

  /** One model turn: its audio and transcript, then its tool calls (it waits for their responses), else its end. */
  async function reply(st: State, line: { text: string; audio?: Uint8Array }, calls: { name: string; args: Json }[]) {
    const turn = { cancelled: false };
    st.active = turn;
    st.session.replies++;
    if (!(await speak(st, turn, line))) return;
    const offered = calls.filter((c) => hasTool(st, c.name));
    if (offered.length > 0) {
      const functionCalls = offered.map((c) => ({ id: id("fc"), name: c.name, args: c.args }));
      st.memory.toolCalls.push(...functionCalls);
      for (const f of functionCalls) st.pending.add(f.id);
      send(st, { toolCall: { functionCalls } });
      return;
    }
    finish(st, turn);
  }

  function finish(st: State, turn: { cancelled: boolean }) {
    if (st.active === turn) st.active = null;
    send(st, { serverContent: { generationComplete: true } });
    send(st, { serverContent: { turnComplete: true }, usageMetadata: SIM_GEMINI_USAGE });
    // Updates come while the model is idle: this is a point the session can be resumed from.
    const handle = id("handle");
    handles.set(handle, structuredClone(st.memory));
    send(st, { sessionResumptionUpdate: { newHandle: handle, resumable: true } });
  }

  /** What the agent does about the caller's words: its line, and the tools it calls after it. */
  function turnFor(st: State, heard: string) {
    if (/goodbye/i.test(heard) && hasTool(st, "end_call")) {
      const report =
        opts.reportOutcome && hasTool(st, "report_outcome")
          ? [{ name: "report_outcome", args: opts.reportOutcome }]
          : [];
      return {
        line: nextLine(st, "Goodbye!"),
        calls: [...report, { name: "end_call", args: { reason: "caller said goodbye" } }],
      };
    }
    for (const t of TOOL_TRIGGERS) {
      const match = t.when.exec(heard);
      if (match && hasTool(st, t.tool))
        return { line: nextLine(st, t.reply), calls: [{ name: t.tool, args: t.args(heard, match) }] };
    }
    return { line: nextLine(st, "OK."), calls: [] };
  }

  function callerTurnEnded(st: State) {
    const transcript = st.memory.conversation.callerTranscripts?.[st.memory.callerTurns++] ?? "Hello?";
    // Transcription arrives in pieces, as Google's does.
    const half = transcript.indexOf(" ", transcript.length >> 1);
    const pieces = half > 0 ? [transcript.slice(0, half), transcript.slice(half)] : [transcript];
    for (const text of pieces) send(st, { serverContent: { inputTranscription: { text } } });
    if (transcript) st.memory.unanswered.push(transcript);
    st.memory.lastHeard = transcript;
    const heard = st.memory.unanswered.join(" ");
    st.memory.unanswered = [];
    const { line, calls } = turnFor(st, heard);
    void reply(st, line, calls);
  }

  function onAudio(st: State, audio: Json) {
    const mime = String(audio.mimeType ?? "");
    st.session.audioMimeTypes.add(mime);
    if (!/^audio\/pcm;rate=\d+$/.test(mime)) return st.ws?.close(1007, "audio mimeType must be audio/pcm;rate=N");
    const rate = Number(mime.split("=")[1]);
    const pcm = Buffer.from(String(audio.data ?? ""), "base64");
    st.counters.audioBytes += pcm.length;
    st.counters.audioChunks++;
    const ms = (pcm.length / 2 / rate) * 1000;
    if (rms16(pcm) > threshold) {
      st.silentMs = 0;
      if (st.speaking) return;
      st.speaking = true;
      if (st.active) {
        st.active.cancelled = true;
        st.active = null;
        st.session.interruptedAt.push(performance.now());
        send(st, { serverContent: { interrupted: true } });
      }
      return;
    }
    if (!st.speaking) return;
    st.silentMs += ms;
    if (st.silentMs < (opts.silenceMs ?? 500)) return;
    st.speaking = false;
    callerTurnEnded(st);
  }

  /** Text from the client is the user's turn: a server-decided line's directive, or a keypad notice. */
  function onText(st: State, text: string) {
    if (st.pending.size > 0 && st.active) return holdingLine(st, st.active);
    const instructions = (st.session.setup.systemInstruction?.parts ?? []).map((p: Json) => p.text).join("\n");
    const heard = st.memory.unanswered.join(" ");
    if (/^\(Answer the other side now\.\)$/.test(text) && heard) {
      st.memory.unanswered = [];
      const { line, calls } = turnFor(st, heard);
      return void reply(st, line, calls);
    }
    if (/automated phone menu/.test(text)) {
      st.memory.unanswered = [];
      const press = TOOL_TRIGGERS.find((t) => t.tool === "send_dtmf")!;
      const menu = heard || st.memory.lastHeard;
      const match = menuChoice(menu, `${instructions}\n\n${text}`);
      return void reply(st, { text: "" }, match ? [{ name: press.tool, args: press.args(menu, match) }] : []);
    }
    const directed = directedLine(`${instructions}\n\n${text}`);
    void reply(st, directed ? { text: directed } : nextLine(st, "OK."), []);
  }

  /** Asked to speak while a tool runs: the tool's holding line, inside the reply that waits for it. */
  function holdingLine(st: State, turn: { cancelled: boolean }) {
    const running = st.memory.toolCalls.filter((c) => st.pending.has(c.id));
    const holding = running.map((c) => triggerFor(c.name)?.holding).find((h) => h !== undefined);
    if (holding) void speak(st, turn, { text: holding });
  }

  /** The reply waits for every call's response, then says what the outputs call for (nothing after a goodbye). */
  function onToolResponse(st: State, responses: Json[]) {
    for (const r of responses) {
      st.pending.delete(String(r.id));
      st.memory.toolResponses.push({ id: String(r.id), name: String(r.name), response: r.response ?? {} });
    }
    if (st.pending.size > 0 || !st.active) return;
    const turn = st.active;
    const fresh = st.memory.toolResponses.slice(st.memory.answered);
    st.memory.answered = st.memory.toolResponses.length;
    if (fresh.some((r) => r.name === "end_call")) return finish(st, turn);
    const about = fresh.map((r) => triggerFor(r.name)?.afterOutput?.(JSON.stringify(r.response))).find((a) => a);
    st.active = null;
    if (about) return void reply(st, { text: about }, []);
    finish(st, turn);
  }

  function onSetup(st: State, setup: Json) {
    const unknown = Object.keys(setup).find((k) => !SETUP_KEYS.has(k));
    if (unknown) return st.ws?.close(1007, `Invalid JSON payload received. Unknown name "${unknown}" at 'setup'`);
    const handle = setup.sessionResumption?.handle;
    if (typeof handle === "string") {
      const memory = handles.get(handle);
      if (!memory) return st.ws?.close(1008, "session not found");
      st.memory = structuredClone(memory);
      st.session.resumedFrom = handle;
    }
    st.session.setup = setup;
    st.set = true;
    send(st, { setupComplete: {} });
    if (opts.goAwayAfterMs !== undefined) {
      later(st, opts.goAwayAfterMs, () => {
        st.session.goAwayAt = performance.now();
        const left = opts.goAwayLeftMs ?? 1000;
        send(st, { goAway: { timeLeft: `${left / 1000}s` } });
        later(st, left, () => st.ws?.close(1011, "session duration limit"));
      });
    }
  }

  function onMessage(st: State, m: Json) {
    if (!m.realtimeInput?.audio) st.session.received.push(m);
    if (!st.set) return m.setup ? onSetup(st, m.setup) : st.ws?.close(1007, "the first message must be setup");
    if (m.realtimeInput?.audio) return onAudio(st, m.realtimeInput.audio);
    if (typeof m.realtimeInput?.text === "string") return onText(st, m.realtimeInput.text);
    if (m.toolResponse) return onToolResponse(st, m.toolResponse.functionResponses ?? []);
    st.ws?.close(1007, "Invalid JSON payload received.");
  }

  const server: Server<{ state: State }> = Bun.serve<{ state: State }>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const url = new URL(req.url);
      if (!/^\/+ws\/google\.ai\.generativelanguage\.v\w+\.GenerativeService\.BidiGenerateContent$/.test(url.pathname))
        return Response.json({ error: { code: 404, message: "Not found" } }, { status: 404 });
      const memory: Memory = {
        conversation,
        callerTurns: 0,
        agentTurns: 0,
        unanswered: [],
        lastHeard: "",
        toolCalls: [],
        toolResponses: [],
        answered: 0,
      };
      const counters = { audioBytes: 0, audioChunks: 0 };
      const state: State = {
        ws: null,
        memory,
        counters,
        set: false,
        speaking: false,
        silentMs: 0,
        active: null,
        pending: new Set(),
        timers: [],
        closed: false,
        session: {
          setup: {},
          received: [],
          get audioBytes() {
            return counters.audioBytes;
          },
          get audioChunks() {
            return counters.audioChunks;
          },
          audioMimeTypes: new Set(),
          get toolCalls() {
            return state.memory.toolCalls;
          },
          get toolResponses() {
            return state.memory.toolResponses;
          },
          interruptedAt: [],
          goAwayAt: null,
          resumedFrom: null,
          replies: 0,
          get closed() {
            return state.closed;
          },
        },
      };
      const keyed = url.searchParams.get("key") === apiKey;
      if (!srv.upgrade(req, { data: { state } })) return new Response("Upgrade required", { status: 426 });
      sessions.push(state.session);
      // Google accepts the socket, then closes it on a bad key.
      if (!keyed) queueMicrotask(() => state.ws?.close(1008, "API key not valid. Please pass a valid API key."));
      return undefined;
    },
    websocket: {
      maxPayloadLength: 16 * 1024 * 1024,
      open(ws) {
        ws.data.state.ws = ws;
      },
      message(ws, message) {
        let m: unknown;
        try {
          m = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
        } catch {
          return ws.close(1007, "Invalid JSON payload received.");
        }
        onMessage(ws.data.state, m as Json);
      },
      close(ws) {
        const st = ws.data.state;
        st.closed = true;
        for (const t of st.timers) clearTimeout(t);
        if (st.active) st.active.cancelled = true;
      },
    },
  });

  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    apiKey,
    sessions,
    setConversation: (c) => {
      conversation = c;
    },
    stop: () => void server.stop(true),
  };
}
