// What a bridge is given by the call service: the call it carries, and the ways it reaches the rest of the
// server (storage, Twilio, the owner's assistant), so no bridge module imports the call service.
import type { ConsultResult } from "../assistant/consult.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Recorder } from "../recording/recorder.ts";
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
  /** Said instead of the greeting by an agent coming back to a call (after a transfer nobody took). */
  opening?: string;
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
  /** The call's recording, when it is recorded. */
  recorder: Recorder | null;
  /** The bridge is finished: both sockets are closed and its metrics stored. */
  onClosed(): void;
}
