import assert from "node:assert/strict";
import { Coordinator } from "../coordinator.ts";
import { Peer, type PeerEvent } from "../peer.ts";
import {
  completeInput,
  handleLine,
  type LinePeer,
  sessionSink,
  type SessionState,
  traceConflict,
} from "./run_peer.ts";
import { painter } from "../ui/format.ts";
import { encodeUtf16 } from "../protocol.ts";
import type { KeyCommands, Trust } from "../core/trust.ts";
import { PinFile } from "../store/pins.ts";
import { x25519Generate } from "../crypto/primitives.ts";
import { encodeKey } from "../wire/keys.ts";
import { fingerprint, safetyNumber } from "../crypto/fingerprint.ts";
import { loginRaw, PeerKeys } from "../testing/raw_peer.ts";
import { SecureRaw } from "../testing/secure_raw.ts";
import {
  PeerchatProcess,
  RawUdp,
  spawnCoordinator,
  spawnPeer,
  waitFor,
} from "../testing/helpers.ts";

/** `peer` with `keys` beside it: the key decisions a test drives by hand. */
function chatPeer(peer: Peer, keys: KeyCommands): LinePeer {
  return {
    name: peer.name,
    send: (to, text) => peer.send(to, text),
    users: () => peer.users(),
    user: (name) => peer.user(name),
    knownName: (name) => peer.knownName(name),
    lookup: (name) => peer.lookup(name),
    history: (name, limit) => peer.history(name, limit),
    giveUp: (name, reason) => peer.giveUp(name, reason),
    get traversal() {
      return peer.traversal;
    },
    keys,
  };
}

/** Key decisions per peer (a real Trust over pins in memory), beside the peer. */
const trusts = new WeakMap<Peer, Trust>();
function chat(peer: Peer): LinePeer {
  let trust = trusts.get(peer);
  if (trust === undefined) {
    trust = PinFile.memory().trust({ name: peer.name, key: encodeKey(x25519Generate().publicKey) });
    trusts.set(peer, trust);
  }
  return chatPeer(peer, trust);
}

function recordingSink() {
  const events: PeerEvent[] = [];
  const infos: { kind: string; text: string; data?: Record<string, unknown> }[] = [];
  return {
    paint: painter(false),
    events,
    infos,
    event: (e: PeerEvent) => events.push(e),
    info: (kind: string, text: string, data?: Record<string, unknown>) =>
      infos.push({ kind, text, data }),
  };
}

/** Passes every event of `peer` to `fn` (beside the peer's own handler) until stopped. */
function watch(peer: Peer, fn: (event: PeerEvent) => void): () => void {
  watchers.set(peer.name, fn);
  return () => watchers.delete(peer.name);
}
const watchers = new Map<string, (event: PeerEvent) => void>();

/** A coordinator, peer "me" and peer "Bob", and a netcat-like seed client "nc". */
async function withChat(
  fn: (
    me: Peer,
    bob: Peer,
    bobEvents: PeerEvent[],
    nc: RawUdp,
    coordinator: Coordinator,
  ) => void | Promise<void>,
) {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const nc = new RawUdp();
  const bobEvents: PeerEvent[] = [];
  const bob = await Peer.start({
    name: "Bob",
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    onEvent: (e) => bobEvents.push(e),
  });
  const me = await Peer.start({
    name: "me",
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    onEvent: (e) => watchers.get("me")?.(e),
  });
  try {
    await nc.send(`login,nc,${nc.address}`, coordinator.udpAddress);
    await waitFor(() => me.user("nc") !== undefined, "me to see nc");
    await fn(me, bob, bobEvents, nc, coordinator);
  } finally {
    await me.close();
    await bob.close();
    await nc.close();
    await coordinator.close();
  }
}

