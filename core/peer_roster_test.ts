import assert from "node:assert/strict";
import { isSeedClient, PeerRoster, type RosterEntry } from "./peer_roster.ts";
import { type Endpoint, rosterDigest } from "../protocol.ts";

const at = (port: number): Endpoint => ({ host: "10.0.0.1", port });

function recorded() {
  const log: string[] = [];
  const roster = new PeerRoster("me", at(1), {
    updated: (e) => log.push(`updated ${e.name}`),
    joined: (e) => log.push(`joined ${e.name}`),
    left: (e, _endpoint, reason) => log.push(`left ${e.name} ${reason}`),
  });
  return { roster, log };
}

Deno.test("roster: the first list is applied quietly, then held notices in order", () => {
  const { roster, log } = recorded();
  roster.notice({ type: "login", name: "carol", endpoint: at(4), flavor: "peerchat/2" });
  roster.notice({ type: "logout", name: "bob", endpoint: at(3) });
  roster.applyList([
    { name: "alice", endpoint: at(2), flavor: "peerchat/2" },
    { name: "bob", endpoint: at(3), flavor: "" },
    { name: "ME", endpoint: at(9), flavor: "peerchat/2" },
  ], false);
  assert.deepEqual(roster.endpoint, at(9), "its own entry gives the peer's endpoint");
  assert.deepEqual([...roster.entries()].map((e) => e.name), ["alice", "carol"]);
  assert.deepEqual(log, ["updated alice", "updated bob", "updated carol"], "nothing announced");
  // After the list, notices apply at once and are announced.
  roster.notice({ type: "login", name: "dave", endpoint: at(5), flavor: "peerchat/2" });
  roster.notice({ type: "logout", name: "alice", endpoint: at(99), reason: "logout" });
  assert.ok(roster.has("ALICE"), "a leave from another endpoint is not alice's");
  roster.batch([{ op: "leave", name: "alice", endpoint: at(2), reason: "timeout" }]);
  assert.deepEqual(log.slice(3), ["updated dave", "joined dave", "left alice timeout"]);
});

Deno.test("roster: the digest follows every change, and names compare case-insensitively", () => {
  const { roster } = recorded();
  roster.applyList([{ name: "Alice", endpoint: at(2), flavor: "peerchat/2" }], false);
  const expected = (users: { name: string; endpoint: Endpoint }[]) =>
    rosterDigest([...users, { name: "me", endpoint: at(1) }]);
  assert.equal(roster.digest(), expected([{ name: "Alice", endpoint: at(2) }]));
  roster.notice({ type: "login", name: "bob", endpoint: at(3), flavor: "" });
  assert.equal(
    roster.digest(),
    expected([{ name: "Alice", endpoint: at(2) }, { name: "bob", endpoint: at(3) }]),
  );
  assert.equal(roster.knownName("alice"), "Alice");
  assert.equal(roster.get("BOB")?.name, "bob");
  assert.ok(isSeedClient(roster.get("bob") as RosterEntry));
});

Deno.test("roster: a move or a new kind restarts delivery; a repeat changes nothing", () => {
  const { roster, log } = recorded();
  roster.applyList([], false);
  roster.notice({ type: "login", name: "bob", endpoint: at(3), flavor: "peerchat/2" });
  roster.notice({ type: "login", name: "bob", endpoint: at(3), flavor: "peerchat/2" });
  roster.notice({ type: "login", name: "bob", endpoint: at(4), flavor: "peerchat/2" });
  roster.notice({ type: "login", name: "bob", endpoint: at(4), flavor: "seed/utf16" });
  assert.deepEqual(log, [
    "updated bob",
    "joined bob",
    "updated bob",
    "joined bob",
    "updated bob",
  ]);
  assert.equal(roster.encoding("bob"), "utf-16le", "the C# client speaks UTF-16LE");
  assert.equal(roster.contact("bob")?.seed, true);
});

Deno.test("roster: a failed fetch drops what was held; a later list announces differences", () => {
  const { roster, log } = recorded();
  roster.applyList([{ name: "alice", endpoint: at(2), flavor: "peerchat/2" }], false);
  roster.holdNotices();
  roster.notice({ type: "login", name: "bob", endpoint: at(3), flavor: "peerchat/2" });
  roster.stopHolding();
  assert.equal(roster.has("bob"), false);
  roster.holdNotices();
  roster.applyList([{ name: "carol", endpoint: at(4), flavor: "peerchat/2" }], true);
  assert.deepEqual(log.slice(1), ["left alice gone", "updated carol", "joined carol"]);
});

Deno.test("roster: contacts are capped; the one unseen longest and offline goes first", () => {
  const roster = new PeerRoster("me", at(1), { updated() {}, joined() {}, left() {} }, 3);
  roster.applyList([{ name: "online", endpoint: at(2), flavor: "" }], false);
  roster.restoreContacts([["a", { name: "a", seed: false }], ["b", { name: "b", seed: false }]]);
  assert.equal(roster.contacts, 3);
  roster.notice({ type: "login", name: "c", endpoint: at(3), flavor: "peerchat/2" });
  assert.equal(roster.contacts, 3);
  assert.equal(roster.knownName("a"), undefined, "a went");
  assert.equal(roster.knownName("online"), "online", "someone online stays");
  for (let i = 0; i < 10_000; i++) {
    roster.notice({ type: "login", name: `u${i}`, endpoint: at(10 + i), flavor: "" });
    roster.notice({ type: "logout", name: `u${i}`, endpoint: at(10 + i) });
  }
  assert.equal(roster.contacts, 3);
});

Deno.test("roster: keys come with the list, batches and found; the digest covers them", () => {
  const { roster, log } = recorded();
  const key = (c: string) => c.repeat(42) + "A";
  roster.applyList([
    { name: "alice", endpoint: at(2), flavor: "peerchat/2", key: key("a") },
    { name: "nc", endpoint: at(3), flavor: "" },
    { name: "me", endpoint: at(1), flavor: "peerchat/2", key: key("m") },
  ], false);
  assert.equal(roster.get("alice")?.key, key("a"));
  assert.equal("key" in roster.get("nc")!, false, "a seed client has no key");
  assert.equal(
    roster.digest(),
    rosterDigest([
      { name: "alice", endpoint: at(2), key: key("a") },
      { name: "nc", endpoint: at(3) },
      { name: "me", endpoint: at(1), key: key("m") },
    ]),
    "the peer's own key too, as the list says",
  );
  roster.batch([{ op: "join", name: "bob", endpoint: at(4), flavor: "peerchat/2", key: key("b") }]);
  assert.equal(roster.get("bob")?.key, key("b"));
  // The same endpoint with another key is a change: delivery starts over (announced as no join).
  log.length = 0;
  roster.notice({
    type: "login",
    name: "bob",
    endpoint: at(4),
    flavor: "peerchat/2",
    key: key("c"),
  });
  assert.equal(roster.get("bob")?.key, key("c"));
  assert.deepEqual(log, ["updated bob"]);
});
