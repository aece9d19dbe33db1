// src/bridge/tools/ owns the function tools a call's model may be given, one module per tool.
// Each tool acts through ToolActions (../tools.ts) only: it imports no call, store or edge module.
//
// The tools a call's model may be given. A new tool is a module beside end-call.ts and one entry here;
// which of them a call is offered depends on its policies (see callTools).
import { createToolRegistry, type ToolRegistry } from "../tools.ts";
import { consultAssistant } from "./consult-assistant.ts";
import { endCall } from "./end-call.ts";
import { reportOutcome } from "./report-outcome.ts";
import { sendDtmf } from "./send-dtmf.ts";
import { transferCall } from "./transfer-call.ts";

export const createCallTools = (): ToolRegistry =>
  createToolRegistry([endCall, reportOutcome, sendDtmf, transferCall, consultAssistant]);

/** A call is offered transfer only with a target, and consulting only when asked for and possible. */
export function callTools(p: { transfer: boolean; consult: boolean }): ReadonlySet<string> {
  const names = [endCall.name, reportOutcome.name, sendDtmf.name];
  if (p.transfer) names.push(transferCall.name);
  if (p.consult) names.push(consultAssistant.name);
  return new Set(names);
}
