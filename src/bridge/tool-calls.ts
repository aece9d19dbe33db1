// When the model's tool calls run and when their outputs go back. A call arrives mid-reply; its output
// is sent once that reply is done (sooner would race the reply's own items), or when the tool
// finishes if it is still running then. An output that wants the model to go on asks for a response.
import type { Logger } from "../log.ts";
import { functionOutputMessage, responseCreateMessage } from "../model/realtime.ts";
import { failed, type ToolActions, type ToolRegistry, type ToolResult } from "./tools.ts";

export interface ToolCallsDeps {
  registry: ToolRegistry;
  log: Logger;
  /** What the tools called in this reply may do. */
  actions(responseId: string): ToolActions;
  send(text: string): void;
  /** No response is streaming, so a new one may be asked for. */
  canRespond(): boolean;
}

export interface ToolCalls {
  called(responseId: string, callId: string, name: string, args: string): void;
  replyDone(responseId: string | null): void;
}

type Call = { callId: string; result: ToolResult | null };
type Reply = { done: boolean; calls: Call[] };

export function createToolCalls(deps: ToolCallsDeps): ToolCalls {
  const replies = new Map<string, Reply>();

  const sendReady = (responseId: string, reply: Reply) => {
    const ready = reply.calls.filter((c) => c.result !== null);
    reply.calls = reply.calls.filter((c) => c.result === null);
    if (reply.calls.length === 0) replies.delete(responseId);
    for (const c of ready) deps.send(functionOutputMessage(c.callId, c.result!.output));
    // One tool that ends the turn (end_call) outweighs the others: no new response over a goodbye.
    if (ready.length && ready.every((c) => c.result!.respond) && deps.canRespond()) deps.send(responseCreateMessage());
  };

  const newReply = (responseId: string) => {
    const reply: Reply = { done: false, calls: [] };
    replies.set(responseId, reply);
    return reply;
  };

  const run = (name: string, args: string, actions: ToolActions): ToolResult | Promise<ToolResult> => {
    try {
      return deps.registry.run(name, args, actions);
    } catch (e) {
      deps.log.warn("a tool failed", { tool: name, error: e });
      return failed("The tool failed.");
    }
  };

  return {
    called(responseId, callId, name, args) {
      const reply = replies.get(responseId) ?? newReply(responseId);
      const call: Call = { callId, result: null };
      reply.calls.push(call);
      const settle = (result: ToolResult) => {
        call.result = result;
        if (reply.done) sendReady(responseId, reply);
      };
      const result = run(name, args, deps.actions(responseId));
      if (result instanceof Promise) {
        result.then(settle, (e) => {
          deps.log.warn("a tool failed", { tool: name, error: e });
          settle(failed("The tool failed."));
        });
      } else {
        settle(result);
      }
    },
    replyDone(responseId) {
      const reply = responseId === null ? undefined : replies.get(responseId);
      if (!reply) return;
      reply.done = true;
      sendReady(responseId!, reply);
    },
  };
}
