import { loadTwilio } from "./sdk.ts";

export interface StreamTwiml {
  streamUrl: string;
  parameters: Record<string, string>;
  /** Requested by Twilio when the stream ends; the TwiML it answers is what the call does next. Without, it ends. */
  action?: string;
}

/** `<Connect><Stream>`: bidirectional media. Correlation goes in `<Parameter>`s since Twilio drops query strings. */
export async function connectStream({ streamUrl, parameters, action }: StreamTwiml): Promise<string> {
  const { twiml } = await loadTwilio();
  const response = new twiml.VoiceResponse();
  const stream = response.connect(action ? { action, method: "POST" } : {}).stream({ url: streamUrl });
  for (const [name, value] of Object.entries(parameters)) stream.parameter({ name, value });
  return response.toString();
}

export async function reject(reason: "rejected" | "busy" = "rejected"): Promise<string> {
  const { twiml } = await loadTwilio();
  const response = new twiml.VoiceResponse();
  response.reject({ reason });
  return response.toString();
}

export async function sayAndHangup(text?: string): Promise<string> {
  const { twiml } = await loadTwilio();
  const response = new twiml.VoiceResponse();
  if (text) response.say(text);
  response.hangup();
  return response.toString();
}

export interface DialTwiml {
  to: string;
  /** Must be a Twilio number or a verified caller ID of the account. */
  callerId: string;
  timeoutS: number;
  /** How long the dialled leg may last once answered. */
  timeLimitS: number;
  /** Told how the dialled leg ended; its TwiML answer decides what the caller hears next. */
  action: string;
}

/** `<Dial>`: hands the call to another number; on a live call it replaces (and so ends) the media stream. */
export async function dial({ to, callerId, timeoutS, timeLimitS, action }: DialTwiml): Promise<string> {
  const { twiml } = await loadTwilio();
  const response = new twiml.VoiceResponse();
  response.dial({ callerId, timeout: timeoutS, timeLimit: timeLimitS, action, method: "POST" }, to);
  return response.toString();
}