Deno.test("plain lines go to the last /msg partner, with the partner's own spelling", async () => {
  await withChat(async (me, _bob, bobEvents) => {
    const sink = recordingSink();
    const state: SessionState = {};
    await handleLine("hello?", state, chat(me), sink);
    assert.match((sink.events[0] as { message: string }).message, /Nobody to send to yet/);
    await handleLine("/msg bob first, with comma", state, chat(me), sink);
    await handleLine("second", state, chat(me), sink);
    assert.equal(state.partner, "Bob");
    await waitFor(
      () => bobEvents.filter((e) => e.event === "message").length === 2,
      "both messages at Bob",
    );
    const texts = bobEvents.flatMap((e) => e.event === "message" ? [e.text] : []);
    assert.deepEqual(texts, ["first, with comma", "second"]);
    await handleLine("/msg nobody hi", state, chat(me), sink);
    assert.equal(state.partner, "Bob", "a failed /msg keeps the partner");
    assert.match((sink.events.at(-1) as { message: string }).message, /nobody is not online/);
    assert.equal(await handleLine("/quit", state, chat(me), sink), "quit");
  });
});

Deno.test("/who lists names, endpoints and seed clients; /help lists commands", async () => {
  await withChat(async (me, bob) => {
    const sink = recordingSink();
    await handleLine("/who", {}, chat(me), sink);
    const nc = me.user("nc")!;
    assert.equal(
      sink.infos[0].text,
      `Online (2):\n  Bob 127.0.0.1:${bob.endpoint.port} (no key yet)\n` +
        `  nc 127.0.0.1:${nc.endpoint.port} (seed client, not encrypted)`,
    );
    await handleLine("/help", {}, chat(me), sink);
    assert.match(sink.infos[1].text, /\/msg NAME TEXT/);
    await handleLine("/history bob", {}, chat(me), sink);
    assert.equal(sink.infos[2].text, "No messages with bob yet.");
    await handleLine("/giveup bob", {}, chat(me), sink);
    assert.equal(sink.infos[3].text, "Nothing is waiting for bob.");
  });
});

Deno.test("/who calls the C# client (UTF-16LE) a seed client too", async () => {
  await withChat(async (me, _bob, _events, _nc, coordinator) => {
    const csharp = new RawUdp();
    try {
      await csharp.send(encodeUtf16(`login,cs,${csharp.address}`), coordinator.udpAddress);
      await waitFor(() => me.user("cs") !== undefined, "me to see cs");
      const sink = recordingSink();
      await handleLine("/who", {}, chat(me), sink);
      const users = sink.infos[0].data!.users as { name: string; client: string }[];
      assert.deepEqual(users.map((u) => [u.name, u.client]).sort(), [
        ["Bob", "peerchat"],
        ["cs", "seed"],
        ["nc", "seed"],
      ]);
      assert.match(sink.infos[0].text, /cs 127\.0\.0\.1:\d+ \(seed client, not encrypted\)/);
    } finally {
      await csharp.close();
    }
  });
});

Deno.test("a seed client that went offline gets no queued message, and is still /msg-able", async () => {
  await withChat(async (me, _bob, _events, nc, coordinator) => {
    await nc.send(`logout,nc,${nc.address}`, coordinator.udpAddress);
    await waitFor(() => me.user("nc") === undefined, "nc to leave");
    const sink = recordingSink();
    const state: SessionState = {};
    await handleLine("/msg NC", state, chat(me), sink);
    assert.equal(state.partner, "nc", "known, with its own spelling");
    const result = me.send("nc", "hello offline");
    assert.equal(result.ok, false);
    assert.match((result as { message: string }).message, /offline and uses a seed client/);
    assert.equal(me.pending, 0);
    // Back online: nothing was waiting for it (before, a reliable msg went out again and again).
    await nc.send(`login,nc,${nc.address}`, coordinator.udpAddress);
    await waitFor(() => me.user("nc") !== undefined, "nc to be back");
    assert.equal(me.send("nc", "welcome back").ok, true);
    assert.equal(
      (await nc.next((t) => t.startsWith("talk,"))).text.split(",").at(-1),
      "welcome back",
    );
    assert.deepEqual(nc.queued.filter((t) => t.startsWith("msg,")), []);
  });
});

