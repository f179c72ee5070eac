/**
 * `peer.rooms` end to end: real peers and a real coordinator on 127.0.0.1. Join and post (one
 * order everywhere), a non-member neither receives nor injects, a kicked member stops receiving,
 * announce-only `#all` (refused by post() and, forced onto the wire, by receivers; an owner's post
 * verified with keys from `names #all`), and a member offline during the posts catching up from
 * another member while the sender is offline too, coming back with its history and seq from disk.
 */

import assert from "node:assert/strict";
import { Coordinator, type CoordinatorOptions } from "../coordinator.ts";
import { Peer, type PeerEvent, type PeerOptions } from "../peer.ts";
import { Journal } from "../store/journal.ts";
import { generateIdentity, type Identity } from "../crypto/identity.ts";
import { waitFor } from "../testing/helpers.ts";
import { encodeBase64Url } from "../wire/keys.ts";
import type { PeerRooms } from "./peer_rooms.ts";

interface Side {
  peer: Peer;
  events: PeerEvent[];
}

const identities = new Map<string, Identity>();

async function startPeer(
  coordinator: Coordinator,
  name: string,
  options: Partial<PeerOptions> = {},
): Promise<Side> {
  const events: PeerEvent[] = [];
  if (!identities.has(name)) identities.set(name, generateIdentity());
  const peer = await Peer.start({
    name,
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    onEvent: (e) => events.push(e),
    identity: identities.get(name),
    ...options,
  });
  return { peer, events };
}

async function withRoom(
  names: string[],
  body: (sides: Side[], coordinator: Coordinator) => Promise<void>,
  options: Partial<CoordinatorOptions> = {},
): Promise<void> {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, ...options });
  const sides: Side[] = [];
  try {
    for (const name of names) sides.push(await startPeer(coordinator, name));
    for (const side of sides) {
      await waitFor(
        () => side.peer.users().length === names.length - 1,
        `${side.peer.name}'s roster`,
      );
    }
    await body(sides, coordinator);
  } finally {
    for (const side of sides) await side.peer.close({ logout: false });
    await coordinator.close();
  }
}

function texts(side: Side, room = "#lab"): string[] {
  return side.peer.rooms.history(room, 1000).map((line) => `${line.from}:${line.text}`);
}

async function joinAll(sides: Side[], room = "#lab"): Promise<void> {
  for (const side of sides) {
    const answer = await side.peer.rooms.join(room);
    assert.ok(answer.ok, `${side.peer.name}: ${JSON.stringify(answer)}`);
  }
  for (const side of sides) {
    await waitFor(
      () => side.peer.rooms.get(room)?.members.length === sides.length,
      `${side.peer.name} to see ${sides.length} members`,
    );
  }
}

Deno.test("rooms: join, post, the same order everywhere; a non-member neither gets nor injects", async () => {
  await withRoom(["alice", "bob", "carol", "dave"], async ([alice, bob, carol, dave]) => {
    await joinAll([alice, bob, carol]);
    assert.equal(dave.peer.rooms.post("#lab", "let me in").ok, false);
    for (const [i, side] of [alice, bob, carol].entries()) {
      assert.ok(side.peer.rooms.post("#lab", `hello ${i}`).ok);
    }
    for (const side of [alice, bob, carol]) {
      await waitFor(() => texts(side).length === 3, `${side.peer.name} to hold 3`);
    }
    assert.deepEqual(texts(bob), texts(alice));
    assert.deepEqual(texts(carol), texts(alice));
    const message = bob.events.find((e) => e.event === "message" && e.room === "#lab");
    assert.ok(message?.event === "message" && message.seq === 1 && message.clock! >= 1);
    // dave believes he is in #lab (a forged state in his own engine) and posts: a raw room-msg
    // on his pairwise stream to each member, refused by all.
    const forged = dave.peer.rooms as PeerRooms;
    const key = "A".repeat(43);
    const flags = { inviteOnly: false, announceOnly: false, history: "shared" as const };
    forged.onPush({
      type: "room",
      room: "#lab",
      version: 99,
      owners: ["dave"],
      flags,
      count: 2,
      topic: "",
    });
    forged.onPush({
      type: "room-members",
      room: "#lab",
      version: 99,
      members: [{ name: "dave", key, since: 0 }, { name: "alice", key, since: 0 }],
    });
    assert.ok(forged.post("#lab", "injected").ok);
    await waitFor(
      () => (alice.peer.rooms.stats.refused["not-member"] ?? 0) >= 1,
      "alice to refuse dave",
    );
    await dave.peer.settle(3000); // alice acknowledged it: she has handled it
    assert.equal(texts(alice).length, 3);
    assert.equal(texts(dave).length, 1, "only dave's own");
  });
});

