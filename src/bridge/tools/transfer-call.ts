import { TRANSFER_HANDOFF } from "../../agent/lines.ts";
import { z } from "../../config/zod.ts";
import { defineTool } from "../tools.ts";

// Offered only to calls that have a transfer target: the model never picks the number.
export const transferCall = defineTool({
  name: "transfer_call",
  description:
    "Hand the call to a person, when the other side asks for a human or you cannot help further. You will then " +
    "say one short line to tell them, and the call is transferred.",
  parameters: z.lazy(() =>
    z.object({ reason: z.string().check(z.minLength(1), z.describe("Why the call is being transferred")) }),
  ),
  run({ reason }, actions) {
    actions.transferAfterNextReply(reason);
    return { output: { ok: true, result: TRANSFER_HANDOFF }, respond: true };
  },
});
