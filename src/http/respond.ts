export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}

/** Every error keeps the original API's body shape, `{success:false, error}`, whatever the status code. */
export function failure(status: number, error: string, headers?: Record<string, string>): Response {
  return json({ success: false, error }, status, headers);
}

export function xml(body: string): Response {
  return new Response(body, { headers: { "Content-Type": "text/xml; charset=utf-8" } });
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a body up to `limit` bytes; Content-Length is checked first so a large upload is refused unread. */
export async function readBody(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  const tooLarge = `Request body too large: the limit is ${limit} bytes`;
  if (declared > limit) throw new HttpError(413, tooLarge);
  const bytes = await req.arrayBuffer();
  if (bytes.byteLength > limit) throw new HttpError(413, tooLarge);
  return new TextDecoder().decode(bytes);
}
