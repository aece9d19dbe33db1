// What `agenticai demo --scenario NAME` plays: who answers (a persona, by the number dialled), what the
// request asks for, what the voice model expects to hear, and how the call should end to count as shown.
import { numberFor, type Persona, TRANSFER_NUMBER } from "./personas.ts";
import type { Scenario } from "./script.ts";

export interface DemoScenario {
  name: string;
  /** One line for the demo's header and the usage text. */
  about: string;
  persona: Persona;
  /** The voice model's side; personas without one follow the default conversation. */
  conversation?: Scenario;
  /** Fields added to POST /api/call. */
  request: Record<string, unknown>;
  /** Needs the simulated OpenClaw gateway (consult_assistant). */
  gateway?: boolean;
  /** The call's end reason(s) that show the scenario worked. */
  endsWith: string[];
  /** The request must be refused with a 400 (the toll-fraud guard), so no call is placed. */
  refused?: boolean;
  /** The call must show `screened: true`, or time on hold, to count as shown. */
  screened?: boolean;
  held?: boolean;
  /** Where the call's report must come from to count as shown. */
  reportSource?: "model" | "agent_tool" | "fallback";
}

/** The task behind the gatekeepers: a menu's options are chosen by it. */
const MOVE_APPOINTMENT =
  "You are Ava from Acme Dental. Call the clinic and change the existing appointment of Jordan Lee tomorrow from ten to eleven.";

export const DEMO_SCENARIOS: readonly DemoScenario[] = [
  {
    name: "conversation",
    about: "a patient confirms and moves an appointment, cutting in once",
    persona: "talks",
    request: {},
    endsWith: ["agent_hangup"],
  },
  {
    name: "report",
    about: "the owner asks for facts in a shape (report_schema): the report model fills them, the server checks them",
    persona: "talks",
    request: {
      report_schema: {
        type: "object",
        properties: {
          confirmed: { type: "boolean", description: "Whether the appointment was confirmed" },
          caller_said: { type: "string", pattern: "\\S", description: "The callee's last words" },
        },
        required: ["confirmed", "caller_said"],
      },
    },
    endsWith: ["agent_hangup"],
    reportSource: "model",
  },
  {
    name: "silence",
    about: "nobody speaks: the agent checks in once, then says goodbye and hangs up",
    persona: "silent",
    request: { silence: { reprompt_s: 4, hangup_s: 9 } },
    endsWith: ["silence"],
  },
  {
    name: "voicemail",
    about: "an answering machine picks up: the call ends at the beep (voicemail: hangup)",
    persona: "voicemail",
    request: {},
    endsWith: ["voicemail"],
  },
  {
    name: "voicemail-message",
    about: "an answering machine picks up: the agent leaves a message after the beep",
    persona: "voicemail",
    request: {
      voicemail: "leave_message",
      voicemail_message: "Hi, this is Ava from Acme Dental about tomorrow at ten. Please call us back. Thank you!",
    },
    endsWith: ["voicemail"],
  },
  {
    name: "ivr",
    about:
      "a two-level phone menu answers, 1.5 s between options: the agent hears each level out, presses 1 then 2 (send_dtmf), and talks to the person behind it",
    persona: "ivr-levels",
    conversation: "ivr-levels",
    request: { prompt: MOVE_APPOINTMENT },
    endsWith: ["agent_hangup"],
  },
  {
    name: "screening",
    about:
      "a call screener answers: the agent says once who is calling and why, waits in silence, then greets the person who comes on",
    persona: "screener",
    conversation: "screener",
    request: { prompt: MOVE_APPOINTMENT, caller_identity: "Ava, calling for Acme Dental" },
    endsWith: ["agent_hangup"],
    screened: true,
  },
  {
    name: "hold",
    about:
      "the line puts the agent on hold: 40 s of music and two announcements, no word from the agent, then a person",
    persona: "hold",
    conversation: "hold",
    request: { prompt: MOVE_APPOINTMENT },
    endsWith: ["agent_hangup"],
    held: true,
  },
  {
    name: "transfer",
    about: "the callee asks for a person: the agent hands the call over with <Dial> (transfer_call)",
    persona: "wants-human",
    conversation: "wants-human",
    request: { transfer_to: TRANSFER_NUMBER },
    endsWith: ["transferred"],
  },
  {
    name: "consult",
    about: "the callee asks what only the owner knows: the agent asks the owner's assistant (consult_assistant)",
    persona: "asks-owner",
    conversation: "asks-owner",
    request: { consult: true },
    gateway: true,
    endsWith: ["agent_hangup"],
  },
  {
    name: "retry",
    about: "the line is busy twice; the third attempt, under the same call id, gets through",
    persona: "busy-twice",
    request: { retry: { max_attempts: 3, delay_s: 2, on: ["busy"] } },
    endsWith: ["agent_hangup"],
  },
  {
    name: "toll-fraud",
    about: "a premium-rate number is refused before anything is dialled (calls.allowed_destinations)",
    persona: "talks",
    request: { to: "+19005550100" },
    endsWith: [],
    refused: true,
  },
];

export function demoScenario(name: string): DemoScenario | undefined {
  return DEMO_SCENARIOS.find((s) => s.name === name);
}

/** The number the scenario dials: its persona's, unless the request names one. */
export const scenarioNumber = (s: DemoScenario): string => (s.request.to as string | undefined) ?? numberFor(s.persona);
