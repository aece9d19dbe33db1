// The tools every call's model is given. A new tool is a module beside end-call.ts and one entry here.
import { createToolRegistry, type ToolRegistry } from "../tools.ts";
import { endCall } from "./end-call.ts";
import { reportOutcome } from "./report-outcome.ts";

export const createCallTools = (): ToolRegistry => createToolRegistry([endCall, reportOutcome]);
