import assert from "node:assert/strict";
import { InboundGuard } from "./inbound_guard.ts";
import { PeerRoster } from "./peer_roster.ts";
import type { Endpoint, Message } from "../protocol.ts";

const coordinator: Endpoint = { host: "10.0.0.1", port: 8888 };
const bob: Endpoint = { host: "10.0.0.2", port: 4000 };
const mallory: Endpoint = { host: "10.0.0.66", port: 4000 };

function guarded() {
  const roster = new PeerRoster("me", { host: "10.0.0.3", port: 1 }, {
    updated() {},
    joined() {},
    left() {},
  });
  roster.applyList([{ name: "bob", endpoint: bob, flavor: "peerchat/1" }], false);
  return new InboundGuard("me", coordinator, roster);
}

Deno.test("guard: coordinator messages only from the coordinator's endpoint", () => {
  const guard = guarded();
  const notices: Message[] = [
    { type: "login", name: "x", endpoint: mallory },
    { type: "logout", name: "bob", endpoint: bob },
    { type: "accept", port: 1 },
    { type: "reject", reason: "no" },
    { type: "roster", changes: [] },
    { type: "pong", name: "me", status: "ok" },
  ];
  for (const message of notices) {
    assert.equal(guard.accepts(message, coordinator), true, message.type);
    assert.equal(guard.accepts(message, mallory), false, message.type);
  }
  assert.equal(guard.accepts({ type: "pong", name: "other", status: "ok" }, coordinator), false);
  assert.equal(guard.stats.spoofed, notices.length + 1);
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
