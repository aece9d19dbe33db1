// POST /mcp: the MCP tools (src/mcp/) over Streamable HTTP, run in this process on the functions the API's own
// routes use, with no HTTP round trip. The route sits behind the API's guard, token and rate limit (server.ts).
import type { Server } from "bun";
import type { AppContext } from "../app.ts";
import { CallError, getCall } from "../calls/errors.ts";
import { endCall } from "../calls/hangup.ts";
import { callListing } from "../calls/view.ts";
import { handleMcpPost, type ToolContext, type ToolHandlers } from "../mcp/server.ts";
import {
  callResult,
  EndCallInput,
  endedResult,
  GetCallInput,
  ListCallsInput,
  type ListCallsResult,
  parseArguments,
  placedResult,
  ToolError,
  toolResult,
  WaitInput,
  waitResult,
} from "../mcp/tools.ts";
import { waitForCall } from "../mcp/wait.ts";
import { createSlots, type Slots } from "../runtime/slots.ts";
import { type CallBudget, MAX_JSON_DEPTH, placeCall, readCallDetail, readJson } from "./api.ts";
import type { MediaSocketData } from "./media-socket.ts";
import { failure, HttpError, STORAGE_UNAVAILABLE, storageUnavailable } from "./respond.ts";

/** JSON-RPC puts a tool's arguments two levels down ({params: {arguments}}): the API's depth limit applies to them. */
const ENVELOPE_DEPTH = 2;
/** A wait holds a subscription and an open response for up to 15 minutes; this many may run at once. */
export const MAX_WAITS = 64;
/** More than the calls one client usually follows at once, and few enough that one client cannot take every place. */
export const MAX_WAITS_PER_CLIENT = 16;

/** list_calls: a page of the active calls, then the recently ended ones; an active one with its newest turn. */
async function listCalls(ctx: AppContext, args: unknown): Promise<ListCallsResult> {
  const { status, limit } = parseArguments(ListCallsInput, args);
  const [active, recent] = await Promise.all([ctx.store.listActivePage(null, limit), ctx.store.listRecent(limit)]);
  // A call that ended between the two reads is in both; it is listed once, as ended.
  const rows = new Map([...active, ...recent].map((c) => [c.id, c]));
  const listed = [...rows.values()].filter((c) => status === undefined || c.status === status).slice(0, limit);
  const lastTurn = async (id: string) => (await ctx.store.transcript(id)).at(-1);
  const calls = await Promise.all(
    listed.map(async (c) => callListing(c, c.ended_at === null ? await lastTurn(c.id) : undefined)),
  );
  return { success: true, calls, count: calls.length };
}

async function waitTool(ctx: AppContext, waits: Slots, address: string, args: unknown, tool: ToolContext) {
  const { call_id, timeout_s, include_transcript } = parseArguments(WaitInput, args);
  const id = (await getCall(ctx, call_id)).id;
  const release = waits.take(address);
  if (release === "per_key")
    throw new ToolError(`Too many waits from this address: at most ${MAX_WAITS_PER_CLIENT} may run at once`);
  if (release === "total") throw new ToolError(`Too many waits: at most ${MAX_WAITS} may run at once`);
  try {
    const { call, timedOut } = await waitForCall({
      read: () => readCallDetail(ctx, id),
      follow: (changed) => ctx.changes.subscribe((changedId) => changedId === id && changed()),
      timeoutMs: timeout_s * 1000,
      signal: tool.signal,
      progress: tool.progress,
    });
    return toolResult(waitResult(call, include_transcript, timedOut));
  } finally {
    release();
  }
}

function localTools(ctx: AppContext, budget: CallBudget, waits: Slots): ToolHandlers {
  const detail = (id: string) => readCallDetail(ctx, id);
  return {
    async place_call(args) {
      const created = await placeCall(ctx, args, budget);
      return toolResult(placedResult(created, await detail(created.call_id)));
    },
    async get_call(args) {
      const { call_id, include_transcript } = parseArguments(GetCallInput, args);
      return toolResult(callResult(await detail(call_id), include_transcript));
    },
    list_calls: async (args) => toolResult(await listCalls(ctx, args)),
    async end_call(args) {
      const { call_id } = parseArguments(EndCallInput, args);
      return toolResult(endedResult(await detail((await endCall(ctx, call_id)).id)));
    },
    wait_for_call: (args, tool) => waitTool(ctx, waits, budget.address, args, tool),
  };
}

/** A tool's refusal carries the API's message word for word; anything unforeseen is logged and worded as the API's 500. */
function describeFailure(ctx: AppContext) {
  return (e: unknown): string => {
    if (e instanceof HttpError || e instanceof CallError || e instanceof ToolError) return e.message;
    ctx.log.error("MCP tool failed", { error: e });
    return storageUnavailable(e) ? STORAGE_UNAVAILABLE : "Internal server error";
  };
}

/**
 * The transport refuses a malformed MCP request (no event-stream in Accept, not JSON-RPC) with a JSON-RPC error
 * body; like every refusal under /api/ and /mcp, it is sent in the API's error shape, with its status.
 */
async function inApiShape(res: Response): Promise<Response> {
  if (res.status < 400) return res;
  const body = (await res.json().catch(() => null)) as { error?: { message?: unknown } } | null;
  const message = body?.error?.message;
  const allow = res.headers.get("allow");
  return failure(
    res.status,
    typeof message === "string" ? message : `MCP request refused (HTTP ${res.status})`,
    allow ? { Allow: allow } : undefined,
  );
}

export function createMcpEndpoint(ctx: AppContext) {
  const waits = createSlots(MAX_WAITS, MAX_WAITS_PER_CLIENT);
  const describe = describeFailure(ctx);
  return async (req: Request, server: Server<MediaSocketData>, budget: CallBudget): Promise<Response> => {
    const body = await readJson(req, MAX_JSON_DEPTH + ENVELOPE_DEPTH);
    // A wait answers after up to 15 minutes, its event stream kept open by comment lines every 15 s: longer than
    // Bun's idle timeout.
    server.timeout(req, 0);
    return inApiShape(await handleMcpPost(localTools(ctx, budget, waits), describe, req, body));
  };
}