Deno.test("tab completes commands and names", () => {
  assert.deepEqual(completeInput("/w", 2, []), { text: "/who ", cursor: 5, candidates: [] });
  assert.deepEqual(completeInput("/msg 张", 6, ["张三", "bob"]), {
    text: "/msg 张三 ",
    cursor: 8,
    candidates: [],
  });
  const ambiguous = completeInput("/msg ca", 7, ["carol", "carl", "bob"]);
  assert.equal(ambiguous.text, "/msg car");
  assert.deepEqual(ambiguous.candidates, ["carol", "carl"]);
  assert.deepEqual(completeInput("/msg x", 6, ["bob"]), {
    text: "/msg x",
    cursor: 6,
    candidates: [],
  });
  // Completion in the middle keeps the text after the cursor.
  assert.deepEqual(completeInput("/msg b hi", 6, ["bob"]), {
    text: "/msg bob  hi",
    cursor: 9,
    candidates: [],
  }); // Room names complete too (the screen passes the rooms beside the names), and room commands.
  assert.deepEqual(completeInput("/msg #l", 7, ["bob", "#all", "#lab"]), {
    text: "/msg #lab ",
    cursor: 10,
    candidates: [],
  });
  assert.deepEqual(completeInput("/jo", 3, []), { text: "/join ", cursor: 6, candidates: [] });
});

Deno.test("--trace with the chat screen needs stderr off the terminal", () => {
  assert.match(traceConflict(true, true, true)!, /2>trace\.log/);
  assert.equal(traceConflict(true, true, false), undefined, "stderr redirected");
  assert.equal(traceConflict(true, false, true), undefined, "--json or lines: no screen");
  assert.equal(traceConflict(false, true, true), undefined);
});

Deno.test("a plain line with nobody chosen answers whoever wrote last, and says so", async () => {
  await withChat(async (me, bob) => {
    const recorded = recordingSink();
    const state: SessionState = {};
    const sink = sessionSink(state, recorded);
    const meEvents: PeerEvent[] = [];
    // What runPeer does: every peer event passes through the session's sink.
    const seen = (e: PeerEvent) => {
      meEvents.push(e);
      sink.event(e);
    };
    const stop = watch(me, seen);
    try {
      assert.ok(bob.send("me", "are you there?").ok);
      await waitFor(() => state.lastFrom === "Bob", "Bob's message to pass the sink");
      await handleLine("yes, here", state, chat(me), sink);
      assert.deepEqual(recorded.infos.at(-1), {
        kind: "partner",
        text: "→ Bob, who wrote last.",
        data: { with: "Bob", reason: "wrote last" },
      });
      assert.equal(state.partner, "Bob", "and he is the partner from now on");
      await handleLine("and again", state, chat(me), sink);
      assert.equal(recorded.infos.filter((i) => i.kind === "partner").length, 1, "said once");
      assert.deepEqual(recorded.events.filter((e) => e.event === "error"), []);
    } finally {
      stop();
    }
  });
});

Deno.test("/msg to someone who logged in a moment ago asks the coordinator instead of refusing", async () => {
  await withChat(async (me, _bob, _events, _nc, coordinator) => {
    let caught = 0;
    // The coordinator sends roster changes in batches, 20 ms or more after a login. Right after
    // zed's Accept, "me" has not heard of zed yet: that moment is what this test needs. Should
    // a busy machine let the batch in first, it tries again with another name.
    for (let attempt = 0; attempt < 5 && caught === 0; attempt++) {
      const zed = new RawUdp();
      const name = `zed${attempt}`;
      const keys = new PeerKeys();
      const secure = new SecureRaw(zed, name, keys); // zed answers the handshake, opens the msg
      try {
        await loginRaw(zed, name, coordinator.udpAddress, keys);
        if (me.user(name) !== undefined) continue;
        caught++;
        const sink = recordingSink();
        const state: SessionState = {};
        await handleLine(`/msg ${name} hi, just arrived?`, state, chat(me), sink);
        assert.deepEqual(sink.events, [], "no error");
        assert.equal(state.partner, name);
        const msg = await zed.next((t) => t.startsWith("msg,me,"));
        assert.match(msg.text, /,hi, just arrived\?$/);
      } finally {
        secure.close();
        await zed.close();
      }
    }
    assert.equal(caught, 1, "the roster batch beat the test five times");
    // Someone nobody knows is still refused, after the coordinator said so.
    const sink = recordingSink();
    await handleLine("/msg nobody hi", {}, chat(me), sink);
    assert.match((sink.events[0] as { message: string }).message, /nobody is not online/);
  });
});

