// The URLs Twilio is given for a call, all derived from one public base: webhooks and the media stream.
export const TWILIO_PATHS = {
  voice: "/twilio/voice",
  status: "/twilio/status",
  amd: "/twilio/amd",
  dialStatus: "/twilio/dial-status",
  /** `<Connect action>`: the stream ended; the answer says whether the call goes on on a new one. */
  streamEnded: "/twilio/stream-ended",
  media: "/twilio/media-stream",
} as const;

export const trimSlash = (url: string) => url.replace(/\/+$/, "");

export function twilioUrl(base: string, path: string): string {
  return trimSlash(base) + path;
}

/** ws(s) follows the public base URL's scheme; the Host header is never trusted for it. */
export function mediaStreamUrl(base: string): string {
  return twilioUrl(base, TWILIO_PATHS.media).replace(/^http/, "ws");
}
