import assert from "node:assert/strict";
import {
  type NatRelayArgs,
  natRelayArgs,
  parseBytes,
  parseDuration,
  releaseName,
  roomArgs,
  transitArgs,
} from "./coordinator_args.ts";
import { parseCli } from "./cli.ts";

Deno.test("coordinator args: durations with a unit", () => {
  assert.equal(parseDuration("180d", "--name-ttl"), 180 * 24 * 3600 * 1000);
  assert.equal(parseDuration("12h", "--name-ttl"), 12 * 3600 * 1000);
  assert.equal(parseDuration("30m", "--name-ttl"), 30 * 60 * 1000);
  assert.equal(parseDuration("45s", "--name-ttl"), 45 * 1000);
  for (const bad of ["180", "0d", "-1d", "1.5h", "d", "1w", "10000000d", ""]) {
    assert.match(String(parseDuration(bad, "--name-ttl")), /^--name-ttl must be a whole number/);
  }
});

Deno.test("coordinator args: release NAME, one valid name", () => {
  assert.equal(releaseName(["张三"]), "张三");
  assert.deepEqual(releaseName([]), {
    error: "Usage: peerchat coordinator release NAME [--data DIR]",
  });
  assert.match((releaseName(["a,b"]) as { error: string }).error, /is not a name/);
});

Deno.test("coordinator command line: --data, --name-ttl, --registrations and release", () => {
  const run = parseCli([
    "coordinator",
    "--data",
    "/tmp/c",
    "--name-ttl",
    "30d",
    "--registrations",
    "5",
  ]);
  assert.equal(run.command, "coordinator");
  if (run.command !== "coordinator") return;
  assert.equal(run.data, "/tmp/c");
  assert.equal(run.nameTtlMs, 30 * 24 * 3600 * 1000);
  assert.equal(run.registrationsPerMinute, 5);
  assert.equal(run.release, undefined);
  const defaults = parseCli(["coordinator"]);
  assert.ok(defaults.command === "coordinator" && defaults.nameTtlMs === 180 * 24 * 3600 * 1000);
  assert.ok(defaults.command === "coordinator" && defaults.registrationsPerMinute === 100);
  const release = parseCli(["coordinator", "release", "bob", "--data", "/tmp/c"]);
  assert.ok(release.command === "coordinator" && release.release === "bob");
  assert.ok(release.command === "coordinator" && release.data === "/tmp/c");
  for (
    const bad of [
      ["coordinator", "--name-ttl", "forever"],
      ["coordinator", "--registrations", "0"],
      ["coordinator", "release"],
      ["coordinator", "release", "a", "b"],
      ["coordinator", "stray"],
      ["coordinator", "--data", ""],
    ]
  ) {
    assert.equal(parseCli(bad).command, "usage-error", bad.join(" "));
  }
  const peer = parseCli(["peer", "--trust-coordinator"]);
  assert.ok(peer.command === "peer" && peer.trustCoordinator === true);
  const plain = parseCli(["peer"]);
  assert.ok(plain.command === "peer" && plain.trustCoordinator === false);
});

Deno.test("coordinator args: --nat-port N|off, --relay on|off, --relay-rate R", () => {
  assert.deepEqual(natRelayArgs(undefined, undefined, undefined), {
    relay: true,
    relayRate: 256 * 1024,
  });
  assert.deepEqual(natRelayArgs("9000", "off", "64k"), {
    natPort: 9000,
    relay: false,
    relayRate: 64 * 1024,
  });
  assert.equal((natRelayArgs("off", "on", "1m") as NatRelayArgs).natPort, null);
  assert.equal((natRelayArgs("0", undefined, "1000") as NatRelayArgs).natPort, 0);
  assert.equal((natRelayArgs(undefined, undefined, "1m") as NatRelayArgs).relayRate, 1 << 20);
  for (
    const [nat, relay, rate, problem] of [
      ["65536", undefined, undefined, /--nat-port must be a port number/],
      ["no", undefined, undefined, /--nat-port must be a port number/],
      [undefined, "yes", undefined, /--relay must be on or off/],
      [undefined, undefined, "0", /--relay-rate must be a whole number/],
      [undefined, undefined, "fast", /--relay-rate must be a whole number/],
      [undefined, undefined, "1.5k", /--relay-rate must be a whole number/],
    ] as [string | undefined, string | undefined, string | undefined, RegExp][]
  ) {
    assert.match(String(natRelayArgs(nat, relay, rate)), problem);
  }
  const run = parseCli([
    "coordinator",
    "--nat-port",
    "off",
    "--relay",
    "off",
    "--relay-rate",
    "8k",
  ]);
  assert.ok(run.command === "coordinator");
  assert.equal(run.natPort, null);
  assert.equal(run.relay, false);
  assert.equal(run.relayRate, 8192);
  const defaults = parseCli(["coordinator"]);
  assert.ok(defaults.command === "coordinator");
  assert.equal(defaults.natPort, undefined);
  assert.equal(defaults.relay, true);
  const bad = parseCli(["coordinator", "--relay", "maybe"]);
  assert.equal(bad.command, "usage-error");
});

