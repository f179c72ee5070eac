import assert from "node:assert/strict";
import {
  flavorProblem,
  judgeLogin,
  judgeLogout,
  judgeSession,
  loginEndpoints,
  loginFlavor,
  opensSession,
} from "./sessions.ts";
import type { OnlineUser } from "./online_users.ts";

const holder: OnlineUser = {
  name: "Ann",
  key: "ann",
  endpoint: { host: "10.0.0.5", port: 4000 },
  endpointText: "10.0.0.5:4000",
  sourceHost: "10.0.0.5",
  flavor: "peerchat/1",
  encoding: "utf-8",
  session: "s1",
  hash: 1,
  lastSeen: 0,
};

Deno.test("sessions: flavours by encoding; seed/utf16 over UTF-8 is refused", () => {
  assert.equal(loginFlavor("utf-16le", undefined), "seed/utf16");
  assert.equal(loginFlavor("utf-16le", "peerchat/1"), "seed/utf16", "the C# client is a seed");
  assert.equal(loginFlavor("utf-8", "peerchat/1"), "peerchat/1");
  assert.equal(loginFlavor("utf-8", undefined), "");
  assert.match(flavorProblem("utf-8", "seed/utf16")!, /is for clients that send UTF-16LE/);
  assert.equal(flavorProblem("utf-16le", "seed/utf16"), undefined);
  assert.equal(flavorProblem("utf-8", "peerchat/2"), undefined);
  assert.match(flavorProblem("utf-8", "peerchat/1")!, /update peerchat/);
  assert.match(flavorProblem("utf-8", "peerchat/3")!, /speaks peerchat\/3/);
  assert.equal(flavorProblem("utf-8", "other/1"), undefined);
  assert.equal(opensSession("utf-8", "peerchat/1"), true);
  assert.equal(opensSession("utf-8", ""), false);
  assert.equal(opensSession("utf-16le", "seed/utf16"), false);
});

Deno.test("sessions: login verdicts", () => {
  const login = (host: string, endpoint: string, flavor = "peerchat/1", resume?: string) =>
    judgeLogin(holder, host, endpoint, flavor, "utf-8", resume);
  assert.equal(judgeLogin(undefined, "10.0.0.9", "10.0.0.9:1", "", "utf-8", undefined), "join");
  assert.equal(login("10.0.0.5", "10.0.0.5:4000"), "again", "a retry whose Accept was lost");
  assert.equal(login("10.0.0.5", "10.0.0.5:4000", ""), "replace", "same socket, another kind");
  assert.equal(
    judgeLogin(holder, "10.0.0.5", "10.0.0.5:4000", "seed/utf16", "utf-16le", undefined),
    "replace",
  );
  assert.equal(login("10.0.0.6", "10.0.0.5:4000"), "taken", "same endpoint, other source");
  assert.equal(login("10.0.0.5", "10.0.0.5:4001"), "taken");
  assert.equal(login("10.0.0.6", "10.0.0.6:4000", "peerchat/1", "s1"), "replace", "resumed");
  assert.equal(login("10.0.0.6", "10.0.0.6:4000", "peerchat/1", "s2"), "taken");
  const seed = { ...holder, session: undefined, flavor: "" };
  assert.equal(judgeLogin(seed, "10.0.0.6", "10.0.0.6:1", "", "utf-8", undefined), "taken");
});

Deno.test("sessions: logout verdicts", () => {
  const ep = { host: "10.0.0.5", port: 4000 };
  assert.equal(judgeLogout(undefined, ep, "s1", "10.0.0.5"), "gone");
  assert.equal(judgeLogout(holder, ep, "s1", "10.0.0.5"), "ok");
  assert.equal(judgeLogout(holder, { host: "0.0.0.0", port: 4000 }, "s1", "10.0.0.5"), "ok");
  assert.equal(
    judgeLogout(holder, { host: "0.0.0.0", port: 4001 }, "s1", "10.0.0.5"),
    "wrong-address",
  );
  assert.equal(judgeLogout(holder, ep, "s1", "10.0.0.6"), "wrong-address");
  // Sealed with the holder's link: a NAT that changed its public address does not matter.
  assert.equal(judgeLogout(holder, ep, "s1", "10.0.0.6", true), "ok");
  assert.equal(judgeLogout(holder, ep, "s2", "10.0.0.6", true), "wrong-session");
  assert.equal(judgeLogout(holder, ep, "s2", "10.0.0.5"), "wrong-session");
  assert.equal(judgeLogout(holder, ep, undefined, "10.0.0.5"), "wrong-session");
  const seed = { ...holder, session: undefined };
  assert.equal(judgeLogout(seed, ep, undefined, "10.0.0.5"), "ok");
});

