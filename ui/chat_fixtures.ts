/**
 * Fixtures for the chat state and view tests: inputs, a logged-in state, a
 * seeded PRNG. Test support only; nothing a user runs imports it.
 *
 * @module
 */

import { type ChatLine, emptyView, reduce, type ViewInput, type ViewState } from "./chat_state.ts";

/** Applies inputs in order, stamping outgoing lines with `time`. */
export function apply(state: ViewState, inputs: ViewInput[], time = "14:00:00"): ViewState {
  return inputs.reduce((view, input) => reduce(view, input, time), state);
}

/** The lines of the conversation with `name`. */
export function conversation(state: ViewState, name: string): readonly ChatLine[] {
  return state.conversations.get(name.toLowerCase()) ?? [];
}

/** A message from `from`. */
export function message(from: string, id: string, text: string, time = "14:05:09"): ViewInput {
  return { event: "message", from, id, time, text, reliable: true };
}

/** A reliable (or not) message to `to`. */
export function sent(to: string, id: string, text: string, reliable = true): ViewInput {
  return { event: "sent", to, id, text, reliable };
}

/** A join of `name`. */
export function join(name: string): ViewInput {
  return { event: "join", name, endpoint: "192.168.1.30:4000" };
}

/** Alice, logged in, with bob and carol online. */
export function loggedIn(): ViewState {
  return apply(emptyView("alice", "192.168.1.5:8888"), [
    {
      event: "ready",
      name: "alice",
      endpoint: "192.168.1.20:40001",
      users: [{ name: "carol", endpoint: "192.168.1.22:1" }, {
        name: "bob",
        endpoint: "192.168.1.21:1",
      }],
    },
  ]);
}

/** A small seeded PRNG (mulberry32), so the property test is repeatable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- reduce
