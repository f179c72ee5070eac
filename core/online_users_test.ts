import assert from "node:assert/strict";
import { type OnlineUser, OnlineUsers } from "./online_users.ts";
import {
  type Endpoint,
  formatEndpoint,
  nameKey,
  parseList,
  rosterDigest,
  userHash,
} from "../protocol.ts";

const KEY = "A".repeat(42) + "E";

function user(name: string, port: number, session?: string, now = 0): OnlineUser {
  const endpoint: Endpoint = { host: "10.0.0.1", port };
  const dhKey = session ? KEY : undefined;
  return {
    name,
    key: nameKey(name),
    endpoint,
    endpointText: formatEndpoint(endpoint),
    sourceHost: "10.0.0.1",
    flavor: session ? "peerchat/2" : "",
    dhKey,
    encoding: "utf-8",
    session,
    hash: userHash(name, endpoint, dhKey),
    lastSeen: now,
  };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
/** Online users as the digest sees them: `key` is their X25519 key (`OnlineUser.key` is the name's). */
const digestOf = (users: Iterable<OnlineUser>) =>
  rosterDigest([...users].map((u) => ({ name: u.name, endpoint: u.endpoint, key: u.dhKey })));

Deno.test("online users: found by name (any case) and endpoint; digest and lists follow", () => {
  const users = new OnlineUsers();
  const ann = user("Ann", 4000, "s1");
  const bob = user("bob", 4001);
  users.add(ann);
  users.add(bob);
  assert.equal(users.get("ANN"), ann);
  assert.equal(users.byKey("ann"), ann);
  assert.equal(users.atEndpoint("10.0.0.1:4001"), bob);
  assert.equal(users.size, 2);
  assert.equal(users.peerCount, 1);
  assert.deepEqual([...users.seeds()], [bob]);
  assert.deepEqual(users.recipients(), [{ ...ann.endpoint, link: undefined }]);
  assert.deepEqual(users.keyHolders(), ["ann"]);
  assert.equal(users.digest.toString(16).padStart(8, "0"), digestOf([ann, bob]));
  assert.equal(text(users.listBytes(false)), "Ann,10.0.0.1:4000;bob,10.0.0.1:4001;end");
  assert.equal(
    text(users.listBytes(true)),
    `Ann,10.0.0.1:4000,peerchat/2,${KEY};bob,10.0.0.1:4001,;end`,
  );

  assert.equal(users.remove(bob), true);
  assert.equal(users.remove(bob), false, "removing twice does nothing");
  assert.equal(users.atEndpoint("10.0.0.1:4001"), undefined);
  assert.equal(users.seeds().size, 0);
  assert.equal(users.countFrom("10.0.0.1"), 1);
  assert.equal(users.countFrom("10.0.0.2"), 0);
  assert.equal(users.digest.toString(16).padStart(8, "0"), digestOf([ann]));
  assert.equal(text(users.listBytes(false)), "Ann,10.0.0.1:4000;end");
  // A stale record (its name now held by someone else) does not remove the new holder.
  users.remove(ann);
  const ann2 = user("ann", 4002, "s2");
  users.add(ann2);
  assert.equal(users.remove(ann), false);
  assert.equal(users.get("ann"), ann2);
});

Deno.test("online users: the least recently seen peer is found first; seed clients never", () => {
  const users = new OnlineUsers();
  users.add(user("a", 1, "sa", 0));
  users.add(user("b", 2, "sb", 100));
  users.add(user("seed", 3, undefined, 0));
  assert.equal(users.silent(1000, 8000), undefined, "nobody silent yet");
  users.touch(users.get("a")!, 5000); // a speaks: b is now the oldest
  assert.equal(users.silent(8200, 8000)?.name, "b");
  users.remove(users.get("b")!);
  assert.equal(users.silent(8200, 8000), undefined);
  assert.equal(users.silent(13_001, 8000)?.name, "a");
  users.touch(users.get("seed")!, 13_001); // a seed client has no session: no liveness
  users.remove(users.get("a")!);
  assert.equal(users.silent(1e9, 8000), undefined, "seed clients never time out");
});

Deno.test("online users: snapshots are copies the caller may change", () => {
  const users = new OnlineUsers();
  users.add(user("ann", 4000, "s"));
  const snapshot = users.snapshot();
  snapshot[0].name = "mallory";
  snapshot[0].endpoint.host = "6.6.6.6";
  snapshot[0].endpoint.port = 1;
  snapshot.pop();
  assert.deepEqual(users.snapshot(), [
    {
      name: "ann",
      endpoint: { host: "10.0.0.1", port: 4000 },
      flavor: "peerchat/2",
      key: KEY,
    },
  ]);
  assert.equal(users.atEndpoint("10.0.0.1:4000")?.name, "ann");
});

Deno.test("online users: random joins, leaves and touches keep every index consistent", () => {
  let state = 7;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const users = new OnlineUsers();
  const model = new Map<string, OnlineUser>();
  for (let step = 0; step < 5000; step++) {
    const port = 1 + Math.floor(random() * 200);
    const name = `u${port}`;
    const held = users.get(name);
    if (held && random() < 0.5) {
      users.remove(held);
      model.delete(held.key);
    } else if (held) {
      users.touch(held, step);
    } else {
      const added = user(name, port, random() < 0.7 ? `s${step}` : undefined, step);
      users.add(added);
      model.set(added.key, added);
    }
    if (step % 250 !== 0) continue;
    const list = parseList(text(users.listBytes(true)));
    assert.ok(list.ok);
    assert.deepEqual(list.value.map((e) => e.name), [...model.values()].map((u) => u.name));
    assert.equal(users.digest.toString(16).padStart(8, "0"), digestOf(model.values()));
    assert.equal(users.peerCount, [...model.values()].filter((u) => u.session).length);
    assert.equal(users.recipients().length, users.peerCount);
    assert.equal(users.seeds().size, users.size - users.peerCount);
    assert.equal(users.countFrom("10.0.0.1"), users.size);
  }
});
