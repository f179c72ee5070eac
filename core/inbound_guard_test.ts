import assert from "node:assert/strict";
import { InboundGuard } from "./inbound_guard.ts";
import { PeerRoster } from "./peer_roster.ts";
import type { Endpoint, Message } from "../protocol.ts";

const coordinator: Endpoint = { host: "10.0.0.1", port: 8888 };
const bob: Endpoint = { host: "10.0.0.2", port: 4000 };
const mallory: Endpoint = { host: "10.0.0.66", port: 4000 };
const nc: Endpoint = { host: "10.0.0.9", port: 5000 };

function guarded(linked = () => false) {
  const roster = new PeerRoster("me", { host: "10.0.0.3", port: 1 }, {
    updated() {},
    joined() {},
    left() {},
  });
  roster.applyList([
    { name: "bob", endpoint: bob, flavor: "peerchat/2", key: "A".repeat(42) + "E" },
    { name: "nc", endpoint: nc, flavor: "" },
  ], false);
  return new InboundGuard("me", coordinator, roster, undefined, linked);
}

Deno.test("guard: coordinator messages only from the coordinator's endpoint, and only sealed", () => {
  let linked = false;
  const guard = guarded(() => linked);
  // A challenge: taken from the coordinator only. Sealed: taken from anywhere (a relay or a NAT
  // may stand between), for the client checks its tag and number against the link's keys.
  const auth: Message = { type: "auth", seq: 1, tag: "t".repeat(21) + "w", inner: "pong,me,ok" };
  assert.equal(guard.accepts(auth, coordinator), true);
  assert.equal(guard.accepts(auth, mallory), true);
  const challenge: Message = {
    type: "challenge",
    name: "me",
    nonce: "n".repeat(21) + "w",
    key: "A".repeat(42) + "E",
  };
  assert.equal(guard.accepts(challenge, coordinator), true);
  assert.equal(guard.accepts(challenge, mallory), false);
  // Plain: never a roster change, a pong that is not "unknown", a bye, found or notfound — even
  // from the coordinator's own address (a spoofed source).
  const plain: Message[] = [
    { type: "login", name: "x", endpoint: mallory },
    { type: "logout", name: "bob", endpoint: bob },
    { type: "roster", changes: [] },
    { type: "pong", name: "me", status: "ok" },
    { type: "pong", name: "me", status: "stale", ticket: "t" },
    { type: "bye", name: "me" },
    { type: "found", name: "zed", endpoint: mallory, flavor: "peerchat/2" },
    { type: "notfound", name: "zed" },
  ];
  for (const message of plain) {
    assert.equal(guard.accepts(message, coordinator), false, message.type);
    assert.equal(guard.accepts(message, mallory), false, message.type);
  }
  assert.equal(guard.stats.unauthenticated, plain.length);
  // "unknown" is a hint to log in again (which proves itself anew): taken in plain.
  assert.equal(guard.accepts({ type: "pong", name: "me", status: "unknown" }, coordinator), true);
  assert.equal(
    guard.accepts({ type: "pong", name: "other", status: "unknown" }, coordinator),
    false,
  );
  // Accept and Reject in plain only before the login's proof (an old or refusing coordinator).
  const answers: Message[] = [{ type: "accept", port: 1 }, { type: "reject", reason: "no" }];
  for (const message of answers) assert.equal(guard.accepts(message, coordinator), true);
  linked = true;
  for (const message of answers) assert.equal(guard.accepts(message, coordinator), false);
  assert.equal(guard.stats.unauthenticated, plain.length + 2);
  assert.equal(guard.stats.spoofed, 1 + plain.length + 1);
});

Deno.test("guard: an ack only from the endpoint the roster lists for its name", () => {
  const guard = guarded();
  const ack: Message = { type: "ack", name: "bob", stream: "s", cumulative: 1, selective: [] };
  assert.equal(guard.accepts(ack, bob), true);
  assert.equal(guard.accepts(ack, mallory), false);
  assert.equal(guard.accepts({ ...ack, name: "nobody" }, bob), false);
  assert.equal(guard.stats.spoofed, 2);
});

Deno.test("guard: a peer takes no keep-alives", () => {
  const guard = guarded();
  assert.equal(guard.accepts({ type: "ping", name: "x", session: "s", digest: "0" }, bob), false);
  assert.equal(guard.stats.malformed, 1);
});

Deno.test("guard: msg only from a peerchat peer's listed endpoint", () => {
  const guard = guarded();
  const msg = (name: string): Message => ({
    type: "msg",
    name,
    stream: "s",
    seq: 1,
    part: 1,
    parts: 1,
    kind: "text",
    time: "t",
    body: "x",
  });
  assert.equal(guard.accepts(msg("BOB"), bob), true);
  assert.equal(guard.accepts(msg("bob"), { ...bob, port: 4001 }), false, "another port");
  assert.equal(guard.accepts(msg("bob"), mallory), false);
  assert.equal(guard.accepts(msg("nc"), nc), false, "a seed client never sends msg");
  assert.equal(guard.accepts(msg("stranger"), mallory), false);
  assert.equal(guard.stats.spoofed, 4);
});

Deno.test("guard: talk only from a seed client's listed IP address, any port", () => {
  const guard = guarded();
  const talk = (name: string): Message => ({ type: "talk", time: "t", name, text: "x" });
  assert.equal(guard.accepts(talk("nc"), nc), true);
  assert.equal(guard.accepts(talk("nc"), { ...nc, port: 40_000 }), true, "netcat's fresh port");
  assert.equal(guard.accepts(talk("nc"), mallory), false);
  assert.equal(guard.accepts(talk("bob"), bob), false, "a peerchat peer never sends talk");
  assert.equal(guard.accepts(talk("stranger"), mallory), false);
  assert.equal(guard.stats.spoofed, 3);
});

Deno.test("guard: each source IP address gets its own rate; the coordinator none", () => {
  const roster = new PeerRoster("me", { host: "10.0.0.3", port: 1 }, {
    updated() {},
    joined() {},
    left() {},
  });
  const guard = new InboundGuard("me", coordinator, roster, 100);
  let passed = 0;
  for (let i = 0; i < 1000; i++) if (guard.admit(mallory, 0)) passed++;
  assert.equal(passed, 200, "a burst of twice the rate");
  assert.equal(guard.stats.rateLimited, 800);
  assert.equal(guard.admit(bob, 0), true, "another address has its own bucket");
  for (let i = 0; i < 1000; i++) assert.equal(guard.admit(coordinator, 0), true);
  assert.equal(guard.admit(mallory, 10), true, "refilled: 100 a second");
});
