// A bridge that takes over a call whose media stream dropped opens a fresh model session, which knows nothing of
// the call: it is given the conversation so far as items, then the note that the line dropped. The agent then
// says it lost the other side for a second if it was speaking or had just been spoken to when the line dropped
// (through the model, so in the call's language and voice); otherwise it waits for the other side, as it would.
import { conversationSoFar, LINE_DROPPED_APOLOGY, responseInstructions } from "../agent/lines.ts";
import type { Logger } from "../log.ts";
import type { ModelProtocol } from "../model/protocol.ts";
import type { TurnRow } from "../store/store.ts";
import type { BridgeCall } from "./deps.ts";
import { type LineAtDrop, lineAtDrop } from "./line-state.ts";
import type { Responses } from "./model-events.ts";
import type { ModelLink } from "./model-link.ts";
import type { BridgeStore } from "./turns.ts";

export interface ResumeParts {
  link: ModelLink;
  protocol: ModelProtocol;
  responses: Responses;
  log: Logger;
  /** The session's instructions, which a response's own replace. */
  instructions(): string;
}

/** Where a resumed call's line stood when it dropped, and what was said before. */
export interface ResumeStart {
  atDrop: LineAtDrop;
  history: Promise<TurnRow[]>;
}

/** For a call taken over after its stream dropped; the transcript is read at once, to be there when the session is. */
export function resumeStart(call: BridgeCall, store: BridgeStore): ResumeStart | null {
  if (!call.resumed) return null;
  return { atDrop: lineAtDrop(call.resumed.line, call.resumed.droppedAt), history: store.transcript(call.id) };
}

/** The other side spoke last: the agent owed them an answer when the line dropped. */
function spokenTo(turns: TurnRow[]): boolean {
  const spoken = turns.filter((t) => t.role === "caller" || t.role === "agent");
  return spoken.at(-1)?.role === "caller";
}

/** Puts the conversation into the session that was just set up. */
export async function restoreConversation(p: ResumeParts, { atDrop, history }: ResumeStart): Promise<void> {
  const turns = await history.catch((error: unknown) => {
    p.log.warn("reading what was said failed; the agent goes on without it", { error });
    return [];
  });
  for (const line of conversationSoFar(turns)) p.link.send(p.protocol.history(line.role, line.text));
  const apologize = atDrop.agentSpeaking || spokenTo(turns);
  p.log.info("conversation restored on a new model session", { turns: turns.length, apologize });
  if (!apologize) return;
  const ask = p.protocol.reply(LINE_DROPPED_APOLOGY, responseInstructions(p.instructions(), LINE_DROPPED_APOLOGY));
  if (!ask) return;
  p.responses.requested = true;
  p.link.send(ask);
}
