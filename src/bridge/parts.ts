// Builds one call's bridge parts and wires them to each other. Which part does what is said in
// bridge.ts; this module only connects them, in the order they depend on each other.
import {
  callInstructions,
  keypadNotice,
  responseInstructions,
  SHUTDOWN_GOODBYE,
  voicemailDirective,
} from "../agent/lines.ts";
import type { Config } from "../config/schema.ts";
import { dtmfDurationMs, dtmfUlaw } from "../media/dtmf.ts";
import { createModelProtocol, type ModelProtocol } from "../model/protocol.ts";
import type { TurnMode } from "../model/realtime.ts";
import type { TurnRow } from "../store/store.ts";
import { readTwilioMessage, type TwilioHandlers } from "../twilio/media.ts";
import { type AgentAudio, createAgentAudio } from "./agent-audio.ts";
import { audioLimits, FRAME_MS } from "./audio-queue.ts";
import { audioTo, type CallerLine, callerFrame, createCallerLine, markEcho } from "./caller-audio.ts";
import { type Cut, createCut } from "./cut.ts";
import type { BridgeCall, BridgeDeps } from "./deps.ts";
import { createGatekeeper, type Gatekeeper } from "./gatekeeper.ts";
import { createHangup, type Hangup, type HangupReason } from "./hangup.ts";
import { lineState } from "./line-state.ts";
import { type CallMetrics, createMetrics } from "./metrics.ts";
import { modelEventHandlers, type Responses } from "./model-events.ts";
import { createModelLink, type ModelLink } from "./model-link.ts";
import { createPlayback, isPlaying, type Playback, unplayedMs } from "./playback.ts";
import { type ResumeStart, restoreConversation, resumeStart } from "./resume.ts";
import { createServerLines, type ServerLines, type SilenceWatch, watchSilence } from "./server-lines.ts";
import { createToolCalls } from "./tool-calls.ts";
import type { DigitsSent, ToolActions } from "./tools.ts";
import { createTurns } from "./turns.ts";

/** Keypad tones wait behind the agent's queued audio; beyond this past their own length they count as lost. */
const TONES_WAIT_MS = 10_000;

export interface Timers {
  /** Returns what cancels it. */
  later(ms: number, fn: () => void): () => void;
  every(ms: number, fn: () => void): void;
}

export function createParts(deps: BridgeDeps, timers: Timers, close: (reason: string) => void) {
  const { log, call } = deps;
  const { later } = timers;
  const preparedAt = performance.now();
  const { metrics, playback, responses, resume, turns, protocol, limits, agentAudio, hangup } = audioParts(deps, later);
  const { instructions, sessionInstructions } = instructionsOf(deps);

  const link = createLink(deps, {
    protocol,
    metrics,
    responses,
    instructions: sessionInstructions,
    turns: () => gate.turnMode(),
    close,
    reader: () => readModel,
    audioTo: (ws) => audioTo(callerLine, ws),
  });
  const lines = callServerLines(deps, { link, protocol, responses, hangup, later, instructions });
  const toolCalls = callToolCalls(deps, { link, protocol, responses, hangup, lines, agentAudio, later, instructions });
  const cutAgent = createCut({ playback, responses, agentAudio, link, protocol, turns });
  const gate = callGatekeeper(deps, {
    // A hold begun or ended is worth keeping for a bridge that takes the call over, once this one is built.
    lineChanged: () => queueMicrotask(() => saveLine()),
    audioMs: () => metrics.frames_in * FRAME_MS + metrics.gap_filled_ms,
    link,
    protocol,
    responses,
    cutAgent,
    later,
    instructions,
    leaveVoicemail: (m) => last.leaveVoicemail(m),
  });
  const callerLine = createCallerLine({
    limits,
    metrics,
    protocol,
    recorder: deps.recorder,
    gate: gate.watch,
    playback,
    played: hangup.played,
    other: (text) => readTwilioMessage(text, onTwilio),
  });
  // On hold or waiting on a screener a quiet line is expected: the silence rules wait.
  const agentBusy = () => isPlaying(playback) || responses.active !== null || toolCalls.running() || gate.holdsLine();
  const silence = watchSilence({
    policy: call.silence,
    lines,
    log,
    every: timers.every,
    agentBusy,
    resumed: resume?.atDrop,
  });
  const saveLine = lineSaver(deps, silence, playback, gate);
  const onModel = modelEventHandlers({
    log,
    link,
    metrics,
    playback,
    responses,
    callerLine,
    agentAudio,
    turns,
    toolCalls,
    hangup,
    cutAgent,
    gate,
    callerSpeaking: silence.callerSpeaking,
    lineChanged: saveLine,
    onSessionReady: () => {
      // The first session ever ready opens the conversation, even the reconnect after a first that never was.
      if (metrics.model_connect_ms !== null) return;
      metrics.model_connect_ms = Math.round(performance.now() - preparedAt);
      openConversation(deps, { link, protocol, responses, instructions: () => instructions(false) }, resume);
    },
  });
  const readModel = protocol.reader(onModel);
  const onTwilio = twilioHandlers({ link, protocol, callerLine, responses }, () => close("stream_stopped"));
  const last = lastLines({ lines, cutAgent, gate });
  return { metrics, link, agentAudio, turns, callerLine, silence, gate, saveLine, ...last };
}

