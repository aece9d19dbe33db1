// GET /api/calls/{id}/recording: the call's WAV, with byte ranges so a player can seek and resume.
import type { AppContext } from "../app.ts";
import { getCall } from "../calls/errors.ts";
import { StorageUnavailable } from "../recording/storage.ts";
import { failure, HttpError } from "./respond.ts";

/** `bytes=a-b`, `bytes=a-` or `bytes=-n`, one range; anything else is served whole, as RFC 9110 allows. */
function byteRange(header: string | null, size: number): { start: number; end: number } | "unsatisfiable" | null {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === "" && m[2] === "")) return null;
  const [start, end] =
    m[1] === "" ? [Math.max(0, size - Number(m[2])), size - 1] : [Number(m[1]), m[2] === "" ? size - 1 : Number(m[2])];
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}

export async function showRecording(ctx: AppContext, id: string, req: Request): Promise<Response> {
  const call = await getCall(ctx, id);
  const file = await storedRecording(ctx, call.id);
  if (!file) return failure(404, "No recording for this call");
  const size = file.size;
  const headers = { "Content-Type": "audio/wav", "Accept-Ranges": "bytes", "Cache-Control": "no-store" };
  const range = byteRange(req.headers.get("range"), size);
  if (range === "unsatisfiable")
    return new Response(null, { status: 416, headers: { ...headers, "Content-Range": `bytes */${size}` } });
  if (!range) return new Response(file, { headers });
  return new Response(file.slice(range.start, range.end + 1), {
    status: 206,
    headers: { ...headers, "Content-Range": `bytes ${range.start}-${range.end}/${size}` },
  });
}

/** The call's recording wherever it is kept; a shared storage that fails is a 503 the client may retry. */
async function storedRecording(ctx: AppContext, callId: string) {
  try {
    return await ctx.recordings.file(callId);
  } catch (e) {
    if (!(e instanceof StorageUnavailable)) throw e;
    ctx.log.warn("reading a recording failed", { call_id: callId, error: e, cause: e.cause });
    throw new HttpError(503, "Recording storage unavailable: try again later");
  }
}
