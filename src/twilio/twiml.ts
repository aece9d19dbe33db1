import { loadTwilio } from "./sdk.ts";

export interface StreamTwiml {
  streamUrl: string;
  parameters: Record<string, string>;
}

/** `<Connect><Stream>`: bidirectional media. Correlation goes in `<Parameter>`s since Twilio drops query strings. */
export async function connectStream({ streamUrl, parameters }: StreamTwiml): Promise<string> {
  const { twiml } = await loadTwilio();
  const response = new twiml.VoiceResponse();
  const stream = response.connect().stream({ url: streamUrl });
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
