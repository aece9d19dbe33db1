// What a prepared bridge writes is held until its media stream arrives. Sharing a database, the stream may
// land on another instance than the webhook that prepared this bridge, and the bridge there speaks and
// records the call: this one's greeting and metrics must not reach the call's transcript. Once attached,
// what was held is written in order and the rest passes straight through.
import type { TurnRow } from "../store/store.ts";
import type { BridgeStore } from "./turns.ts";

export interface HeldStore {
  store: BridgeStore;
  /** The stream arrived (or the bridge ended as the call's own): write what was held, and all from now on. */
  release(): void;
}

export function heldUntilAttached(store: BridgeStore): HeldStore {
  let released = false;
  const held: TurnRow[] = [];
  return {
    store: {
      upsertTurn(turn) {
        if (released) store.upsertTurn(turn);
        else held.push(turn);
      },
      saveMetrics(callId, metrics, at) {
        if (released) store.saveMetrics(callId, metrics, at);
      },
      saveLineState(callId, state, at) {
        if (released) store.saveLineState(callId, state, at);
      },
      transcript: (callId) => store.transcript(callId),
    },
    release() {
      if (released) return;
      released = true;
      for (const turn of held.splice(0)) store.upsertTurn(turn);
    },
  };
}