/** The parts that carry the audio and know what was said, which the rest are wired around. */
function audioParts(deps: BridgeDeps, later: Timers["later"]) {
  const { config, log, call } = deps;
  const metrics = createMetrics();
  const playback = createPlayback();
  const responses: Responses = { active: null, requested: false, onNextCreated: null };
  const resume = resumeStart(call, deps.store);
  const turns = createTurns(deps.store, call.id, metrics, call.resumed?.metrics);
  const protocol = createModelProtocol(config, {
    ...call.model,
    speech: { voice: call.voice, language: call.language },
  });
  // The model's audio format, not the config's, says whether its audio is resampled on the way to Twilio.
  const limits = audioLimits({ ...config.audio, format: protocol.pcmOut ? "pcm" : "pcmu" });
  const agentAudio = createAgentAudio(limits, metrics, playback, turns, deps.recorder);
  const hangup = createHangup({ playback, log, later, hangup: (endReason) => deps.hangup(endReason) });
  return { metrics, playback, responses, resume, turns, protocol, limits, agentAudio, hangup };
}

/**
 * The session's instructions. An agent coming back to a call knows what was said before it left, as one that
 * reconnects does: read from the store as each session is set up, and repeated in every instructions of that session.
 */
function instructionsOf(deps: BridgeDeps) {
  const { config, call, log } = deps;
  let said: TurnRow[] | undefined;
  const instructions = (resumed: boolean) =>
    callInstructions(config.agent.preamble, call.prompt, resumed || call.opening ? said : undefined, call.language);
  const sessionInstructions = async (resumed: boolean) => {
    if (resumed || call.opening) {
      said = await deps.store.transcript(call.id).catch((error: unknown) => {
        log.warn("reading what was said failed; the agent goes on without it", { error });
        return said;
      });
    }
    return instructions(resumed);
  };
  return { instructions, sessionInstructions };
}

/** The conversation opens with the greeting, or, on a call taken over after a drop, with what was said before. */
function openConversation(
  deps: BridgeDeps,
  p: { link: ModelLink; protocol: ModelProtocol; responses: Responses; instructions(): string },
  resume: ResumeStart | null,
): void {
  if (resume) void restoreConversation({ ...p, log: deps.log }, resume);
  else greet(p.link, p.protocol, deps.config, deps.call, p.instructions());
}

/** The lines the server has the agent say on this call (server-lines.ts). */
function callServerLines(
  deps: BridgeDeps,
  p: Pick<ToolParts, "link" | "protocol" | "responses" | "hangup" | "later" | "instructions">,
): ServerLines {
  const { log } = deps;
  return createServerLines({
    ...p,
    log,
    instructions: () => p.instructions(false),
    end: (endReason) => void deps.hangup(endReason).catch((e) => log.warn("ending the call failed", { error: e })),
  });
}

