// The model's function tools. Each is a name, zod parameters and a handler; the registry shows them
// to the model, checks the model's arguments, and sends each output back once the reply that made
// the call is done, as the Realtime API expects.
import type { RealtimeFunctionTool } from "openai/resources/realtime/realtime";
import type { ConsultResult } from "../assistant/consult.ts";
import { z } from "../config/zod.ts";
import type { Logger } from "../log.ts";
import type { Outcome } from "../model/report.ts";

/** What a tool may do to the call it runs in. */
export interface ToolActions {
  log: Logger;
  /** Hang up once the reply that called the tool has finished and played. */
  hangUpAfterReply(reason: string): void;
  /** Keeps the agent's own report of the call; a problem with it (facts off the call's schema) comes back. */
  recordOutcome(outcome: AgentOutcome): Promise<string | null>;
  /** Plays keypad tones on the line after the agent audio already queued; resolves once they are sent. */
  sendDigits(digits: string): Promise<DigitsSent>;
  /** Hands the call to its transfer target once the agent's next reply (the handoff line) has played. */
  transferAfterNextReply(reason: string): void;
  /** Asks the owner's assistant; never throws. */
  consult(question: string): Promise<ConsultResult>;
}

export type DigitsSent = { sent: true; sentAt: number; durationMs: number } | { sent: false; why: string };

export interface AgentOutcome {
  outcome: Outcome;
  summary: string;
  facts: Record<string, unknown>;
  next_steps: string[];
}

export interface ToolResult {
  /** Sent to the model as the call's output (JSON). */
  output: unknown;
  /** Ask the model for a new response once the output is in, so it goes on speaking. */
  respond: boolean;
}

export interface Tool<P extends z.ZodMiniType = z.ZodMiniType> {
  name: string;
  description: string;
  /** Built on first use (z.lazy), like every schema that waits for a request: not at start-up. */
  parameters: P;
  /** Said (a directive to the model) if the tool is still running when the reply that called it is done. */
  holding?: string;
  run(args: z.output<P>, actions: ToolActions): ToolResult | Promise<ToolResult>;
}

/** Keeps each tool's handler typed by its own parameters while the registry holds them side by side. */
export const defineTool = <P extends z.ZodMiniType>(tool: Tool<P>): Tool => tool as unknown as Tool;

export interface ToolRegistry {
  /** The definitions of the tools a call is offered. */
  definitions(offered: ReadonlySet<string>): RealtimeFunctionTool[];
  /** The holding line of a tool, if it has one. */
  holding(name: string): string | undefined;
  run(name: string, args: string, actions: ToolActions, offered: ReadonlySet<string>): ToolResult | Promise<ToolResult>;
}

export const failed = (error: string): ToolResult => ({ output: { ok: false, error }, respond: true });

function definition(tool: Tool): RealtimeFunctionTool {
  const { $schema: _, ...parameters } = z.toJSONSchema(tool.parameters) as Record<string, unknown>;
  return { type: "function", name: tool.name, description: tool.description, parameters };
}

export function createToolRegistry(tools: Tool[]): ToolRegistry {
  const byName = new Map(tools.map((t) => [t.name, t]));
  let definitions: RealtimeFunctionTool[] | null = null;
  return {
    // Built on first use and shared by every call: the schemas never change.
    definitions: (offered) => {
      definitions ??= tools.map(definition);
      return definitions.filter((d) => d.name !== undefined && offered.has(d.name));
    },
    holding: (name) => byName.get(name)?.holding,
    run(name, args, actions, offered) {
      const tool = offered.has(name) ? byName.get(name) : undefined;
      if (!tool) return failed(`There is no tool named '${name}'.`);
      let json: unknown;
      try {
        json = JSON.parse(args || "{}");
      } catch {
        return failed("The arguments are not valid JSON.");
      }
      const parsed = tool.parameters.safeParse(json);
      if (!parsed.success) return failed(`Invalid arguments: ${parsed.error.issues[0]?.message ?? "rejected"}`);
      return tool.run(parsed.data, actions);
    },
  };
}
