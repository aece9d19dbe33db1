// GET /api/stream: the console's live view as Server-Sent Events, fed by the in-process change feed
// rather than by polling the database.
import type { Server } from "bun";
import type { AppContext } from "../app.ts";
import { getCall } from "../calls/errors.ts";
import { callDetail, callListing } from "../calls/view.ts";
import { createSlots } from "../runtime/slots.ts";
import type { MediaSocketData } from "./media-socket.ts";
import { DEFAULT_PAGE, encodeCursor } from "./paging.ts";
import { HttpError } from "./respond.ts";

/** A call changes many times a second while people talk; one event per call per window is enough to watch. */
export const COALESCE_MS = 250;
/** Under the idle timeouts of common proxies (often 30–60 s), so a quiet stream is not cut. */
export const HEARTBEAT_MS = 15_000;
const RETRY_MS = 3000;
const RECENT_CALLS = 20;
/** Each stream holds a subscription and timers; a console tab needs one, so this is many people watching. */
export const MAX_STREAMS = 32;
/** A few tabs per person, so that one client cannot take every place and lock the others out. */
export const MAX_STREAMS_PER_CLIENT = 4;
/** What a client that stopped reading may leave queued before its stream is ended (it reconnects later). */
const MAX_QUEUED_BYTES = 1 << 20;

const lastTurn = async (ctx: AppContext, id: string) => (await ctx.store.transcript(id)).at(-1);

async function listing(ctx: AppContext, id: string) {
  const call = await ctx.store.getCall(id);
  return call ? callListing(call, await lastTurn(ctx, id)) : null;
}

async function detail(ctx: AppContext, id: string) {
  const call = await ctx.store.getCall(id);
  if (!call) return null;
  const extras = {
    events: await ctx.store.events(id),
    turns: await ctx.store.transcript(id),
    attempts: await ctx.store.attempts(id),
  };
  return callDetail(call, extras);
}

/** The first page of active calls, as GET /api/calls gives it (next_cursor for the rest), and the recent ones. */
async function snapshot(ctx: AppContext) {
  const listed = await ctx.store.listActivePage(null, DEFAULT_PAGE + 1);
  const page = listed.slice(0, DEFAULT_PAGE);
  const active = await Promise.all(page.map(async (c) => callListing(c, await lastTurn(ctx, c.id))));
  const recent = (await ctx.store.listRecent(RECENT_CALLS)).map((c) => callListing(c, undefined));
  const next_cursor = listed.length > DEFAULT_PAGE ? encodeCursor(page.at(-1)!) : null;
  return { active, recent, next_cursor };
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** What a stream starts with: the reconnect delay, the lists, and the followed call's detail. */
async function firstFrames(ctx: AppContext, followed: string | null): Promise<string> {
  const lists = frame("calls", await snapshot(ctx));
  return `retry: ${RETRY_MS}\n\n${lists}${followed ? frame("detail", await detail(ctx, followed)) : ""}`;
}

/**
 * `event: calls` once with the active and recent calls, then `event: call` with a call's list row each
 * time it changes, and, for the call named by `?call=`, `event: detail` with its whole detail: the page
 * that follows one call replaces its view instead of merging pieces, and it is one call at ≤ 4 a second.
 * At most MAX_STREAMS are open at once, and MAX_STREAMS_PER_CLIENT from one client address.
 */
export function createLiveStreams(ctx: AppContext) {
  const slots = createSlots(MAX_STREAMS, MAX_STREAMS_PER_CLIENT);
  return async (req: Request, server: Server<MediaSocketData>): Promise<Response> => {
    const followed = new URL(req.url).searchParams.get("call");
    if (followed) await getCall(ctx, followed);
    // Taken before the reads below, so requests reading at once cannot all take the last place.
    const release = slots.take(server.requestIP(req)?.address ?? "unknown");
    if (release === "per_key")
      throw new HttpError(
        429,
        `Too many live streams from this address: at most ${MAX_STREAMS_PER_CLIENT} may be open`,
      );
    if (release === "total") throw new HttpError(429, `Too many live streams: at most ${MAX_STREAMS} may be open`);
    // Read before the stream exists, so a failing database is this request's error, not a broken stream.
    const first = await firstFrames(ctx, followed).catch((e: unknown) => {
      release();
      throw e;
    });
    // The stream is idle between changes for longer than Bun's default idle timeout; the heartbeat keeps proxies awake.
    server.timeout(req, 0);
    const headers = {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      // Tells nginx not to buffer the stream.
      "X-Accel-Buffering": "no",
    };
    return new Response(streamBody(ctx, req, followed, first, release), { headers });
  };
}

function streamBody(ctx: AppContext, req: Request, followed: string | null, first: string, closed: () => void) {
  const encoder = new TextEncoder();
  let stop = () => {};
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const send = (text: string) => {
          // A client that stopped reading is let go rather than buffered for without end.
          if ((controller.desiredSize ?? 0) <= 0) throw new Error("client not reading");
          controller.enqueue(encoder.encode(text));
        };
        send(first);
        stop = followChanges(ctx, followed, send, () => {
          closed();
          controller.close();
        });
        req.signal.addEventListener("abort", () => stop(), { once: true });
      },
      cancel: () => stop(),
    },
    { highWaterMark: MAX_QUEUED_BYTES, size: (chunk) => chunk?.byteLength ?? 0 },
  );
}

/** Subscribes for one stream; the returned function ends it (idempotent). */
function followChanges(
  ctx: AppContext,
  followed: string | null,
  send: (text: string) => void,
  close: () => void,
): () => void {
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  let open = true;
  const flush = async (id: string) => {
    pending.delete(id);
    const row = await listing(ctx, id);
    const followedDetail = row && id === followed ? await detail(ctx, id) : null;
    if (!open || !row) return;
    send(frame("call", row));
    if (id === followed) send(frame("detail", followedDetail));
  };
  // Changes made on other instances may have been missed: the lists and the followed call, read again.
  const catchUp = async () => {
    const lists = frame("calls", await snapshot(ctx));
    const followedDetail = followed ? frame("detail", await detail(ctx, followed)) : "";
    if (open) send(lists + followedDetail);
  };
  // Reading is deferred out of the store write that announced the change, and batches a burst into one read.
  const unsubscribe = ctx.changes.subscribe(
    (id) => {
      if (!pending.has(id))
        pending.set(
          id,
          setTimeout(() => guarded(() => flush(id)), COALESCE_MS),
        );
    },
    () => guarded(catchUp),
  );
  const heartbeat = setInterval(() => guarded(() => send(": ping\n\n")), HEARTBEAT_MS);
  const end = () => {
    if (!open) return;
    open = false;
    unsubscribe();
    clearInterval(heartbeat);
    for (const timer of pending.values()) clearTimeout(timer);
    pending.clear();
    try {
      close();
    } catch {
      // Already closed by the client going away.
    }
  };
  // A write to a stream the client has left throws, as may a read while the database fails: either way this
  // stream ends and the client reconnects after `retry`.
  const guarded = (fn: () => void | Promise<void>) => {
    try {
      Promise.resolve(fn()).catch(end);
    } catch {
      end();
    }
  };
  return end;
}
