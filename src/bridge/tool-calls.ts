// When the model's tool calls run and when their outputs go back. A call arrives mid-reply; its output
// is sent once that reply is done (sooner would race the reply's own items), or when the tool
// finishes if it is still running then. An output that wants the model to go on asks for a response,
// at once or, if another is streaming (a holding line), as soon as that one is done. A tool still running
// when its reply is done has the agent say its holding line, so the other side never hears dead air.
import type { Logger } from "../log.ts";
import { failed, type ToolActions, type ToolRegistry, type ToolResult } from "./tools.ts";

export interface ToolCallsDeps {
  registry: ToolRegistry;
  /** The tools this call is offered; a call to any other is refused. */
  offered: ReadonlySet<string>;
  log: Logger;
  /** What the tools called in this reply may do. */
  actions(responseId: string): ToolActions;
  send(text: string): void;
  /** A tool's output as the model's protocol sends it (null: not to be sent, the model took the call back). */
  output(callId: string, name: string, output: unknown): string | null;
  /** Asks the model for a response, with this directive for it if given. */
  respond(directive?: string): void;
  /** No response is streaming, so a new one may be asked for. */
  canRespond(): boolean;
}

export interface ToolCalls {
  called(responseId: string, callId: string, name: string, args: string): void;
  replyDone(responseId: string | null): void;
  /** Some tool is still running (the line is not silent: the agent is waiting on it). */
  running(): boolean;
}

type Call = { callId: string; name: string; result: ToolResult | null };
type Reply = { done: boolean; calls: Call[] };

export function createToolCalls(deps: ToolCallsDeps): ToolCalls {
  const replies = new Map<string, Reply>();
  let running = 0;
  /** Outputs went in while another response was streaming: the model answers them once it is done. */
  let owed = false;

  const respondIfOwed = () => {
    if (!owed || !deps.canRespond()) return;
    owed = false;
    deps.respond();
  };

  const sendReady = (responseId: string, reply: Reply) => {
    const ready = reply.calls.filter((c) => c.result !== null);
    reply.calls = reply.calls.filter((c) => c.result === null);
    if (reply.calls.length === 0) replies.delete(responseId);
    for (const c of ready) {
      const output = deps.output(c.callId, c.name, c.result!.output);
      if (output !== null) deps.send(output);
    }
    // One tool that ends the turn (end_call) outweighs the others: no new response over a goodbye.
    if (ready.length && ready.every((c) => c.result!.respond)) owed = true;
    respondIfOwed();
  };

  const newReply = (responseId: string) => {
    const reply: Reply = { done: false, calls: [] };
    replies.set(responseId, reply);
    return reply;
  };

  return {
    called(responseId, callId, name, args) {
      const reply = replies.get(responseId) ?? newReply(responseId);
      const call: Call = { callId, name, result: null };
      reply.calls.push(call);
      const settle = (result: ToolResult) => {
        call.result = result;
        if (reply.done) sendReady(responseId, reply);
      };
      const result = runSafely(deps, name, args, deps.actions(responseId));
      if (!(result instanceof Promise)) return settle(result);
      running++;
      void result.then((r) => {
        running--;
        settle(r);
      });
    },
    replyDone(responseId) {
      const reply = responseId === null ? undefined : replies.get(responseId);
      if (!reply) return respondIfOwed();
      reply.done = true;
      sendReady(responseId!, reply);
      if (replies.has(responseId!)) holdIfRunning(deps, reply);
    },
    running: () => running > 0,
  };
}

/** Runs a tool; one that throws or rejects gives the model a failure it can act on, never an unanswered call. */
function runSafely(
  deps: ToolCallsDeps,
  name: string,
  args: string,
  actions: ToolActions,
): ToolResult | Promise<ToolResult> {
  const failedTool = (e: unknown) => {
    deps.log.warn("a tool failed", { tool: name, error: e });
    return failed("The tool failed.");
  };
  try {
    const result = deps.registry.run(name, args, actions, deps.offered);
    return result instanceof Promise ? result.catch(failedTool) : result;
  } catch (e) {
    return failedTool(e);
  }
}

/** The reply is done but a tool of it still runs: the agent says that tool's holding line, if it has one. */
function holdIfRunning(deps: ToolCallsDeps, reply: Reply): void {
  const holding = reply.calls.map((c) => deps.registry.holding(c.name)).find((h) => h !== undefined);
  if (holding && deps.canRespond()) deps.respond(holding);
}
