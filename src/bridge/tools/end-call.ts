import { z } from "../../config/zod.ts";
import { defineTool } from "../tools.ts";

export const endCall = defineTool({
  name: "end_call",
  description: "Hang up the phone call. Say goodbye first; call this only when the conversation is over.",
  parameters: z.lazy(() => z.object({ reason: z.string().check(z.describe("Why the call is ending")) })),
  run({ reason }, actions) {
    actions.hangUpAfterReply(reason);
    return { output: { ok: true, result: "The call will end once your goodbye has played." }, respond: false };
  },
});