Deno.test("rooms: a kicked member stops receiving", async () => {
  await withRoom(["alice", "bob", "carol"], async ([alice, bob, carol]) => {
    await joinAll([alice, bob, carol]);
    const kicked = await alice.peer.rooms.kick("carol", "#lab");
    assert.ok(kicked.ok, JSON.stringify(kicked));
    await waitFor(() => carol.peer.rooms.get("#lab") === undefined, "carol out of #lab");
    assert.ok(carol.events.some((e) => e.event === "room-part" && e.reason === "kicked"));
    await waitFor(() => alice.peer.rooms.get("#lab")?.members.length === 2, "alice sees 2");
    assert.ok(alice.peer.rooms.post("#lab", "after the kick").ok);
    await waitFor(() => texts(bob).length === 1, "bob to get it");
    await alice.peer.settle(2000);
    assert.equal(texts(carol).length, 0);
  });
});

Deno.test("rooms: announce-only #all: non-owners refused by post() and by receivers", async () => {
  await withRoom(["teacher", "bob", "carol"], async ([teacher, bob, carol]) => {
    await waitFor(() => bob.peer.rooms.get("#all") !== undefined, "bob in #all");
    await waitFor(() => carol.peer.rooms.get("#all") !== undefined, "carol in #all");
    const view = bob.peer.rooms.get("#all")!;
    assert.equal(view.announceOnly, true);
    assert.equal(view.canPost, false);
    assert.equal(bob.peer.rooms.post("#all", "me too").ok, false);
    // Forced onto the wire: bob's engine believes he owns #all.
    const forged = bob.peer.rooms as PeerRooms;
    const flags = { inviteOnly: false, announceOnly: true, history: "shared" as const };
    forged.onPush({
      type: "room",
      room: "#all",
      version: 1e6,
      owners: ["bob"],
      flags,
      count: 0,
      topic: "",
    });
    assert.ok(forged.post("#all", "me too").ok);
    await waitFor(() => carol.peer.rooms.stats.refused["announce-only"] === 1, "carol refuses");
    // The teacher's post is verified with the key `names #all` brings.
    assert.ok(teacher.peer.rooms.post("#all", "lab 3 starts now").ok);
    await waitFor(() => texts(carol, "#all").length === 1, "carol to get the teacher's post");
    assert.deepEqual(texts(carol, "#all"), ["teacher:lab 3 starts now"]);
  }, { roomOwners: ["teacher"], allAnnounceOnly: true });
});

