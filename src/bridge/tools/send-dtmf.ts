import { z } from "../../config/zod.ts";
import { DTMF_DIGITS } from "../../media/dtmf.ts";
import { defineTool } from "../tools.ts";

/** A menu never needs more; a longer string is more likely a mistake (or a number read out) than a keypress. */
const MAX_DIGITS = 32;

// Phone menus listen for tones on the line, so the keys are played in band, after what the agent is still saying.
export const sendDtmf = defineTool({
  name: "send_dtmf",
  description:
    "Press keys on the phone keypad, e.g. to answer an automated menu ('press 1 for sales'). digits: 0-9, *, #, " +
    "A-D; w waits half a second. The tones play after what you are saying now.",
  parameters: z.lazy(() =>
    z.object({
      digits: z
        .string()
        .check(
          z.trim(),
          z.maxLength(MAX_DIGITS, `at most ${MAX_DIGITS} keys`),
          z.regex(DTMF_DIGITS, "only 0-9, *, #, A-D and w (a pause)"),
          z.describe("The keys to press, in order, e.g. '1' or '1234#'"),
        ),
    }),
  ),
  async run({ digits }, actions) {
    const sent = await actions.sendDigits(digits);
    if (!sent.sent) return { output: { ok: false, error: `The keys were not sent: ${sent.why}` }, respond: true };
    return {
      output: {
        ok: true,
        digits,
        sent_at: new Date(sent.sentAt).toISOString(),
        duration_ms: sent.durationMs,
        result: "The keys were pressed. Listen for what the menu says next.",
      },
      // The menu answers the tones; the agent speaks again when it does.
      respond: false,
    };
  },
});
