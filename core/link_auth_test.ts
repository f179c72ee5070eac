import assert from "node:assert/strict";
import { LinkAuth, REPLAY_WINDOW } from "./link_auth.ts";
import { ReplayWindow } from "../crypto/replay.ts";
import { parseDatagram } from "../protocol.ts";
import { randomBytes } from "../crypto/primitives.ts";
import type { AuthMessage } from "../wire/auth.ts";

const encode = (text: string) => new TextEncoder().encode(text);

function pair(): [LinkAuth, LinkAuth] {
  const a = randomBytes(32);
  const b = randomBytes(32);
  return [new LinkAuth({ send: a, receive: b }), new LinkAuth({ send: b, receive: a })];
}

function parsed(bytes: Uint8Array): AuthMessage {
  const result = parseDatagram(bytes);
  assert.ok(result.ok && result.value.type === "auth");
  return result.value as AuthMessage;
}

Deno.test("link auth: what one end seals the other opens, once", () => {
  const [coordinator, peer] = pair();
  const sealed = coordinator.seal(encode("pong,bob,ok"));
  const text = new TextDecoder().decode(sealed);
  assert.match(text, /^auth,1,[A-Za-z0-9_-]{22},pong,bob,ok$/);
  const message = parsed(sealed);
  assert.equal(peer.open(message), "ok");
  assert.equal(peer.open(message), "replayed", "the same datagram again");
  assert.equal(coordinator.open(message), "forged", "a datagram reflected back to its sender");
  const second = parsed(coordinator.seal(encode("Reject,No, thanks.")));
  assert.equal(second.seq, 2);
  assert.equal(second.inner, "Reject,No, thanks.");
  assert.equal(peer.open({ ...second, inner: "Reject,Yes, please." }), "forged");
  const flipped = second.tag[0] === "A" ? "B" + second.tag.slice(1) : "A" + second.tag.slice(1);
  assert.equal(peer.open({ ...second, tag: flipped }), "forged");
  assert.equal(peer.open({ ...second, seq: 3 }), "forged", "a tag is for its own number");
  assert.equal(peer.open(second), "ok", "failed attempts mark nothing");
});

Deno.test("link auth: datagrams out of order pass within the window; new keys start over", () => {
  const [coordinator, peer] = pair();
  const sealed = Array.from(
    { length: 300 },
    (_, i) => parsed(coordinator.seal(encode(`pong,b,${i}`))),
  );
  assert.equal(peer.open(sealed[10]), "ok");
  assert.equal(peer.open(sealed[3]), "ok", "late, within the window");
  assert.equal(peer.open(sealed[299]), "ok");
  assert.equal(peer.open(sealed[299 - REPLAY_WINDOW]), "replayed", "too late: below the window");
  assert.equal(peer.open(sealed[100]), "ok");
  // A new login: new keys, and numbers from 1 again (the old datagrams no longer verify).
  const send = randomBytes(32);
  const receive = randomBytes(32);
  coordinator.rekey({ send, receive });
  peer.rekey({ send: receive, receive: send });
  const fresh = parsed(coordinator.seal(encode("pong,b,ok")));
  assert.equal(fresh.seq, 1);
  assert.equal(peer.open(fresh), "ok");
  assert.equal(peer.open(sealed[200]), "forged");
});

Deno.test("replay window: each number once, within the window, marked in any order", () => {
  const window = new ReplayWindow(REPLAY_WINDOW - 1, 1); // the link's: numbers from 1
  assert.equal(window.check(0), false);
  for (const seq of [5, 1, 3, 2, 4]) {
    assert.equal(window.check(seq), true);
    window.mark(seq);
    assert.equal(window.check(seq), false);
  }
  window.mark(5 + REPLAY_WINDOW * 3); // a big jump forgets everything below
  assert.equal(window.check(6 + REPLAY_WINDOW * 2), true);
  assert.equal(window.check(5 + REPLAY_WINDOW * 2), false);
});
