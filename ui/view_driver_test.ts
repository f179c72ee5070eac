import assert from "node:assert/strict";
import { renderView } from "./chat_view.ts";
import { painter } from "./format.ts";
import { ViewDriver } from "./view_driver.ts";
import { Coordinator } from "../coordinator.ts";
import { Peer } from "../peer.ts";
import { PinFile } from "../store/pins.ts";
import { answerKeyCommand } from "../cli/key_commands.ts";
import { x25519Generate } from "../crypto/primitives.ts";
import { encodeKey } from "../wire/keys.ts";
import { waitFor } from "../testing/helpers.ts";
import type { RoomCommands, RoomView } from "../core/room_view.ts";

const plain = painter(false);

Deno.test("\"Now talking to X\" lands in X's conversation, not the previous one's", () => {
  const driver = new ViewDriver("me", "127.0.0.1:8888", plain, () => undefined, () => undefined);
  driver.sink.info("partner", "Now talking to bob.", { with: "bob" });
  assert.equal(driver.state.partner, "bob");
  driver.sink.info("partner", "Now talking to carol.", { with: "carol" });
  assert.equal(driver.state.partner, "carol");
  const carolPane = renderView(driver.state, 80, 12, plain).join("\n");
  assert.match(carolPane, /Now talking to carol\./);
  driver.sink.info("partner", "Now talking to bob.", { with: "bob" });
  const bobPane = renderView(driver.state, 80, 12, plain).join("\n");
  assert.doesNotMatch(bobPane, /Now talking to carol\./);
});

Deno.test("on the chat screen: key marks in the roster follow /verify, key changes and /trust", async () => {
  const newKey = () => encodeKey(x25519Generate().publicKey);
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const bob = await Peer.start({
    name: "Bob",
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
  });
  const me = await Peer.start({
    name: "me",
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
  });
  try {
    const screen: { driver?: ViewDriver } = {};
    const trust = PinFile.memory().trust({ name: "me", key: newKey() }, {
      keyChanged: (change) => screen.driver!.sink.event({ event: "key-changed", ...change }),
    });
    const driver = screen.driver = new ViewDriver(
      "me",
      "127.0.0.1:8888",
      plain,
      () => undefined,
      () => me,
      () => trust,
    );
    trust.seen("Bob", newKey(), 0);
    driver.syncRoster();
    assert.deepEqual(driver.state.roster, [{ name: "Bob", seed: false, key: "unverified" }]);

    answerKeyCommand({ kind: "verify", name: "bob", confirm: false }, trust, driver.sink);
    const shown = renderView(driver.state, 100, 14, plain).join("\n");
    assert.match(shown, /Safety number with Bob:\s*│?.*\n.*\d{5} \d{5} \d{5} \d{5} \d{5} \d{5}/);
    answerKeyCommand({ kind: "verify", name: "bob", confirm: true }, trust, driver.sink);
    assert.equal(driver.state.roster[0].key, "verified");
    assert.match(renderView(driver.state, 100, 14, plain).join("\n"), /Bob ✓/);

    trust.seen("Bob", newKey(), 1);
    assert.equal(driver.state.roster[0].key, "changed");
    const warned = renderView(driver.state, 100, 14, plain).join("\n");
    assert.match(warned, /⚠ The key of Bob changed/);
    assert.match(warned, /Bob ⚠ key/);

    // A sender's key, introduced at their first message, goes in their conversation.
    driver.sink.info("introduce", "Bob's key …", { name: "Bob" });
    assert.equal(driver.state.system.at(-1)?.about, "bob");

    answerKeyCommand({ kind: "trust", name: "bob" }, trust, driver.sink);
    assert.equal(driver.state.roster[0].key, "unverified");
    assert.match(renderView(driver.state, 100, 14, plain).join("\n"), /You accepted Bob's new key/);
  } finally {
    await me.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("on the chat screen: the roster shows the path the peer found, and the line saying so", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const screen: { driver?: ViewDriver } = {};
  const bob = await Peer.start({
    name: "Bob",
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
  });
  const me = await Peer.start({
    name: "me",
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    onEvent: (event) => screen.driver?.sink.event(event),
  });
  try {
    const driver = screen.driver = new ViewDriver(
      "me",
      "127.0.0.1:8888",
      plain,
      () => undefined,
      () => me,
    );
    driver.syncRoster();
    assert.deepEqual(driver.state.roster, [{ name: "Bob", seed: false }], "no path yet");
    assert.ok(me.send("Bob", "hi").ok);
    await waitFor(() => driver.state.roster[0]?.path === "lan", "the path event on the screen");
    const line = driver.state.system.findLast((l) => l.kind === "path");
    assert.equal(line?.text, `Bob: direct on the LAN (127.0.0.1:${bob.endpoint.port})`);
    assert.equal(line?.about, "bob");
    driver.syncRoster();
    assert.deepEqual(driver.state.roster, [{ name: "Bob", seed: false, path: "lan" }]);
    assert.match(renderView(driver.state, 80, 8, plain).join("\n"), /│ {3}Bob {14}LAN\n/);
  } finally {
    await me.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("fake rooms (UI-only): the driver lists rooms from peer.rooms, shows own posts, switches by key", () => {
  // A FAKE peer.rooms with only list() (UI unit test; the engine is tested after the merge).
  const views: RoomView[] = [{
    room: "#lab",
    version: 3,
    topic: "Lab 3",
    owners: ["me"],
    members: [
      { name: "me", online: true, owner: true },
      { name: "bob", online: false, owner: false },
    ],
    inviteOnly: false,
    announceOnly: false,
    history: "shared",
    canPost: true,
  }];
  const rooms = { list: () => views } as unknown as RoomCommands;
  const driver = new ViewDriver(
    "me",
    "127.0.0.1:8888",
    plain,
    () => undefined,
    () => undefined,
    () => undefined,
    () => rooms,
  );
  driver.sink.info("room-ok", "You are in #lab.", {
    command: "join",
    room: "#lab",
    state: views[0],
  });
  assert.equal(driver.state.partner, "#lab", "the answer to /join is shown in #lab");
  assert.match(renderView(driver.state, 100, 10, plain).join("\n"), /You are in #lab\./);
  driver.sink.info("partner", "All.", { with: "bob" });
  driver.sink.event({ event: "room-join", room: "#lab", name: "me" });
  assert.deepEqual(driver.state.rooms, [
    { name: "#lab", topic: "Lab 3", members: 2, online: 1, announceOnly: false },
  ]);
  driver.sink.info("room-sent", "[#lab] you: hello", {
    room: "#lab",
    id: "#lab/me/1",
    text: "hello",
  });
  assert.deepEqual(driver.state.conversations.get("#lab")?.map((l) => [l.direction, l.text]), [
    ["out", "hello"],
  ]);
  const switched: string[] = [];
  assert.equal(driver.navigate({ kind: "alt-digit", digit: 1 }, (to) => switched.push(to)), true);
  assert.equal(driver.state.partner, "#lab");
  assert.deepEqual(switched, ["#lab"]);
  assert.equal(driver.navigate({ kind: "alt-a" }, (to) => switched.push(to)), true, "taken, rings");
  assert.equal(driver.navigate({ kind: "up" }, (to) => switched.push(to)), false);
  assert.deepEqual(switched, ["#lab"]);
  const shown = renderView(driver.state, 100, 10, plain).join("\n");
  assert.match(shown, /#lab · 2 members · Lab 3/);
  assert.match(shown, /you: hello/);
});
