// The worker thread behind facts-check.ts: checks a report's facts against the caller's report_schema, one job
// at a time, so a pattern that backtracks for seconds holds this thread and never the server's.

import { startupOver } from "../runtime/jit-policy.ts";
import type { FactsJob, FactsResult } from "./facts-check.ts";
import { factsProblem } from "./json-schema.ts";

declare const self: Worker;

// Started when a report needs it, long after the server's start: the JIT policy of a start does not apply here.
startupOver();

self.onmessage = async (event: MessageEvent<FactsJob>) => {
  const { id, schema, facts } = event.data;
  let problem: string | null;
  try {
    problem = await factsProblem(schema, facts);
  } catch (err) {
    problem = `'report_schema' cannot be checked: ${(err as Error).message}`;
  }
  self.postMessage({ id, problem } satisfies FactsResult);
};
