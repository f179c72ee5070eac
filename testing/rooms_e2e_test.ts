/**
 * Rooms end to end (issue 13), with the real `peerchat` program on 127.0.0.1: the class channel
 * `#all` in announce-only mode (a student's post refused with a clear message, the teacher's
 * reaching everyone online and everyone who comes later, after the teacher left), catch-up from
 * whoever is online while the original sender is offline, and who is not a member (never
 * invited, or kicked) receiving nothing.
 */

import assert from "node:assert/strict";
import {
  type JsonEvent,
  type PeerchatProcess,
  spawnCoordinator,
  spawnPeer,
  waitFor,
} from "./helpers.ts";

/** Runs `/history ROOM 1000` and returns its entries. */
async function roomHistory(peer: PeerchatProcess, room: string): Promise<JsonEvent[]> {
  const before = peer.events.length;
  await peer.writeLine(`/history ${room} 1000`);
  const answer = await peer.waitFor(
    (e) => e.event === "history" && e.room === room && peer.events.indexOf(e) >= before,
    `${room}'s history`,
  );
  return answer.entries;
}

/** Waits until `peer` has a `room-members` event for `room` with `count` members. */
function members(
  peer: PeerchatProcess,
  room: string,
  count: number,
  after = 0,
): Promise<JsonEvent> {
  return peer.waitFor(
    (e) =>
      e.event === "room-members" && e.room === room && e.members.length === count &&
      peer.events.indexOf(e) >= after,
    `${count} members in ${room}`,
    10_000,
  );
}

/** The room messages `peer` was shown, as `FROM: TEXT`. */
function shown(peer: PeerchatProcess, room: string): string[] {
  return peer.events.filter((e) => e.event === "message" && e.room === room)
    .map((e) => `${e.from}: ${e.text}`);
}

Deno.test("rooms: --announce-only #all — a student is refused, the teacher reaches everyone, also later", async () => {
  const coordinator = await spawnCoordinator([
    "--announce-only",
    "#all",
    "--room-owner",
    "teacher",
  ]);
  const processes: PeerchatProcess[] = [coordinator.process];
  try {
    const teacher = (await spawnPeer("teacher", coordinator.udp)).process;
    const ann = (await spawnPeer("ann", coordinator.udp)).process;
    const ben = (await spawnPeer("ben", coordinator.udp)).process;
    processes.push(teacher, ann, ben);

    await ann.writeLine("/msg #all can I post?");
    const refusal = await ann.waitFor(
      (e) => (e.event === "room-error" || e.event === "error") && /announce-only/.test(e.message),
      "ann's post to be refused",
    );
    assert.match(refusal.message, /owner/i, "the refusal says who may post");

    await teacher.writeLine("/msg #all lab 3 starts now, files are coming");
    for (const student of [ann, ben]) {
      await student.waitFor(
        (e) => e.event === "message" && e.room === "#all" && e.from === "teacher",
        "the teacher's announcement",
      );
    }
    // The teacher leaves; a student who logs in afterwards still gets the announcement.
    await teacher.writeLine("/quit");
    await teacher.exited();
    const cat = (await spawnPeer("cat", coordinator.udp)).process;
    processes.push(cat);
    await waitFor(
      () => shown(cat, "#all").includes("teacher: lab 3 starts now, files are coming"),
      "cat to catch up on the teacher's announcement",
      15_000,
    );
    const history = await roomHistory(cat, "#all");
    assert.deepEqual(
      history.map((e) => `${e.from}: ${e.text}`),
      ["teacher: lab 3 starts now, files are coming"],
      "cat's #all history",
    );
    assert.deepEqual(shown(ben, "#all"), ["teacher: lab 3 starts now, files are coming"]);
    assert.ok(
      !shown(ben, "#all").some((line) => line.startsWith("ann:")),
      "ann's post went nowhere",
    );
  } finally {
    for (const process of processes) await process.stop();
  }
});

