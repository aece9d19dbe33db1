import { z } from "../../config/zod.ts";
import { OUTCOMES } from "../../model/report.ts";
import { defineTool } from "../tools.ts";

// With it the agent reports the call itself, in its own words and with what it learned, and the
// post-call report model is not run.
export const reportOutcome = defineTool({
  name: "report_outcome",
  description:
    "Record the outcome of this call for the person you are calling on behalf of, once you know it (usually just " +
    "before saying goodbye). facts must follow the schema given in your instructions, if any.",
  parameters: z.lazy(() =>
    z.object({
      outcome: z
        .enum(OUTCOMES)
        .check(z.describe("completed_goal, partial, failed, voicemail, no_answer, busy, declined or error")),
      summary: z.string().check(z.minLength(1), z.describe("One to three sentences on what happened")),
      facts: z._default(z.record(z.string(), z.unknown()), {}).check(z.describe("What was learned, as an object")),
      next_steps: z._default(z.array(z.string()), []).check(z.describe("Follow-ups for the person, if any")),
    }),
  ),
  async run(outcome, actions) {
    const problem = await actions.recordOutcome(outcome);
    if (problem) return { output: { ok: false, error: problem }, respond: true };
    return { output: { ok: true, result: "Recorded. Carry on, or say goodbye and end the call." }, respond: true };
  },
});