Deno.test("sessions: keep-alive and lookup verdicts", () => {
  const from = { host: "10.0.0.5", port: 4000 };
  assert.equal(judgeSession(undefined, "s1", from), "unknown");
  assert.equal(judgeSession(holder, "s1", from), "ok");
  assert.equal(judgeSession(holder, "s2", from), "wrong-session");
  assert.equal(judgeSession(holder, "s1", { host: "10.0.0.5", port: 4001 }), "wrong-endpoint");
  const seed = { ...holder, session: undefined };
  assert.equal(judgeSession(seed, "s1", from), "wrong-session", "seed clients have no session");
});

Deno.test("sessions: a login's primary endpoint, reflexive endpoint and candidates", () => {
  const from = { host: "203.0.113.7", port: 61000 };
  const lan = { host: "192.168.1.10", port: 40000 };
  // A peerchat/2 peer naming its LAN address behind a NAT: R is a candidate, and the index key.
  assert.deepEqual(loginEndpoints(lan, from, true, undefined), {
    endpoint: lan,
    endpointText: "192.168.1.10:40000",
    indexText: "203.0.113.7:61000",
    reflexive: from,
    candidates: [from],
    candidatesText: "203.0.113.7:61000",
  });
  // Naming 0.0.0.0: its source host and port (the NAT's), so no further candidate.
  assert.deepEqual(loginEndpoints({ host: "0.0.0.0", port: 40000 }, from, true, undefined), {
    endpoint: from,
    endpointText: "203.0.113.7:61000",
    indexText: "203.0.113.7:61000",
    reflexive: from,
  });
  // A seed client naming 0.0.0.0: the source host and the port it named, as before.
  assert.deepEqual(loginEndpoints({ host: "0.0.0.0", port: 5000 }, from, false, undefined), {
    endpoint: { host: "203.0.113.7", port: 5000 },
    endpointText: "203.0.113.7:5000",
    indexText: "203.0.113.7:5000",
  });
  // Over loopback with a LAN address: that address; the loopback source is no candidate (peers on
  // other machines would probe their own loopback).
  const loop = { host: "127.0.0.1", port: 4001 };
  const near = loginEndpoints({ host: "0.0.0.0", port: 4001 }, loop, true, "192.168.1.5");
  assert.deepEqual(near.endpoint, { host: "192.168.1.5", port: 4001 });
  assert.equal(near.candidates, undefined);
  assert.equal(near.indexText, "127.0.0.1:4001");
});

Deno.test("sessions: sealed datagrams count from any source; logouts may name the login's endpoint", () => {
  const moved = { host: "10.0.0.5", port: 4999 };
  assert.equal(judgeSession(holder, "s1", moved), "wrong-endpoint");
  assert.equal(judgeSession(holder, "s1", moved, true), "ok", "the link decides");
  assert.equal(judgeSession(holder, "s2", moved, true), "wrong-session");
  const behindNat = {
    ...holder,
    endpoint: { host: "203.0.113.7", port: 61000 },
    named: { host: "0.0.0.0", port: 4000 },
  };
  assert.equal(judgeLogout(behindNat, { host: "0.0.0.0", port: 4000 }, "s1", "10.0.0.5"), "ok");
  assert.equal(judgeLogout(behindNat, { host: "0.0.0.0", port: 61000 }, "s1", "10.0.0.5"), "ok");
  assert.equal(
    judgeLogout(behindNat, { host: "0.0.0.0", port: 4001 }, "s1", "10.0.0.5"),
    "wrong-address",
  );
});

Deno.test("loginEndpoints: a loopback source listed at the LAN address is no candidate", () => {
  const from = { host: "127.0.0.1", port: 40001 };
  const lan = loginEndpoints({ host: "0.0.0.0", port: 40001 }, from, true, "192.168.1.5");
  assert.deepEqual(lan.endpoint, { host: "192.168.1.5", port: 40001 });
  assert.equal(lan.candidates, undefined);
  // A peer that names an address (tests on loopback stand in for NATs this way) keeps it.
  const named = loginEndpoints({ host: "192.168.1.10", port: 40002 }, from, true, "192.168.1.5");
  assert.deepEqual(named.candidates, [from]);
});
