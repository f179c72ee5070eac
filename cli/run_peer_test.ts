import assert from "node:assert/strict";
import { Coordinator } from "../coordinator.ts";
import { Peer, type PeerEvent } from "../peer.ts";
import { completeInput, handleLine, type SessionState, traceConflict } from "./run_peer.ts";
import { painter } from "../ui/format.ts";
import { encodeUtf16 } from "../protocol.ts";
import { RawUdp, waitFor } from "../testing/helpers.ts";

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
    handleLine("hello?", state, me, sink);
    assert.match((sink.events[0] as { message: string }).message, /Nobody to send to yet/);
    handleLine("/msg bob first, with comma", state, me, sink);
    handleLine("second", state, me, sink);
    assert.equal(state.partner, "Bob");
    await waitFor(
      () => bobEvents.filter((e) => e.event === "message").length === 2,
      "both messages at Bob",
    );
    const texts = bobEvents.flatMap((e) => e.event === "message" ? [e.text] : []);
    assert.deepEqual(texts, ["first, with comma", "second"]);
    handleLine("/msg nobody hi", state, me, sink);
    assert.equal(state.partner, "Bob", "a failed /msg keeps the partner");
    assert.match((sink.events.at(-1) as { message: string }).message, /nobody is not online/);
    assert.equal(handleLine("/quit", state, me, sink), "quit");
  });
});

Deno.test("/who lists names, endpoints and seed clients; /help lists commands", async () => {
  await withChat((me, bob) => {
    const sink = recordingSink();
    handleLine("/who", {}, me, sink);
    const nc = me.user("nc")!;
    assert.equal(
      sink.infos[0].text,
      `Online (2): Bob 127.0.0.1:${bob.endpoint.port}, nc 127.0.0.1:${nc.endpoint.port} (seed client)`,
    );
    handleLine("/help", {}, me, sink);
    assert.match(sink.infos[1].text, /\/msg NAME TEXT/);
    handleLine("/history bob", {}, me, sink);
    assert.equal(sink.infos[2].text, "No messages with bob yet.");
    handleLine("/giveup bob", {}, me, sink);
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
      handleLine("/who", {}, me, sink);
      const users = sink.infos[0].data!.users as { name: string; client: string }[];
      assert.deepEqual(users.map((u) => [u.name, u.client]).sort(), [
        ["Bob", "peerchat"],
        ["cs", "seed"],
        ["nc", "seed"],
      ]);
      assert.match(sink.infos[0].text, /cs 127\.0\.0\.1:\d+ \(seed client\)/);
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
    handleLine("/msg NC", state, me, sink);
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
  });
});

Deno.test("--trace with the chat screen needs stderr off the terminal", () => {
  assert.match(traceConflict(true, true, true)!, /2>trace\.log/);
  assert.equal(traceConflict(true, true, false), undefined, "stderr redirected");
  assert.equal(traceConflict(true, false, true), undefined, "--json or lines: no screen");
  assert.equal(traceConflict(false, true, true), undefined);
});