/** Keeps what the bridge knows of the line (line-state.ts) for a bridge that may take the call over. */
function lineSaver(deps: BridgeDeps, silence: SilenceWatch, playback: Playback, gate: Gatekeeper) {
  return () => {
    const state = lineState(Date.now(), silence.snapshot(), unplayedMs(playback, performance.now()), gate.snapshot());
    deps.store.saveLineState(deps.call.id, JSON.stringify(state), Date.now());
  };
}

interface GateParts {
  lineChanged(): void;
  audioMs(): number;
  link: ModelLink;
  protocol: ModelProtocol;
  responses: Responses;
  cutAgent: Cut;
  later(ms: number, fn: () => void): () => void;
  instructions(resumed: boolean): string;
  leaveVoicemail(message: string | null): void;
}

/** The call's gatekeeper watch (gatekeeper.ts), acting on this bridge and reporting to the call service. */
function callGatekeeper(deps: BridgeDeps, p: GateParts): Gatekeeper {
  const { config, log, call } = deps;
  const end = (reason: HangupReason) =>
    void deps.hangup(reason).catch((e) => log.warn("ending the call failed", { error: e }));
  return createGatekeeper({
    config,
    log,
    outbound: call.direction === "outbound",
    policy: call.gatekeepers,
    send: p.link.send,
    turnTaking: p.protocol.turnTaking,
    ask(directive) {
      if (p.responses.active || p.responses.requested) return;
      p.responses.requested = true;
      const instructions = directive === null ? undefined : responseInstructions(p.instructions(false), directive);
      p.link.send(p.protocol.reply(directive ?? undefined, instructions));
    },
    silenceAgent() {
      p.cutAgent();
      if (p.responses.active) p.link.send(p.protocol.cancel());
    },
    later: p.later,
    audioMs: p.audioMs,
    end,
    voicemail() {
      if (call.voicemail.policy === "leave_message") p.leaveVoicemail(call.voicemail.message);
      else end(call.voicemail.policy === "hangup" ? "voicemail" : "screened");
    },
    report: deps.gatekeeper,
    changed: p.lineChanged,
    resumed: call.resumed?.line?.gate,
  });
}

/** The last lines the server has the agent say before the call ends. */
function lastLines({ lines, cutAgent, gate }: { lines: ServerLines; cutAgent: Cut; gate: Gatekeeper }) {
  return {
    /** The server is stopping: the agent says a short goodbye in its own voice, and the call ends once it has played. */
    farewell: () => lines.sayThenEnd(SHUTDOWN_GOODBYE, "shutdown", "the server is shutting down"),
    /**
     * The beep has sounded: whatever the agent was saying to the greeting stops, so the message starts now,
     * and from here on nothing but the message is said, whatever the line does, so the recording has it whole.
     */
    leaveVoicemail: (message: string | null) => {
      cutAgent();
      cutAgent.hold();
      gate.final();
      lines.sayThenEnd(voicemailDirective(message), "voicemail", "left a voicemail message");
    },
  };
}

interface ToolParts {
  link: ModelLink;
  protocol: ModelProtocol;
  responses: Responses;
  hangup: Hangup;
  lines: ServerLines;
  agentAudio: AgentAudio;
  later(ms: number, fn: () => void): void;
  instructions(resumed: boolean): string;
}

/** The model's tool calls for this call: the tools it is offered, acting on this bridge. */
function callToolCalls(deps: BridgeDeps, p: ToolParts) {
  return createToolCalls({
    registry: deps.tools,
    offered: deps.call.tools,
    log: deps.log,
    actions: (responseId) => toolActions(deps, { ...p, responseId }),
    send: p.link.send,
    output: p.protocol.toolOutput,
    respond: (directive) => {
      // Gemini answers a tool's response by itself (or not at all): only a holding line is asked for.
      if (directive === undefined && p.protocol.inputPromptsReply) return;
      p.responses.requested = true;
      const instructions = directive && responseInstructions(p.instructions(false), directive);
      p.link.send(p.protocol.reply(directive, instructions));
    },
    canRespond: () => p.responses.active === null && !p.responses.requested,
  });
}