Deno.test("rooms: an offline member catches up from another while the sender is offline too; history and seq kept on disk", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peer-rooms-" });
  const journal = Journal.open(dir);
  let carolSide: Side | undefined;
  try {
    await withRoom(["alice", "bob"], async ([alice, bob], coordinator) => {
      const carol = await startPeer(coordinator, "carol", { journal });
      carolSide = carol;
      await joinAll([alice, bob, carol]);
      assert.ok(carol.peer.rooms.post("#lab", "carol first").ok);
      await waitFor(() => texts(alice).length === 1 && texts(bob).length === 1, "carol's post");
      await carol.peer.close();
      carolSide = undefined;
      for (let i = 1; i <= 5; i++) assert.ok(alice.peer.rooms.post("#lab", `alice ${i}`).ok);
      await waitFor(() => texts(bob).length === 6, "bob to hold 6");
      await alice.peer.close();
      const again = await startPeer(coordinator, "carol", { journal });
      carolSide = again;
      assert.deepEqual(texts(again), ["carol:carol first"], "history from disk");
      await waitFor(() => texts(again).length === 6, "carol to catch up from bob", 10_000);
      assert.deepEqual(texts(again), texts(bob));
      const post = again.peer.rooms.post("#lab", "carol again");
      assert.ok(post.ok && post.id === "#lab/carol/2", JSON.stringify(post));
    });
  } finally {
    await carolSide?.peer.close({ logout: false });
    journal.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rooms: a peer gone without logout (like kill -9) comes back with its history and seq", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peer-rooms-" });
  const journal = Journal.open(dir);
  let aliceSide: Side | undefined;
  let session: string | undefined;
  try {
    await withRoom(["bob"], async ([bob], coordinator) => {
      const options = { journal, onSession: (s: string) => session = s };
      const alice = aliceSide = await startPeer(coordinator, "alice", options);
      await waitFor(() => bob.peer.user("alice") !== undefined, "bob to see alice");
      await joinAll([alice, bob]);
      assert.ok(alice.peer.rooms.post("#lab", "one").ok);
      assert.ok(alice.peer.rooms.post("#lab", "two").ok);
      await waitFor(() => texts(bob).length === 2, "bob to get both");
      await alice.peer.close({ logout: false });
      aliceSide = undefined;
      const again = aliceSide = await startPeer(coordinator, "alice", {
        ...options,
        resumeSession: session,
      });
      assert.deepEqual(texts(again), ["alice:one", "alice:two"]);
      assert.ok(again.peer.rooms.get("#lab"), "still a member");
      const post = again.peer.rooms.post("#lab", "three");
      assert.ok(post.ok && post.id === "#lab/alice/3", JSON.stringify(post));
      await waitFor(() => texts(bob).length === 3, "bob to get the third");
      assert.deepEqual(texts(bob), ["alice:one", "alice:two", "alice:three"]);
    });
  } finally {
    await aliceSide?.peer.close({ logout: false });
    journal.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rooms: a peer killed with SIGKILL comes back with its history and never reuses a seq", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peer-rooms-kill-" });
  const identity = generateIdentity();
  identities.set("alice", identity);
  const keys = [
    identity.dh.privateKey,
    identity.dh.publicKey,
    identity.sign.privateKey,
    identity
      .sign.publicKey,
  ].map(encodeBase64Url);
  let journal: Journal | undefined;
  let again: Side | undefined;
  await withRoom(["bob"], async ([bob], coordinator) => {
    await bob.peer.rooms.join("#lab");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../testing/room_child.ts", import.meta.url).pathname,
        String(coordinator.udpAddress.port),
        "alice",
        dir,
        "3",
        ...keys,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const lines: Record<string, string | boolean>[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of child.stdout) {
        buffer += decoder.decode(chunk, { stream: true });
        const parts = buffer.split("\n");
        buffer = parts.pop()!;
        for (const part of parts) lines.push(JSON.parse(part));
      }
    })();
    try {
      await waitFor(() => lines.filter((l) => "posted" in l).length === 3, "3 posts", 20_000);
      assert.deepEqual(lines.filter((l) => "posted" in l).map((l) => l.posted), [
        "#lab/alice/1",
        "#lab/alice/2",
        "#lab/alice/3",
      ]);
      await waitFor(() => texts(bob).length === 3, "bob to get them");
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await reading;
    }
    const session = lines.find((l) => "session" in l)?.session as string;
    journal = Journal.open(dir);
    again = await startPeer(coordinator, "alice", { journal, resumeSession: session });
    assert.equal(texts(again).length, 3, "history from disk");
    const post = again.peer.rooms.post("#lab", "after the kill");
    assert.ok(post.ok && post.id === "#lab/alice/4", JSON.stringify(post));
    await waitFor(() => texts(bob).length === 4, "bob to get the fourth");
    assert.deepEqual(texts(bob), texts(again));
  }).finally(async () => {
    await again?.peer.close({ logout: false });
    journal?.close();
    await Deno.remove(dir, { recursive: true });
  });
});

Deno.test("rooms: a request no coordinator would take is answered bad-request, not thrown", async () => {
  await withRoom(["alice"], async ([alice]) => {
    const answer = await alice.peer.rooms.join("lab");
    assert.ok(!answer.ok && answer.code === "bad-request", JSON.stringify(answer));
    const long = await alice.peer.rooms.topic("#lab", "x".repeat(1000));
    assert.ok(!long.ok && long.code === "bad-request", JSON.stringify(long));
  });
});
