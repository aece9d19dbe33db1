// What a bridge is given by the call service: the call it carries, and the ways it reaches the rest of the
// server (storage, Twilio, the owner's assistant), so no bridge module imports the call service.
import type { ConsultResult } from "../assistant/consult.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Provider } from "../model/protocol.ts";
import type { Recorder } from "../recording/recorder.ts";
import type { Ticks } from "../runtime/ticks.ts";
import type { GatekeeperEvent, GatekeeperPolicy } from "./gatekeeper.ts";
import type { HangupReason } from "./hangup.ts";
import type { LineState } from "./line-state.ts";
import type { CallMetrics } from "./metrics.ts";
import type { SilencePolicy } from "./silence.ts";
import type { AgentOutcome, ToolRegistry } from "./tools.ts";
import type { BridgeStore } from "./turns.ts";

export interface BridgeCall {
  id: string;
  direction: "outbound" | "inbound";
  prompt: string;
  /** The tools this call's model is offered. */
  tools: ReadonlySet<string>;
  silence: SilencePolicy;
  /** Which gatekeepers (screeners, holds) are looked for, and how long each may keep the agent waiting. */
  gatekeepers: GatekeeperPolicy;
  /** What a voicemail gets, when a screener declined and a beep followed. */
  voicemail: { policy: "hangup" | "leave_message" | "continue"; message: string | null };
  /** Said instead of the greeting by an agent coming back to a call (after a transfer nobody took). */
  opening?: string;
  /** The voice model this call speaks to (agent.provider or the request's, and its model). */
  model: { provider: Provider; model: string };
  /** The model's voice for this call. */
  voice: string;
  /** The language the agent speaks on this call (BCP 47); null keeps the prompt's. */
  language: string | null;
  /** Set when this bridge takes over a call whose media stream dropped: what it goes on from. */
  resumed?: Resumed;
}

/** What a bridge taking over a call whose stream dropped starts from; calls/resume.ts gathers it from the store. */
export interface Resumed {
  /** When Twilio reported the stream gone (epoch ms). */
  droppedAt: number;
  /** When the call was answered (epoch ms): calls.max_duration_s counts from there, not from this bridge. */
  answeredAt: number | null;
  /** The metrics of the call's bridges so far: this one's are added to them. */
  metrics: CallMetrics | null;
  /** The line as the last bridge left it. */
  line: LineState | null;
}

export interface BridgeDeps {
  config: Config;
  log: Logger;
  store: BridgeStore;
  tools: ToolRegistry;
  call: BridgeCall;
  /** Ends the call through Twilio with this end reason. */
  hangup(reason: HangupReason | "max_duration"): Promise<unknown>;
  /** Plays a short apology through Twilio and hangs up; used when the model is gone for good. */
  apologize(reason: "model_unavailable"): Promise<unknown>;
  /** The agent's report_outcome: kept as the call's report; a problem with it goes back to the model. */
  recordOutcome(outcome: AgentOutcome): Promise<string | null>;
  /** Asks the owner's assistant (consult_assistant). */
  consult(question: string): Promise<ConsultResult>;
  /** A screener answered, or a hold began or ended: kept on the call and announced. */
  gatekeeper(event: GatekeeperEvent): void;
  /** The call's recording, when it is recorded. */
  recorder: Recorder | null;
  /** The server's shared repeating timers: one interval for every call's silence watch, not one per call. */
  ticks: Ticks;
  /** The bridge is finished: both sockets are closed and its metrics stored. */
  onClosed(): void;
}
