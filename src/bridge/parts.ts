// Builds one call's bridge parts and wires them to each other. Which part does what is said in
// bridge.ts; this module only connects them, in the order they depend on each other.
import { callInstructions, keypadNotice, responseInstructions, SHUTDOWN_GOODBYE } from "../agent/lines.ts";
import type { Config } from "../config/schema.ts";
import {
  readModelEvent,
  responseCancelMessage,
  responseCreateMessage,
  sessionConfig,
  sessionUpdate,
  userTextMessage,
} from "../model/realtime.ts";
import type { TwilioHandlers } from "../twilio/media.ts";
import { createAgentAudio } from "./agent-audio.ts";
import { audioLimits } from "./audio-queue.ts";
import type { BridgeCall, BridgeDeps } from "./bridge.ts";
import { type CallerAudio, createCallerAudio } from "./caller-audio.ts";
import { createHangup, type Hangup } from "./hangup.ts";
import { type CallMetrics, createMetrics } from "./metrics.ts";
import { modelEventHandlers, type Responses } from "./model-events.ts";
import { createModelLink, type ModelLink } from "./model-link.ts";
import { createPlayback, markPlayed, type Playback } from "./playback.ts";
import { createToolCalls } from "./tool-calls.ts";
import { createTurns } from "./turns.ts";

export type Later = (ms: number, fn: () => void) => void;

export function createParts(deps: BridgeDeps, later: Later, close: (reason: string) => void) {
  const { config, log, call } = deps;
  const preparedAt = performance.now();
  const metrics = createMetrics();
  const playback = createPlayback();
  const responses: Responses = { active: null, onNextCreated: null };
  const turns = createTurns(deps.store, call.id, metrics);
  const limits = audioLimits(config.audio);
  const agentAudio = createAgentAudio(limits, metrics, playback, turns);
  const hangup = createHangup({ playback, log, later, hangup: (endReason) => deps.hangup(endReason) });
  const instructions = (resumed: boolean) =>
    callInstructions(config.agent.preamble, call.prompt, resumed ? deps.store.transcript(call.id) : undefined);

  const link = createLink(deps, { metrics, responses, instructions, close, onText: (t) => readModelEvent(t, onModel) });
  const callerAudio = createCallerAudio(limits, metrics, link);
  const toolCalls = createToolCalls({
    registry: deps.tools,
    log,
    actions: (responseId) => ({
      log,
      hangUpAfterReply: (reason) => hangup.afterReply(responseId, reason),
      recordOutcome: deps.recordOutcome,
    }),
    send: link.send,
    canRespond: () => responses.active === null,
  });
  const onModel = modelEventHandlers({
    log,
    link,
    metrics,
    playback,
    responses,
    callerAudio,
    agentAudio,
    turns,
    toolCalls,
    hangup,
    onSessionReady: () => {
      // The first session ever ready opens the conversation, even the reconnect after a first that never was.
      if (metrics.model_connect_ms !== null) return;
      metrics.model_connect_ms = Math.round(performance.now() - preparedAt);
      greet(link, config, call, instructions(false));
    },
  });
  const onTwilio = twilioHandlers(link, callerAudio, playback, hangup, responses, () => close("stream_stopped"));
  /** The server is stopping: the agent says a short goodbye in its own voice, and the call ends once it has played. */
  const farewell = () => {
    responses.onNextCreated = (id) => hangup.afterReply(id, "the server is shutting down", "shutdown");
    if (responses.active) link.send(responseCancelMessage());
    link.send(responseCreateMessage(responseInstructions(instructions(false), SHUTDOWN_GOODBYE)));
  };
  return { metrics, link, agentAudio, turns, onTwilio, farewell };
}

interface LinkParts {
  metrics: CallMetrics;
  responses: Responses;
  instructions(resumed: boolean): string;
  onText(text: string): void;
  close(reason: string): void;
}

/** The model socket, reopened once after a drop; when it is gone for good the caller hears an apology. */
function createLink(deps: BridgeDeps, p: LinkParts): ModelLink {
  const { config, log } = deps;
  return createModelLink({
    config,
    log,
    sessionUpdate: (resumed) => sessionUpdate(sessionConfig(config, p.instructions(resumed), deps.tools.definitions())),
    onText: p.onText,
    onReconnect: () => {
      p.metrics.model_reconnects++;
      // The old session's reply will never finish: a new one must not wait for it.
      p.responses.active = null;
    },
    onGone: () => {
      log.error("model unavailable: apologizing and hanging up");
      deps.apologize("model_unavailable").catch((e) => log.warn("apologizing through Twilio failed", { error: e }));
      p.close("model_unavailable");
    },
  });
}

/** The agent speaks first when the config says how; an empty greeting waits for the other side. */
function greet(link: ModelLink, config: Config, call: BridgeCall, instructions: string): void {
  const greeting = call.direction === "outbound" ? config.agent.outbound_greeting : config.agent.inbound_greeting;
  if (greeting) link.send(responseCreateMessage(responseInstructions(instructions, greeting)));
}

function twilioHandlers(
  link: ModelLink,
  callerAudio: CallerAudio,
  playback: Playback,
  hangup: Hangup,
  responses: Responses,
  stop: () => void,
): TwilioHandlers {
  return {
    media: callerAudio.frame,
    mark(name) {
      if (markPlayed(playback, name, performance.now())) hangup.played();
    },
    dtmf(digit) {
      link.send(userTextMessage(keypadNotice(digit)));
      if (!responses.active) link.send(responseCreateMessage());
    },
    stop,
    // A second start on a bridged stream changes nothing.
    start() {},
  };
}
