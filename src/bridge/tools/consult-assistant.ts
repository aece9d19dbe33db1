import { CONSULT_ANSWER_NOTE, CONSULT_FAILED, CONSULT_HOLDING, CONSULT_LIMIT } from "../../agent/lines.ts";
import { z } from "../../config/zod.ts";
import { defineTool } from "../tools.ts";

// Offered only when the request asked for it and the gateway is configured: the model decides to ask, and
// only through this call, so nothing the other side says reaches the owner's assistant by itself.
export const consultAssistant = defineTool({
  name: "consult_assistant",
  description:
    "Ask the person you act for (through their assistant) a question you cannot answer yourself, such as " +
    "whether a proposed time works. Takes a few seconds; the other side is asked to hold.",
  parameters: z.lazy(() =>
    z.object({
      question: z
        .string()
        .check(z.minLength(1), z.maxLength(1_000), z.describe("The question, self-contained, in one or two sentences")),
    }),
  ),
  holding: CONSULT_HOLDING,
  async run({ question }, actions) {
    const result = await actions.consult(question);
    if (!result.ok) {
      actions.log.warn("consulting the owner's assistant failed", { reason: result.reason, detail: result.detail });
      return {
        output: { ok: false, error: result.reason === "limit" ? CONSULT_LIMIT : CONSULT_FAILED },
        respond: true,
      };
    }
    return { output: { ok: true, note: CONSULT_ANSWER_NOTE, answer: result.answer }, respond: true };
  },
});
