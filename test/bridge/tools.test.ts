import { describe, expect, test } from "bun:test";
import { createToolCalls } from "../../src/bridge/tool-calls.ts";
import { createCallTools } from "../../src/bridge/tools/all.ts";
import { createToolRegistry, defineTool, type ToolActions } from "../../src/bridge/tools.ts";
import { z } from "../../src/config/zod.ts";
import { createLogger } from "../../src/log.ts";

const log = createLogger(() => {});

function actions(hangups: string[] = []): ToolActions {
  return { log, hangUpAfterReply: (reason) => hangups.push(reason), recordOutcome: async () => null };
}

describe("tool registry", () => {
  test("shows each tool to the model as a function with a JSON Schema of its parameters", () => {
    const [endCall] = createCallTools().definitions();
    expect(endCall).toEqual({
      type: "function",
      name: "end_call",
      description: expect.stringContaining("Hang up"),
      parameters: {
        type: "object",
        properties: { reason: { type: "string", description: "Why the call is ending" } },
        required: ["reason"],
        additionalProperties: false,
      },
    });
  });

  test("end_call arms the hang-up and lets the goodbye finish without another response", () => {
    const hangups: string[] = [];
    const result = createCallTools().run("end_call", '{"reason":"done"}', actions(hangups));
    expect(hangups).toEqual(["done"]);
    expect(result).toEqual({ output: { ok: true, result: expect.any(String) }, respond: false });
  });

  test("unknown tools, broken JSON and invalid arguments go back to the model as errors it can act on", () => {
    const hangups: string[] = [];
    const tools = createCallTools();
    for (const [name, args] of [
      ["transfer_call", "{}"],
      ["end_call", "{reason"],
      ["end_call", '{"reason":42}'],
    ] as const) {
      const result = tools.run(name, args, actions(hangups));
      expect(result).toMatchObject({ output: { ok: false, error: expect.any(String) }, respond: true });
    }
    expect(hangups).toEqual([]);
  });
});

describe("tool calls", () => {
  const echo = defineTool({
    name: "echo",
    description: "Echo",
    parameters: z.object({ text: z.string() }),
    run: ({ text }) => ({ output: { text }, respond: true }),
  });
  const slow = defineTool({
    name: "slow",
    description: "Answers later",
    parameters: z.object({}),
    run: () => Bun.sleep(20).then(() => ({ output: "late", respond: true })),
  });

  function setup(canRespond = true) {
    const sent: Record<string, any>[] = [];
    const calls = createToolCalls({
      registry: createToolRegistry([echo, slow]),
      log,
      actions: () => actions(),
      send: (text) => sent.push(JSON.parse(text)),
      canRespond: () => canRespond,
    });
    return { sent, calls };
  }

  test("an output waits for the reply that called the tool, then asks for one response", () => {
    const { sent, calls } = setup();
    calls.called("resp_1", "call_1", "echo", '{"text":"a"}');
    calls.called("resp_1", "call_2", "echo", '{"text":"b"}');
    expect(sent).toEqual([]);
    calls.replyDone("resp_other");
    expect(sent).toEqual([]);
    calls.replyDone("resp_1");
    expect(sent.map((e) => e.item?.call_id ?? e.type)).toEqual(["call_1", "call_2", "response.create"]);
    expect(JSON.parse(sent[0]!.item.output)).toEqual({ text: "a" });
    calls.replyDone("resp_1");
    expect(sent).toHaveLength(3);
  });

  test("a tool still running when its reply ends sends its output when it finishes", async () => {
    const { sent, calls } = setup();
    calls.called("resp_1", "call_1", "slow", "{}");
    calls.replyDone("resp_1");
    expect(sent).toEqual([]);
    await Bun.sleep(50);
    expect(sent.map((e) => e.item?.call_id ?? e.type)).toEqual(["call_1", "response.create"]);
  });

  test("no response is asked for while another one streams", () => {
    const { sent, calls } = setup(false);
    calls.called("resp_1", "call_1", "echo", '{"text":"a"}');
    calls.replyDone("resp_1");
    expect(sent.map((e) => e.type)).toEqual(["conversation.item.create"]);
  });
});
