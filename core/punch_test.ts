import assert from "node:assert/strict";
import { type Endpoint, formatMessage, type Message } from "../protocol.ts";
import { randomBytes } from "../crypto/primitives.ts";
import { LinkAuth } from "./link_auth.ts";
import { type OnlineUser, OnlineUsers } from "./online_users.ts";
import {
  allowInWindow,
  CONNECT_WINDOW_MS,
  CONNECTS_PER_WINDOW,
  punchCandidates,
  punchDelays,
  Punches,
} from "./punch.ts";

const at = (host: string, port: number): Endpoint => ({ host, port });

Deno.test("punch delays: both sides probe at max(oA, oB) + 20 ms", () => {
  // One-way 50 ms and 10 ms: A waits 20, B waits 40 + 20 = 60 (both probe 70 ms from now).
  assert.deepEqual(punchDelays(100, 20), [20, 60]);
  assert.deepEqual(punchDelays(20, 100), [60, 20]);
  assert.deepEqual(punchDelays(undefined, undefined), [20, 20]);
  assert.deepEqual(punchDelays(undefined, 30), [35, 20], "unknown counts as 0");
  assert.deepEqual(punchDelays(7, 0), [20, 24], "whole milliseconds");
  for (const [a, b] of [[0, 60000], [60000, 60000], [1, 59999]]) {
    const [da, db] = punchDelays(a, b);
    assert.ok(da >= 20 && db >= 20 && da <= 30020 && db <= 30020);
    assert.ok(Math.abs(a / 2 + da - (b / 2 + db)) <= 1, "both probe at the same moment");
  }
});

Deno.test("punch candidates: replyTo first, then the roster endpoint and the others, ≤ 4", () => {
  const user = {
    replyTo: at("203.0.113.7", 61000),
    endpoint: at("192.168.1.10", 40000),
    candidates: [at("203.0.113.7", 61000), at("10.9.9.9", 1), at("10.9.9.9", 2), at("::1", 3)],
  };
  assert.deepEqual(punchCandidates(user), [
    at("203.0.113.7", 61000),
    at("192.168.1.10", 40000),
    at("10.9.9.9", 1),
    at("10.9.9.9", 2),
  ]);
  assert.deepEqual(punchCandidates({ replyTo: at("10.0.0.1", 1), endpoint: at("10.0.0.1", 1) }), [
    at("10.0.0.1", 1),
  ]);
});

Deno.test("connect windows: at most so many per window, counted anew after it", () => {
  const window = { start: 0, count: 0 };
  for (let i = 0; i < 10; i++) assert.ok(allowInWindow(window, i, 10, 10_000));
  assert.equal(allowInWindow(window, 9_999, 10, 10_000), false);
  assert.equal(allowInWindow(window, 10_000, 10, 10_000), true);
  assert.equal(window.count, 1);
});

Deno.test("Punches: both get a punch with the other's candidates; notfound; a limit per session", () => {
  const users = new OnlineUsers();
  const user = (name: string, n: number, link = true): OnlineUser => ({
    name,
    key: name,
    endpoint: at("192.168.1.10", 40000),
    endpointText: "192.168.1.10:40000",
    indexText: `203.0.113.${n}:5000`,
    candidates: [at(`203.0.113.${n}`, 5000)],
    replyTo: at(`203.0.113.${n}`, 5000),
    sourceHost: `203.0.113.${n}`,
    flavor: link ? "peerchat/2" : "",
    link: link ? new LinkAuth({ send: randomBytes(32), receive: randomBytes(32) }) : undefined,
    encoding: "utf-8",
    session: link ? `s${n}` : undefined,
    hash: n,
    lastSeen: 0,
    rtt: n * 10,
  });
  const ann = user("ann", 1);
  const bob = user("bob", 5);
  users.add(ann);
  users.add(bob);
  users.add(user("nc", 9, false));
  const sent: string[] = [];
  const counts: string[] = [];
  const punches = new Punches({
    users,
    count: (kind) => counts.push(kind),
    sendTo: (to: OnlineUser, message: Message) => sent.push(`${to.name} ${formatMessage(message)}`),
  });
  const connect = (who: string) => ({ type: "connect" as const, name: "ann", session: "s1", who });
  punches.connect(ann, connect("BOB"), 0);
  // ann: rtt 10 (one-way 5), bob: rtt 50 (one-way 25): ann waits 40, bob 20.
  assert.deepEqual(sent.splice(0), [
    "ann punch,bob,40,203.0.113.5:5000|192.168.1.10:40000",
    "bob punch,ann,20,203.0.113.1:5000|192.168.1.10:40000",
  ]);
  punches.connect(ann, connect("nc"), 1);
  punches.connect(ann, connect("ann"), 2);
  punches.connect(ann, connect("zed"), 3);
  assert.deepEqual(sent.splice(0), ["ann notfound,nc", "ann notfound,ann", "ann notfound,zed"]);
  for (let i = 4; i < CONNECTS_PER_WINDOW + 10; i++) punches.connect(ann, connect("bob"), i);
  assert.equal(sent.splice(0).length, 2 * (CONNECTS_PER_WINDOW - 4));
  assert.equal(counts.filter((c) => c === "connectsLimited").length, 10);
  punches.connect(ann, connect("bob"), CONNECT_WINDOW_MS);
  assert.equal(sent.length, 2, "a new window");
  punches.connect(bob, { ...connect("ann"), name: "bob" }, 0);
  assert.equal(sent.length, 4, "each session has its own limit");
});