Deno.test("a lookup the coordinator does not answer is asked twice and given up after a second", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const address = coordinator.udpAddress;
  const me = await Peer.start({ name: "me", coordinator: address, host: "127.0.0.1" });
  let silent: RawUdp | undefined;
  try {
    await coordinator.close();
    silent = new RawUdp(address.port); // In the coordinator's place: it hears and says nothing.
    assert.equal(await me.lookup("zed"), false);
    // Sealed with the link of its login, under a new number each time.
    const asked = silent.queued.filter((t) => /^auth,\d+,[\w-]{22},lookup,/.test(t));
    assert.deepEqual(asked.map((t) => t.split(",")[6]), ["zed", "zed"]);
    assert.notEqual(asked[0].split(",")[1], asked[1].split(",")[1]);
  } finally {
    await me.close({ logout: false });
    await silent?.close();
  }
});

Deno.test("peerchat peer --json: a reply with nobody chosen goes to whoever wrote last, and says so", async () => {
  const { process: coordinator, udp } = await spawnCoordinator();
  const running: PeerchatProcess[] = [coordinator];
  try {
    const alice = (await spawnPeer("alice", udp)).process;
    running.push(alice);
    const bob = (await spawnPeer("bob", udp)).process;
    running.push(bob);
    await bob.writeLine("/msg alice are you there?");
    await alice.waitFor((e) => e.event === "message" && e.from === "bob", "bob's message");
    await alice.writeLine("yes, here");
    const partner = await alice.waitFor((e) => e.event === "partner", "the partner event");
    assert.deepEqual(partner, {
      event: "partner",
      text: "→ bob, who wrote last.",
      with: "bob",
      reason: "wrote last",
    });
    await bob.waitFor((e) => e.event === "message" && e.text === "yes, here", "the reply");
    assert.equal(alice.events.some((e) => e.event === "error"), false);
  } finally {
    for (const p of running.reverse()) await p.stop();
  }
});

Deno.test("/who shows each peerchat user's path once it is known", async () => {
  await withChat(async (me, bob) => {
    const sink = recordingSink();
    await handleLine("/who", {}, chat(me), sink);
    assert.doesNotMatch(sink.infos[0].text, /·/, "no path before any datagram went either way");
    await handleLine("/msg bob hi", {}, chat(me), sink);
    await waitFor(() => me.traversal.pathOf("bob") === "lan", "a direct path to Bob (loopback)");
    await handleLine("/who", {}, chat(me), sink);
    const nc = me.user("nc")!;
    assert.equal(
      sink.infos[1].text,
      `Online (2):\n  Bob 127.0.0.1:${bob.endpoint.port} (no key yet) · LAN\n` +
        `  nc 127.0.0.1:${nc.endpoint.port} (seed client, not encrypted)`,
    );
    const users = sink.infos[1].data!.users as { name: string; path?: string }[];
    assert.deepEqual(users.map((u) => [u.name, u.path]), [["Bob", "lan"], ["nc", undefined]]);
  });
});