Deno.test("coordinator args: --transit on|off, --transit-port, --transit-rate, --transit-total, --transit-max", () => {
  assert.deepEqual(transitArgs({}), { transit: {} });
  assert.deepEqual(transitArgs({ transit: "on", "transit-port": "0" }), { transit: { port: 0 } });
  assert.deepEqual(transitArgs({ transit: "off", "transit-rate": "nonsense" }), { transit: false });
  assert.deepEqual(
    transitArgs({
      "transit-port": "9000",
      "transit-rate": "8m",
      "transit-total": "100M",
      "transit-max": "2g",
    }),
    {
      transit: {
        port: 9000,
        pairBytesPerSecond: 8 * 1024 * 1024,
        totalBytesPerSecond: 100 * 1024 * 1024,
        maxBytes: 2 * 1024 ** 3,
      },
    },
  );
  assert.equal(parseBytes("1000"), 1000);
  assert.equal(parseBytes("64k"), 65536);
  for (const bad of ["0", "0k", "-1", "1.5m", "fast", "", "1t", "9999999999999g"]) {
    assert.equal(parseBytes(bad), undefined, bad);
  }
  const problems: [Record<string, string>, RegExp][] = [
    [{ transit: "maybe" }, /--transit must be on or off/],
    [{ "transit-port": "65536" }, /--transit-port must be a port number/],
    [{ "transit-port": "x" }, /--transit-port must be a port number/],
    [{ "transit-rate": "0" }, /--transit-rate must be a whole number of bytes a second/],
    [{ "transit-total": "lots" }, /--transit-total must be a whole number of bytes a second/],
    [{ "transit-max": "1.5g" }, /--transit-max must be a whole number of bytes/],
  ];
  for (const [values, problem] of problems) assert.match(String(transitArgs(values)), problem);
  const run = parseCli(["coordinator", "--transit-port", "7000", "--transit-max", "500m"]);
  assert.ok(run.command === "coordinator");
  assert.deepEqual(run.transit, { port: 7000, maxBytes: 500 * 1024 * 1024 });
  const off = parseCli(["coordinator", "--transit", "off"]);
  assert.ok(off.command === "coordinator");
  assert.equal(off.transit, false);
  const defaults = parseCli(["coordinator"]);
  assert.ok(defaults.command === "coordinator");
  assert.deepEqual(defaults.transit, {});
  assert.equal(parseCli(["coordinator", "--transit-rate", "1.5m"]).command, "usage-error");
  const help = parseCli(["coordinator", "--help"]);
  assert.ok(help.command === "help");
  assert.match(help.text, /--transit on\|off/);
  assert.match(help.text, /--transit-port N/);
});

Deno.test("--room-owner (repeatable) and --announce-only #all", () => {
  assert.deepEqual(
    roomArgs(["--room-owner", "ada", "--port", "0", "--room-owner=Bob", "--announce-only=#ALL"]),
    { roomOwners: ["ada", "Bob"], allAnnounceOnly: true, rest: ["--port", "0"] },
  );
  assert.deepEqual(roomArgs(["--room-owner", "ada", "--room-owner", "ADA"]), {
    roomOwners: ["ada"],
    allAnnounceOnly: false,
    rest: [],
  });
  assert.match(roomArgs(["--announce-only", "#lab", "--room-owner", "a"]) as string, /#all only/);
  assert.match(roomArgs(["--announce-only", "#all"]) as string, /needs an owner/);
  // A shell ate an unquoted #all (a comment to the end of the line): say how to write it.
  assert.match(roomArgs(["--announce-only"]) as string, /quoted.*comment/);
  assert.deepEqual(roomArgs(["--announce-only", "all", "--room-owner", "t"]), {
    roomOwners: ["t"],
    allAnnounceOnly: true,
    rest: [],
  });
  assert.match(roomArgs(["--room-owner", "a b"]) as string, /not a name/);
  assert.match(roomArgs(["--room-owner"]) as string, /needs a value/);
  const five = ["a", "b", "c", "d", "e"].flatMap((name) => ["--room-owner", name]);
  assert.match(roomArgs(five) as string, /at most 4 owners/);
  const parsed = parseCli(["coordinator", "--room-owner", "teacher", "--announce-only", "#all"]);
  assert.ok(parsed.command === "coordinator");
  assert.deepEqual([parsed.roomOwners, parsed.allAnnounceOnly], [["teacher"], true]);
  const wrong = parseCli(["coordinator", "--announce-only", "#lab"]);
  assert.equal(wrong.command, "usage-error");
});