Deno.test("rooms: a member offline during 50 posts catches up while the sender is offline too", async () => {
  const coordinator = await spawnCoordinator();
  const processes: PeerchatProcess[] = [coordinator.process];
  const carolData = await Deno.makeTempDir({ prefix: "peerchat-carol-" });
  try {
    const alice = (await spawnPeer("alice", coordinator.udp)).process;
    const bob = (await spawnPeer("bob", coordinator.udp)).process;
    let carol = (await spawnPeer("carol", coordinator.udp, ["--data", carolData])).process;
    processes.push(alice, bob, carol);
    await alice.writeLine("/join #lab");
    await members(alice, "#lab", 1);
    await bob.writeLine("/join #lab");
    await carol.writeLine("/join #lab");
    await members(carol, "#lab", 3);
    await members(alice, "#lab", 3);
    await members(bob, "#lab", 3);

    await carol.writeLine("/quit");
    await carol.exited();
    const texts = [...Array(50).keys()].map((i) => `post ${i}`);
    for (const text of texts) await alice.writeLine(`/msg #lab ${text}`);
    await waitFor(() => shown(bob, "#lab").length === 50, "bob to get the 50 posts", 20_000);
    await alice.writeLine("/quit");
    await alice.exited();

    carol = (await spawnPeer("carol", coordinator.udp, ["--data", carolData])).process;
    processes.push(carol);
    await waitFor(() => shown(carol, "#lab").length === 50, "carol to catch up from bob", 20_000);
    const history = await roomHistory(carol, "#lab");
    assert.deepEqual(history.map((e) => `${e.from}: ${e.text}`), texts.map((t) => `alice: ${t}`));
    assert.deepEqual(
      history.map((e) => e.id),
      (await roomHistory(bob, "#lab")).map((e) => e.id),
      "carol's history is bob's",
    );
  } finally {
    for (const process of processes) await process.stop();
    await Deno.remove(carolData, { recursive: true }).catch(() => {});
  }
});

Deno.test("rooms: a non-member gets nothing and cannot post; a kicked member stops receiving", async () => {
  const coordinator = await spawnCoordinator();
  const processes: PeerchatProcess[] = [coordinator.process];
  try {
    const alice = (await spawnPeer("alice", coordinator.udp)).process;
    const bob = (await spawnPeer("bob", coordinator.udp)).process;
    const mallory = (await spawnPeer("mallory", coordinator.udp)).process;
    processes.push(alice, bob, mallory);
    await alice.writeLine("/join #lab");
    await members(alice, "#lab", 1);
    await bob.writeLine("/join #lab");
    await members(bob, "#lab", 2);
    await members(alice, "#lab", 2);

    await alice.writeLine("/msg #lab for members only");
    await bob.waitFor((e) => e.event === "message" && e.text === "for members only", "bob's copy");
    await mallory.writeLine("/msg #lab let me in");
    await mallory.waitFor(
      (e) => e.event === "room-error" && e.code === "not-member" && /#lab/.test(e.message),
      "mallory's post to be refused",
    );

    const mark = alice.events.length;
    await alice.writeLine("/kick bob #lab");
    await bob.waitFor(
      (e) => e.event === "room-part" && e.room === "#lab" && e.reason === "kicked",
      "bob to be told he was kicked",
    );
    await members(alice, "#lab", 1, mark);
    await alice.writeLine("/msg #lab after the kick");
    await alice.writeLine("/msg bob a direct message after the kick");
    await bob.waitFor((e) => e.event === "message" && e.room === undefined, "alice's 1:1 message");
    assert.deepEqual(shown(bob, "#lab"), ["alice: for members only"], "bob got nothing after");
    assert.deepEqual(shown(mallory, "#lab"), [], "mallory got nothing");
  } finally {
    for (const process of processes) await process.stop();
  }
});

Deno.test("rooms: /send #ROOM offers the files to every other member, and each pulls them", async () => {
  const coordinator = await spawnCoordinator();
  const processes: PeerchatProcess[] = [coordinator.process];
  const work = await Deno.makeTempDir({ prefix: "peerchat-room-files-" });
  try {
    const file = `${work}/lab 3.txt`;
    await Deno.writeTextFile(file, "the exercise\n".repeat(10_000));
    const alice = (await spawnPeer("alice", coordinator.udp)).process;
    const inbox = (name: string) => `${work}/${name}-in`;
    const bob = (await spawnPeer("bob", coordinator.udp, ["--accept-files", inbox("bob")])).process;
    const carol =
      (await spawnPeer("carol", coordinator.udp, ["--accept-files", inbox("carol")])).process;
    processes.push(alice, bob, carol);
    for (const peer of [alice, bob, carol]) await peer.writeLine("/join #lab");
    for (const peer of [alice, bob, carol]) await members(peer, "#lab", 3);

    await alice.writeLine(`/send #lab "${file}"`);
    const offered = await alice.waitFor((e) => e.event === "room-offer", "the room offer");
    assert.deepEqual([...offered.to].sort(), ["bob", "carol"]);
    for (const [name, peer] of [["bob", bob], ["carol", carol]] as const) {
      await peer.waitFor((e) => e.event === "file-done", `${name}'s copy`, 20_000);
      assert.equal(
        await Deno.readTextFile(`${inbox(name)}/lab 3.txt`),
        "the exercise\n".repeat(10_000),
      );
    }
  } finally {
    for (const process of processes) await process.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