Deno.test("peerchat peer --json: path and nat events, and /who's paths", async () => {
  const { process: coordinator, udp } = await spawnCoordinator();
  const running: PeerchatProcess[] = [coordinator];
  try {
    const alice = (await spawnPeer("alice", udp, ["--keepalive", "0.2"])).process;
    running.push(alice);
    const { process: bob, ready } = await spawnPeer("bob", udp);
    running.push(bob);
    // The NAT is measured after each login: a `nat` event once (on loopback "open" when the
    // coordinator answers natping, "unknown" when it has no second port to ask).
    const nat = await alice.waitFor((e) => e.event === "nat", "alice's nat event");
    assert.ok(["open", "unknown"].includes(String(nat.nat)), JSON.stringify(nat));
    await alice.writeLine("/msg bob hello");
    await bob.waitFor((e) => e.event === "message" && e.text === "hello", "alice's message");
    const path = await alice.waitFor(
      (e) => e.event === "path" && e.path === "lan",
      "the path to bob, direct on loopback",
    );
    assert.deepEqual(path, { event: "path", name: "bob", path: "lan", endpoint: ready.endpoint });
    await alice.writeLine("/who");
    const who = await alice.waitFor((e) => e.event === "who", "/who");
    assert.deepEqual((who.users as { name: string; path?: string }[]).map((u) => u.path), ["lan"]);
    assert.match(String(who.text), / · LAN$/);
    assert.equal(alice.events.filter((e) => e.event === "nat").length, 1, "said once");
  } finally {
    for (const p of running.reverse()) await p.stop();
  }
});

Deno.test("peerchat peer in line mode says who a reply goes to", async () => {
  const { process: coordinator, udp } = await spawnCoordinator();
  const dataDir = await Deno.makeTempDir({ prefix: "peerchat-lines-" });
  const alice = new PeerchatProcess([
    "peer",
    "--name",
    "alice",
    "--coordinator",
    `${udp.host}:${udp.port}`,
    "--host",
    "127.0.0.1",
    "--data",
    dataDir,
  ]);
  alice.dataDir = dataDir;
  const running: PeerchatProcess[] = [coordinator, alice];
  try {
    // Alice logs in first: a /msg to someone not online yet is refused (after a lookup).
    await alice.waitFor((e) => /logged in as alice/.test(String(e.line)), "alice to log in");
    const bob = (await spawnPeer("bob", udp)).process;
    running.push(bob);
    await bob.writeLine("/msg alice hello?");
    await alice.waitFor((e) => /bob: hello\?/.test(String(e.line)), "bob's line");
    await alice.writeLine("hello, bob");
    await alice.waitFor((e) => e.line === "→ bob, who wrote last.", "the line saying so");
    await bob.waitFor((e) => e.event === "message" && e.text === "hello, bob", "the reply");
  } finally {
    for (const p of running.reverse()) await p.stop();
  }
});

Deno.test("a Reject reason from the network is printed with its control characters visible", async () => {
  const fake = new RawUdp(); // A "coordinator" that refuses everyone, with a hostile reason.
  const reason = "Go away \u202egnp.exe\u202c \u2066now\u2069";
  const answer = (async () => {
    for (let i = 0; i < 2; i++) {
      const login = await fake.next((t) => t.startsWith("login,"), 10_000);
      await fake.send(`Reject,${reason}`, login.from);
    }
  })();
  const runs: PeerchatProcess[] = [];
  try {
    for (const json of [false, true]) {
      const dataDir = await Deno.makeTempDir({ prefix: "peerchat-reject-" });
      const peer = new PeerchatProcess([
        "peer",
        "--name",
        "alice",
        "--coordinator",
        fake.address,
        "--host",
        "127.0.0.1",
        "--data",
        dataDir,
        ...(json ? ["--json"] : []),
      ]);
      peer.dataDir = dataDir;
      runs.push(peer);
      assert.equal((await peer.exited()).code, 1);
      if (json) {
        const error = peer.events.find((e) => e.event === "error");
        assert.equal(error?.message, `The coordinator refused the login: ${reason}`, "exact");
      } else {
        assert.equal(
          peer.stderr.trim(),
          "The coordinator refused the login: Go away \\u{202e}gnp.exe\\u{202c} \\u{2066}now\\u{2069}",
        );
      }
    }
    await answer;
  } finally {
    for (const peer of runs) await peer.stop();
    await fake.close();
  }
});