interface ActionParts {
  responseId: string;
  hangup: Hangup;
  lines: ServerLines;
  agentAudio: AgentAudio;
  later(ms: number, fn: () => void): void;
}

/** What the tools called in one reply may do to the call. */
function toolActions(deps: BridgeDeps, p: ActionParts): ToolActions {
  return {
    log: deps.log,
    hangUpAfterReply: (reason) => p.hangup.afterReply(p.responseId, reason),
    recordOutcome: deps.recordOutcome,
    transferAfterNextReply: (reason) => p.lines.afterNextReply("transferred", reason),
    consult: deps.consult,
    sendDigits: (digits) => sendDigits(p, digits),
  };
}

/** Tones for the keys, after the agent audio already queued; a line that never takes them is reported. */
function sendDigits(p: ActionParts, digits: string): Promise<DigitsSent> {
  const durationMs = dtmfDurationMs(digits);
  const sent = p.agentAudio
    .tones(dtmfUlaw(digits))
    .then((): DigitsSent => ({ sent: true, sentAt: Date.now(), durationMs }));
  const late = new Promise<DigitsSent>((resolve) =>
    p.later(durationMs + TONES_WAIT_MS, () => resolve({ sent: false, why: "the line did not take them in time" })),
  );
  return Promise.race([sent, late]);
}

interface LinkParts {
  protocol: ModelProtocol;
  metrics: CallMetrics;
  responses: Responses;
  instructions(resumed: boolean): Promise<string>;
  /** Who decides when the agent answers, as the session is set up (again). */
  turns(): TurnMode;
  reader(): (data: string | ArrayBuffer) => void;
  audioTo(ws: WebSocket | null): void;
  close(reason: string): void;
}

/** The model socket, reopened once after a drop; when it is gone for good the caller hears an apology. */
function createLink(deps: BridgeDeps, p: LinkParts): ModelLink {
  const { config, log } = deps;
  return createModelLink({
    config,
    log,
    protocol: p.protocol,
    sessionUpdate: async (resumed) =>
      p.protocol.setup({
        instructions: await p.instructions(resumed),
        tools: deps.tools.definitions(deps.call.tools),
        speech: { voice: deps.call.voice, language: deps.call.language },
        turns: p.turns(),
      }),
    reader: p.reader,
    audioTo: p.audioTo,
    onReconnect: () => {
      p.metrics.model_reconnects++;
      // The old session's reply will never finish: a new one must not wait for it.
      p.responses.active = null;
      p.responses.requested = false;
    },
    onGone: () => {
      log.error("model unavailable: apologizing and hanging up");
      deps.apologize("model_unavailable").catch((e) => log.warn("apologizing through Twilio failed", { error: e }));
      p.close("model_unavailable");
    },
  });
}

/** The agent speaks first when the config says how; an empty greeting waits for the other side. */
function greet(link: ModelLink, protocol: ModelProtocol, config: Config, call: BridgeCall, instructions: string) {
  const greeting =
    call.opening ?? (call.direction === "outbound" ? config.agent.outbound_greeting : config.agent.inbound_greeting);
  if (greeting) link.send(protocol.reply(greeting, responseInstructions(instructions, greeting)));
}

interface TwilioParts {
  link: ModelLink;
  protocol: ModelProtocol;
  callerLine: CallerLine;
  responses: Responses;
}

function twilioHandlers(p: TwilioParts, stop: () => void) {
  const { link, protocol, callerLine, responses } = p;
  const handlers: TwilioHandlers = {
    // Media the caller line's fast path declined (a message in an unusual form) goes the same way once parsed.
    media: (payload, timestampMs) => callerFrame(callerLine, payload, timestampMs),
    mark: (name) => markEcho(callerLine, name),
    dtmf(digit) {
      link.send(protocol.userText(keypadNotice(digit)));
      if (!responses.active && !protocol.inputPromptsReply) link.send(protocol.reply(undefined, undefined));
    },
    stop,
    // A second start on a bridged stream changes nothing.
    start() {},
  };
  return handlers;
}
