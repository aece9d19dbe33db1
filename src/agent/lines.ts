// Everything the server itself has the agent say, or tells the model about the call, in one place: the
// model speaks these in the call's own language and voice. The two fallbacks at the end are the only
// exception, because they are said when there is no model to say them.

export interface Turn {
  role: "caller" | "agent";
  text: string;
}

/** The session's instructions: house rules first, then the call's prompt, then what was said if this is a resume. */
export function callInstructions(preamble: string, prompt: string, resumedFrom?: Turn[]): string {
  const parts = [preamble, prompt].filter(Boolean);
  const said = resumedFrom?.map((t) => `${t.role === "agent" ? "You" : "Caller"}: ${t.text}`) ?? [];
  if (said.length) {
    parts.push(
      `The call was briefly interrupted by a technical problem. The conversation so far:\n${said.join("\n")}\nContinue from there.`,
    );
  }
  return parts.join("\n\n");
}

/** The call's prompt, plus what the owner wants reported when the request gave a report_schema. */
export function promptWithReportSchema(prompt: string, reportSchema: string | null): string {
  if (!reportSchema) return prompt;
  return `${prompt}\n\nWhen you know the outcome, call report_outcome before you say goodbye. Its facts must match this JSON Schema:\n${reportSchema}`;
}

/** A response's instructions replace the session's for that response, so a directive repeats them first. */
export const responseInstructions = (instructions: string, directive: string) => `${instructions}\n\n${directive}`;

export const keypadNotice = (digit: string) => `The caller pressed ${digit} on the keypad.`;

/** The server is stopping with the call still up: the agent ends it politely, in the call's language. */
export const SHUTDOWN_GOODBYE =
  "The phone line has to close now. In one short sentence, in the language of this call, apologise that you must end the call, and say goodbye. Do not ask anything.";

/** Said by Twilio's own voice: the model is gone for good, mid-call. */
export const MODEL_LOST_APOLOGY = "Sorry, the assistant is not available right now. Please try again later. Goodbye.";

/** Said by Twilio's own voice: no model is configured, so the call cannot be connected at all. */
export const MODEL_MISSING_APOLOGY = "Sorry, the assistant is not available right now. Goodbye.";