Deno.test("key commands: /fingerprint, /verify in two steps, a key change, /trust, and /who's marks", async () => {
  await withChat(async (me) => {
    const sink = recordingSink();
    const own = { name: "me", key: encodeKey(x25519Generate().publicKey) };
    const trust = PinFile.memory().trust(own, {
      keyChanged: (change) => sink.event({ event: "key-changed", ...change }),
    });
    const line = chatPeer(me, trust);
    const bobKey = encodeKey(x25519Generate().publicKey);
    const laptop = encodeKey(x25519Generate().publicKey);
    // What the peer does when the roster gives Bob's key (the peer wires it): the first pins.
    assert.equal(trust.seen("Bob", bobKey, Date.now()), "new");
    const last = () => sink.infos.at(-1)!;
    const lastError = () => (sink.events.at(-1) as { message: string }).message;
    const whoOf = async (name: string) => {
      await handleLine("/who", {}, line, sink);
      const users = last().data!.users as Record<string, string>[];
      return users.find((u) => u.name === name)!;
    };

    await handleLine("/fingerprint", {}, line, sink);
    assert.deepEqual(last().data, { fingerprint: fingerprint(own.key) });
    assert.match(last().text, new RegExp(`^Your key fingerprint: ${fingerprint(own.key)}\\.`));
    assert.deepEqual(await whoOf("Bob"), {
      name: "Bob",
      endpoint: `127.0.0.1:${me.user("Bob")!.endpoint.port}`,
      client: "peerchat",
      key: "unverified",
      fingerprint: fingerprint(bobKey),
    });
    assert.match(
      last().text,
      new RegExp(`Bob 127\\.0\\.0\\.1:\\d+ key ${fingerprint(bobKey)} \\(unverified\\)`),
    );
    assert.equal((await whoOf("nc")).key, "seed");

    await handleLine("/verify bob yes", {}, line, sink);
    assert.match(lastError(), /Compare first: \/verify Bob shows the safety number/);
    await handleLine("/verify bob", {}, line, sink);
    assert.equal(last().kind, "verify");
    const number = safetyNumber({ name: "me", key: own.key }, { name: "Bob", key: bobKey });
    assert.equal(last().data!.safetyNumber, number);
    assert.ok(last().text.includes(number.slice(0, 35)), "the first six groups on one row");
    assert.match(last().text, /if they match on both screens, type \/verify Bob yes\./i);
    await handleLine("/verify bob yes", {}, line, sink);
    assert.equal(last().kind, "verified");
    assert.equal((await whoOf("Bob")).key, "verified");
    assert.match(last().text, /key .* \(verified ✓\)/);

    // Bob's key changes: reported once, /who says so, /verify yes refuses, /trust accepts.
    const errors = sink.events.length;
    assert.equal(trust.seen("Bob", laptop, Date.now()), "changed");
    assert.deepEqual(sink.events.slice(errors), [
      { event: "key-changed", name: "Bob", old: fingerprint(bobKey), new: fingerprint(laptop) },
    ]);
    const changed = await whoOf("Bob");
    assert.equal(changed.key, "changed");
    assert.equal(changed.newFingerprint, fingerprint(laptop));
    assert.match(last().text, /⚠ KEY CHANGED to .*: \/verify Bob, then \/trust Bob/);
    await handleLine("/verify bob yes", {}, line, sink);
    assert.match(lastError(), /changed and is not accepted yet/);
    await handleLine("/verify bob", {}, line, sink);
    assert.equal(last().data!.changed, true);
    assert.match(last().text, /for the NEW key.*type \/trust Bob to accept/s);
    await handleLine("/trust bob", {}, line, sink);
    assert.equal(last().kind, "trusted");
    assert.deepEqual(last().data, {
      name: "Bob",
      fingerprint: fingerprint(laptop),
      state: "unverified",
    });
    await handleLine("/trust bob", {}, line, sink);
    assert.match(lastError(), /Nothing to accept/);
    await handleLine("/fingerprint Bob", {}, line, sink);
    assert.equal(last().data!.fingerprint, fingerprint(laptop));
    await handleLine("/fingerprint nc", {}, line, sink);
    assert.match(lastError(), /No key is known for nc: seed clients have none/);
    await handleLine("/verify me", {}, line, sink);
    assert.match(lastError(), /That is you/);
  });
});
