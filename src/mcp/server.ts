// The MCP server both doors run, on the official SDK. The SDK is imported when the first MCP request comes (or
// `agenticai mcp` starts), so `--version` and a server that never gets one do not load it.
//
// It is the SDK's low-level Server rather than McpServer: McpServer validates arguments itself and words the
// refusal its own way, while each tool here must answer with the API's own error, word for word, and publish the
// JSON Schemas generated from the API's zod schemas (tools.ts).
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { VERSION } from "../version.ts";
import { SERVER_INSTRUCTIONS, TOOL_NAMES, type ToolName, type ToolResult, toolError, toolList } from "./tools.ts";

export interface ToolContext {
  /** Aborted when the client has gone away. */
  signal: AbortSignal;
  /** Sends a progress notification; present only when the client gave a progressToken. */
  progress?: (message: string) => void;
}

export type ToolHandlers = Record<ToolName, (args: Record<string, unknown>, tool: ToolContext) => Promise<ToolResult>>;

/** What a handler's throw becomes: the message a tool error carries. */
export type DescribeError = (error: unknown) => string;

const isTool = (name: string): name is ToolName => (TOOL_NAMES as readonly string[]).includes(name);

// The server side of the SDK validates JSON Schemas only for elicitation, which this server never asks for. Its
// default validator builds an Ajv instance per Server, and stateless mode makes a Server per request: ~0.4 ms each.
const NO_ELICITATION: jsonSchemaValidator = {
  getValidator: () => () => ({ valid: false, data: undefined, errorMessage: "this server asks for no input" }),
};

export async function createMcpServer(handlers: ToolHandlers, describe: DescribeError): Promise<Server> {
  const [{ Server }, { CallToolRequestSchema, ListToolsRequestSchema }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/index.js"),
    import("@modelcontextprotocol/sdk/types.js"),
  ]);
  const server = new Server(
    { name: "agenticai", title: "agenticai phone calls", version: VERSION },
    { capabilities: { tools: {} }, instructions: SERVER_INSTRUCTIONS, jsonSchemaValidator: NO_ELICITATION },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: toolList() }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args = {}, _meta } = request.params;
    if (!isTool(name)) return toolError(`Unknown tool '${name}': the tools are ${TOOL_NAMES.join(", ")}`);
    const token = _meta?.progressToken;
    let sent = 0;
    const progress =
      token === undefined
        ? undefined
        : (message: string) => {
            // A notification that cannot be sent (the client has gone) changes nothing about the call.
            extra
              .sendNotification({
                method: "notifications/progress",
                params: { progressToken: token, progress: ++sent, message },
              })
              .catch(() => {});
          };
    try {
      return await handlers[name](args, { signal: extra.signal, progress });
    } catch (e) {
      return toolError(describe(e));
    }
  });
  return server;
}

/**
 * One POST to /mcp, in stateless mode: a server and a transport for this request alone, so any instance behind a
 * load balancer can answer any request (no session to find). `body` is read and checked by the edge; progress
 * rides on this request's own event stream. The client going away closes the server, which aborts its tools.
 */
export async function handleMcpPost(
  handlers: ToolHandlers,
  describe: DescribeError,
  req: Request,
  body: unknown,
): Promise<Response> {
  const { WebStandardStreamableHTTPServerTransport } = await import(
    "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
  );
  const server = await createMcpServer(handlers, describe);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  await server.connect(transport);
  // Closing aborts the tools still running; nothing is left to report to a client that has gone.
  req.signal.addEventListener("abort", () => server.close().catch(() => {}), { once: true });
  return transport.handleRequest(req, { parsedBody: body });
}
