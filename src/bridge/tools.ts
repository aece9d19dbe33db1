// The model's function tools. Each is a name, zod parameters and a handler; the registry shows them
// to the model, checks the model's arguments, and sends each output back once the reply that made
// the call is done, as the Realtime API expects.
import type { RealtimeFunctionTool } from "openai/resources/realtime/realtime";
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
}

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
  run(args: z.output<P>, actions: ToolActions): ToolResult | Promise<ToolResult>;
}

/** Keeps each tool's handler typed by its own parameters while the registry holds them side by side. */
export const defineTool = <P extends z.ZodMiniType>(tool: Tool<P>): Tool => tool as unknown as Tool;

export interface ToolRegistry {
  definitions(): RealtimeFunctionTool[];
  run(name: string, args: string, actions: ToolActions): ToolResult | Promise<ToolResult>;
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
    definitions: () => {
      definitions ??= tools.map(definition);
      return definitions;
    },
    run(name, args, actions) {
      const tool = byName.get(name);
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
