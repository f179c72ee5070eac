/**
 * End-to-end: the real `peerchat` program, as subprocesses in `--json` mode,
 * on 127.0.0.1 — a coordinator and three peers — plus a client that speaks
 * the seed format with raw sockets, as netcat would.
 */

import assert from "node:assert/strict";
import { SecureRaw } from "./secure_raw.ts";
import {
  freeUdpPort,
  type JsonEvent,
  PeerchatProcess,
  RawUdp,
  spawnCoordinator,
  spawnPeer,
  tcpRead,
} from "./helpers.ts";

import { loginRaw, PeerKeys } from "./raw_peer.ts";
Deno.test("coordinator and three peers: lists, joins, leaves, chat, rejection, SIGTERM", async () => {
  const { process: coordinator, udp } = await spawnCoordinator();
  const running: PeerchatProcess[] = [coordinator];
  try {
    const alice = await spawnPeer("alice", udp);
    running.push(alice.process);
    assert.deepEqual(alice.ready.users, []);
    const bob = await spawnPeer("bob", udp);
    running.push(bob.process);
    assert.deepEqual(bob.ready.users, [
      { name: "alice", endpoint: alice.ready.endpoint, fingerprint: alice.ready.fingerprint },
    ]);
    assert.match(alice.ready.fingerprint, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    const carol = await spawnPeer("张三", udp);
    running.push(carol.process);
    assert.deepEqual(
      carol.ready.users.map((u: JsonEvent) => u.name).sort(),
      ["alice", "bob"],
    );
    assert.equal(carol.ready.users.some((u: JsonEvent) => u.name === "张三"), false);

    // Everyone hears of every later login, with the endpoint the newcomer reported.
    await alice.process.waitFor((e) => e.event === "join" && e.name === "bob", "alice sees bob");
    const joined = await alice.process.waitFor(
      (e) => e.event === "join" && e.name === "张三",
      "alice sees 张三",
    );
    assert.equal(joined.endpoint, carol.ready.endpoint);
    await bob.process.waitFor((e) => e.event === "join" && e.name === "张三", "bob sees 张三");

    // Direct messages both ways, acknowledged.
    await alice.process.writeLine("/msg bob hello bob");
    const sent = await alice.process.waitFor((e) => e.event === "sent", "alice's sent event");
    await alice.process.waitFor(
      (e) => e.event === "delivered" && e.id === sent.id,
      "delivery to bob",
    );
    const atBob = await bob.process.waitFor((e) => e.event === "message", "bob's message");
    assert.equal(atBob.from, "alice");
    assert.equal(atBob.text, "hello bob");
    assert.equal(atBob.id, sent.id);
    assert.match(atBob.time, /^\d\d:\d\d:\d\d$/);

    await bob.process.writeLine("/msg alice hi alice");
    await bob.process.waitFor(
      (e) => e.event === "delivered" && e.to === "alice",
      "delivery to alice",
    );
    await alice.process.waitFor(
      (e) => e.event === "message" && e.text === "hi alice",
      "alice's message",
    );

    // Chinese text with commas, ASCII and full-width, arrives intact.
    const chinese = "你好，世界, 这是, 一条,消息";
    await carol.process.writeLine(`/msg alice ${chinese}`);
    const received = await alice.process.waitFor(
      (e) => e.event === "message" && e.from === "张三",
      "alice gets 张三's message",
    );
    assert.equal(received.text, chinese);
    await carol.process.waitFor((e) => e.event === "delivered", "delivery of the Chinese message");

    // A second "bob" (another data directory: another identity) is refused, and the process says
    // why and exits non-zero.
    const duplicateData = await Deno.makeTempDir({ prefix: "peerchat-dup-" });
    const duplicate = new PeerchatProcess([
      "peer",
      "--name",
      "BOB",
      "--coordinator",
      `${udp.host}:${udp.port}`,
      "--host",
      "127.0.0.1",
      "--json",
      "--data",
      duplicateData,
    ]);
    duplicate.dataDir = duplicateData;
    running.push(duplicate);
    const status = await duplicate.exited();
    assert.equal(status.code, 1);
    const refusal = duplicate.events.find((e) => e.event === "error");
    assert.match(
      refusal?.message,
      /refused the login: The name is registered to another identity: .* release BOB$/,
    );

    // SIGTERM: bob logs out and everyone sees him leave.
    bob.process.signal("SIGTERM");
    assert.equal((await bob.process.exited()).code, 0);
    for (const peer of [alice.process, carol.process]) {
      await peer.waitFor((e) => e.event === "leave" && e.name === "bob", "bob's leave");
    }
    await coordinator.waitFor(
      (e) => e.event === "leave" && e.name === "bob",
      "coordinator sees bob leave",
    );

    // End of input: alice logs out too.
    await alice.process.closeStdin();
    assert.equal((await alice.process.exited()).code, 0);
    await carol.process.waitFor((e) => e.event === "leave" && e.name === "alice", "alice's leave");
  } finally {
    for (const process of running.reverse()) await process.stop();
  }
});

Deno.test("netcat-style client: seed login, list, notices, talk both ways, logout", async () => {
  const { process: coordinator, udp } = await spawnCoordinator();
  const nc = new RawUdp();
  let peer: PeerchatProcess | undefined;
  try {
    await nc.send(`login,nc,${nc.address}\n`, udp);
    const accept = await nc.next();
    assert.match(accept.text, /^Accept,\d+$/);
    const tcpPort = Number(accept.text.split(",")[1]);
    assert.equal(await tcpRead(tcpPort), `nc,${nc.address};end`);

    const alice = await spawnPeer("alice", udp);
    peer = alice.process;
    assert.deepEqual(alice.ready.users, [{ name: "nc", endpoint: nc.address }]);
    // The seed client hears of alice in the seed form: three fields.
    const notice = await nc.next((t) => t.startsWith("login,"));
    assert.equal(notice.text, `login,alice,${alice.ready.endpoint}`);
    assert.equal(await tcpRead(tcpPort), `nc,${nc.address};alice,${alice.ready.endpoint};end`);

    // alice → nc is a plain talk, its commas intact.
    await peer.writeLine("/msg nc one, two, three");
    const talk = await nc.next((t) => t.startsWith("talk,"));
    assert.match(talk.text, /^talk,\d\d:\d\d:\d\d,alice,one, two, three$/);

    // nc → alice: everything after the third comma is the text.
    const [host, port] = alice.ready.endpoint.split(":");
    await nc.send("talk,09:15:00,nc,hi, alice, from netcat\n", { host, port: Number(port) });
    const message = await peer.waitFor((e) => e.event === "message", "nc's talk at alice");
    assert.equal(message.text, "hi, alice, from netcat");
    assert.equal(message.from, "nc");
    assert.equal(message.time, "09:15:00");

    await peer.closeStdin();
    await peer.exited();
    assert.equal(
      (await nc.next((t) => t.startsWith("logout,"))).text,
      `logout,alice,${alice.ready.endpoint}`,
    );
    await nc.send(`logout,nc,${nc.address}\n`, udp);
    await coordinator.waitFor((e) => e.event === "leave" && e.name === "nc", "nc's logout");
  } finally {
    await peer?.stop();
    await nc.close();
    await coordinator.stop();
  }
});

Deno.test("garbage datagrams at a coordinator and a peer leave both serving", async () => {
  const { process: coordinator, udp } = await spawnCoordinator();
  const attacker = new RawUdp();
  let alice: PeerchatProcess | undefined;
  let bob: PeerchatProcess | undefined;
  try {
    const a = await spawnPeer("alice", udp);
    alice = a.process;
    const [host, port] = a.ready.endpoint.split(":");
    const peerAddress = { host, port: Number(port) };
    const garbage: (string | Uint8Array<ArrayBuffer>)[] = [
      "",
      ",",
      ";;;",
      "login,",
      "talk,",
      "msg,,,,",
      "ack",
      "Accept,1",
      "logout,alice,1.2.3.4:5",
      new Uint8Array([0xc3, 0x28, 0xff]),
      new Uint8Array(9000).fill(0x2c),
      new Uint8Array(100).map((_, i) => (i * 37) & 0xff),
    ];
    for (const g of garbage) {
      await attacker.send(g, udp);
      await attacker.send(g, peerAddress);
    }
    const b = await spawnPeer("bob", udp);
    bob = b.process;
    assert.deepEqual(b.ready.users.map((u: JsonEvent) => u.name), ["alice"]);
    await bob.writeLine("/msg alice still there?");
    await bob.waitFor((e) => e.event === "delivered", "alice still acknowledges");
    assert.equal(coordinator.child.pid > 0, true);
    assert.equal(alice.events.some((e) => e.event === "not-json"), false, "stdout stays pure JSON");
  } finally {
    await alice?.stop();
    await bob?.stop();
    await attacker.close();
    await coordinator.stop();
  }
});

Deno.test("--help, --version and usage errors", async () => {
  const run = async (...args: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", new URL("../main.ts", import.meta.url).pathname, ...args],
      stdin: "null",
    }).output();
    return {
      code: output.code,
      stdout: new TextDecoder().decode(output.stdout),
      stderr: new TextDecoder().decode(output.stderr),
    };
  };
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /peerchat coordinator \[--host 0\.0\.0\.0\] \[--port 8888\] \[--tcp-port 0\] \[--json\]/,
  );
  assert.match(help.stdout, /peerchat peer \[--name NAME\] \[--coordinator HOST\[:PORT\]\]/);
  assert.match(help.stdout, /peerchat doctor/);
  assert.match((await run("doctor", "--help")).stdout, /UDP and TCP to it separately/);
  assert.match((await run("peer", "--help")).stdout, /\/msg NAME TEXT/);
  assert.match((await run("coordinator", "--help")).stdout, /--tcp-port N/);
  assert.match((await run("--version")).stdout, /^peerchat \d+\.\d+\.\d+/);
  const unknown = await run("frobnicate");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "frobnicate"/);
  const missing = await run("peer", "--coordinator", "127.0.0.1");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Missing --name/);
  const badName = await run("peer", "--name", "a,b", "--coordinator", "127.0.0.1");
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /only letters, digits/);
});

Deno.test("deno bundle makes one runnable file (deno compile needs the internet, bundle does not)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-bundle-" });
  try {
    const out = `${dir}/peerchat.js`;
    const bundle = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--output", out, new URL("../main.ts", import.meta.url).pathname],
      stdin: "null",
    }).output();
    assert.equal(bundle.code, 0, new TextDecoder().decode(bundle.stderr));
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--unstable-net", "--no-config", out, "--version"],
      stdin: "null",
      cwd: dir,
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    assert.match(new TextDecoder().decode(run.stdout), /^peerchat \d+\.\d+\.\d+/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kill -9 of the receiver mid-conversation: nothing lost, nothing shown twice", async () => {
  const { process: coordinator, udp } = await spawnCoordinator();
  const bobData = await Deno.makeTempDir({ prefix: "peerchat-bob-" });
  const running: PeerchatProcess[] = [coordinator];
  try {
    const alice = await spawnPeer("alice", udp);
    running.push(alice.process);
    const bob1 = await spawnPeer("bob", udp, ["--data", bobData]);
    running.push(bob1.process);
    await alice.process.waitFor((e) => e.event === "join" && e.name === "bob", "alice sees bob");

    const texts = Array.from({ length: 300 }, (_, i) => `message ${i}, 第${i}条`);
    for (const text of texts) await alice.process.writeLine(`/msg bob ${text}`);
    await bob1.process.waitFor(
      () => bob1.process.events.filter((e) => e.event === "message").length >= 50,
      "bob to receive some",
    );
    bob1.process.signal("SIGKILL");
    await bob1.process.exited();

    const bob2 = await spawnPeer("bob", udp, ["--data", bobData]);
    running.push(bob2.process);
    await alice.process.waitFor(
      () => alice.process.events.filter((e) => e.event === "delivered").length === 300,
      "all 300 to be acknowledged",
      30_000,
    );
    const shownBy = (p: PeerchatProcess) =>
      p.events.filter((e) => e.event === "message").map((e) => texts.indexOf(e.text));
    const before = shownBy(bob1.process);
    const after = shownBy(bob2.process);
    const shown = [...before, ...after];
    // Never twice, always in order. A message is shown just after its ack goes out (the sender's
    // ✓ is not held up by the screen): a kill in that moment leaves what that datagram completed
    // stored and acknowledged but not shown — in the history below, not lost. Only there.
    assert.ok(shown.every((i, k) => i >= 0 && (k === 0 || i > shown[k - 1])), `${shown}`);
    const missing = texts.map((_, i) => i).filter((i) => !shown.includes(i));
    const crash = before.at(-1) ?? -1;
    assert.ok(
      missing.every((i) => i > crash && i < (after[0] ?? texts.length)),
      `not shown: ${missing} (bob1 showed up to ${crash}, bob2 from ${after[0]})`,
    );
    await bob2.process.writeLine("/history alice 1000");
    const history = await bob2.process.waitFor((e) => e.event === "history", "bob's history");
    assert.deepEqual(history.entries.map((e: JsonEvent) => e.body), texts);
  } finally {
    for (const process of running.reverse()) await process.stop();
    await Deno.remove(bobData, { recursive: true });
  }
});

Deno.test("without --coordinator a peer finds the one coordinator by discovery", async () => {
  const discovery = String(freeUdpPort());
  const { process: coordinator, udp } = await spawnCoordinator(["--discovery-port", discovery]);
  let peer: PeerchatProcess | undefined;
  try {
    const dataDir = await Deno.makeTempDir({ prefix: "peerchat-disc-" });
    peer = new PeerchatProcess([
      "peer",
      "--name",
      "finder",
      "--host",
      "127.0.0.1",
      "--json",
      "--discovery-port",
      discovery,
      "--data",
      dataDir,
    ]);
    peer.dataDir = dataDir;
    const found = await peer.waitFor((e) => e.event === "discovered", "the discovery report");
    assert.match(found.text, new RegExp(`^Found the coordinator 127\\.0\\.0\\.1:${udp.port} \\(`));
    await peer.waitFor((e) => e.event === "ready", "finder to log in");
    await coordinator.waitFor((e) => e.event === "join" && e.name === "finder", "the join");
  } finally {
    await peer?.stop();
    await coordinator.stop();
  }
});

Deno.test("without --coordinator: none or several answering is a clear error for a script", async () => {
  const discovery = String(freeUdpPort());
  const run = async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("../main.ts", import.meta.url).pathname,
        "peer",
        "--name",
        "lost",
        "--host",
        "127.0.0.1",
        "--discovery-port",
        discovery,
      ],
      stdin: "null",
    }).output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  };
  const none = await run();
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No coordinator answered on this LAN/);
  const first = await spawnCoordinator(["--discovery-port", discovery]);
  const second = await spawnCoordinator(["--discovery-port", discovery]);
  try {
    const several = await run();
    assert.equal(several.code, 1);
    assert.match(
      several.stderr,
      /Several coordinators answered: 127\.0\.0\.1:\d+ \(.*\); 127\.0\.0\.1:\d+ /,
    );
    assert.match(several.stderr, new RegExp(`:${first.udp.port} `));
    assert.match(several.stderr, new RegExp(`:${second.udp.port} `));
  } finally {
    await first.process.stop();
    await second.process.stop();
  }
});

Deno.test("--trace shows the seed flow on stderr and leaves --json stdout clean", async () => {
  const { process: coordinator, udp, tcpPort } = await spawnCoordinator();
  let peer: PeerchatProcess | undefined;
  try {
    const started = await spawnPeer("tracer", udp, ["--trace"]);
    peer = started.process;
    await peer.closeStdin();
    await peer.exited();
    assert.equal(peer.events.some((e) => e.event === "not-json"), false, "stdout is only JSON");
    const where = `127.0.0.1:${udp.port}`;
    assert.match(
      peer.stderr,
      new RegExp(`-> UDP ${where} +login,tracer,127\\.0\\.0\\.1:\\d+,peerchat/2\n`),
    );
    assert.match(
      peer.stderr,
      new RegExp(`<- UDP ${where} +challenge,tracer,[\\w-]{22},[\\w-]{43}`),
    );
    assert.match(
      peer.stderr,
      new RegExp(`-> UDP ${where} +login,tracer,127\\.0\\.0\\.1:\\d+,peerchat/2,-,[\\w-]{43},`),
    );
    assert.match(peer.stderr, new RegExp(`<- UDP ${where} +auth,1,[\\w-]{22},Accept,${tcpPort},`));
    assert.match(
      peer.stderr,
      new RegExp(
        `<- TCP 127\\.0\\.0\\.1:${tcpPort} +tracer,127\\.0\\.0\\.1:\\d+,peerchat/2,[\\w-]{43};end`,
      ),
    );
    assert.match(peer.stderr, /-> UDP .* auth,\d+,[\w-]{22},logout,tracer,/);
  } finally {
    await peer?.stop();
    await coordinator.stop();
  }
});

Deno.test({
  name: "a full disk: the receiver acknowledges only what it stored, and shows all of that",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const { process: coordinator, udp } = await spawnCoordinator(["--peer-timeout", "300"]);
    const sender = new RawUdp();
    // A peer takes msg only inside a session with a peerchat peer the roster lists: the raw
    // sender logs in first, with keys, and encrypts what it sends.
    const keys = new PeerKeys();
    const secure = new SecureRaw(sender, "raw", keys);
    await loginRaw(sender, "raw", udp, keys);
    const dataDir = await Deno.makeTempDir({ prefix: "peerchat-full-" });
    // The file size limit (ulimit -f, in KiB) stands in for a full disk: past it write() fails
    // with EFBIG once SIGXFSZ is ignored. 24 KiB hold a few dozen of these messages.
    const bob = new PeerchatProcess(
      ["peer", "--name", "bob", "--coordinator", `${udp.host}:${udp.port}`, "--host", "127.0.0.1"]
        .concat(["--json", "--data", dataDir]),
      {},
      (command, env) =>
        new Deno.Command("bash", {
          args: ["-c", `trap '' XFSZ; ulimit -f 24; exec "$@"`, "bash", ...command],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
          env,
        }).spawn(),
    );
    bob.dataDir = dataDir;
    try {
      const ready = await bob.waitFor((e) => e.event === "ready", "bob to be ready");
      const [host, port] = String(ready.endpoint).split(":");
      // Bob's key, as the coordinator's roster batch tells the sender.
      const joined = await sender.next((t) => t.startsWith("roster,") && t.includes("+bob,"));
      const item = joined.text.slice("roster,".length).split(";").find((i) =>
        i.startsWith("+bob,")
      );
      const bobAt = {
        name: "bob",
        key: item!.split(",")[3],
        endpoint: { host, port: Number(port) },
      };
      const body = (seq: number) => `${seq}:${"y".repeat(300)}`;
      let acked = 0;
      for (let seq = 1; seq <= 200; seq++) {
        secure.send(`msg,raw,s1,${seq},1/1,text,12:00:00,${body(seq)}`, bobAt);
        const ack = await sender.next((t) => t.startsWith("ack,bob,s1,"), 1000).catch(() => null);
        if (!ack || Number(ack.text.split(",")[3]) < seq) break; // Not stored: not acknowledged.
        acked = seq;
      }
      assert.ok(acked > 5 && acked < 200, `${acked} messages acknowledged before the disk filled`);
      await bob.waitFor(
        (e) => e.event === "error" && /Free some disk space/.test(String(e.message)),
        "the full disk to be reported",
      );
      // Still running: a resent message is acknowledged again — up to what it stored, and the
      // message it could not store as held (SACK), so the sender keeps resending only that one.
      secure.send(`msg,raw,s1,1,1/1,text,12:00:00,${body(1)}`, bobAt);
      assert.equal(
        (await sender.next((t) => t.startsWith("ack,bob,s1,"))).text,
        `ack,bob,s1,${acked},${acked + 1}`,
      );
      // Every acknowledged message was shown, once, in order — and is in the journal on disk.
      const shown = () => bob.events.filter((e) => e.event === "message").map((e) => e.text);
      await bob.waitFor(() => shown().length >= acked, `${acked} messages shown`);
      assert.deepEqual(shown(), Array.from({ length: acked }, (_, i) => body(i + 1)));
      // (The write that failed may have left a torn last line; peerchat skips it when loading.)
      const stored = Deno.readTextFileSync(`${dataDir}/journal.jsonl`).split("\n").flatMap(
        (line) => {
          try {
            const record = JSON.parse(line);
            return record.t === "in" ? [record.body] : [];
          } catch {
            return [];
          }
        },
      );
      assert.deepEqual(stored, shown());
    } finally {
      secure.close();
      await bob.stop();
      await coordinator.stop();
      await sender.close();
    }
  },
});

Deno.test("a coordinator with a new key: the peer refuses it until --trust-coordinator", async () => {
  const first = await spawnCoordinator();
  const port = first.udp.port;
  const dataDir = await Deno.makeTempDir({ prefix: "peerchat-pinned-" });
  let second: PeerchatProcess | undefined;
  const peers: PeerchatProcess[] = [];
  try {
    const alice = await spawnPeer("alice", first.udp, ["--data", dataDir]);
    peers.push(alice.process);
    await alice.process.closeStdin();
    await alice.process.exited();
    await first.process.stop(); // Its data directory (and key) go with it.

    // Another coordinator on the same address, with another key: a reinstall — or an impostor.
    second = (await spawnCoordinator(["--port", String(port)])).process;
    const refused = new PeerchatProcess([
      "peer",
      "--name",
      "alice",
      "--coordinator",
      `127.0.0.1:${port}`,
      "--host",
      "127.0.0.1",
      "--json",
      "--data",
      dataDir,
    ]);
    peers.push(refused);
    await refused.closeStdin();
    const status = await refused.exited();
    assert.equal(status.code, 1);
    const said = refused.stderr + JSON.stringify(refused.events);
    assert.match(said, /another key than the one pinned[^]*--trust-coordinator/);

    const trusting = await spawnPeer("alice", { host: "127.0.0.1", port }, [
      "--data",
      dataDir,
      "--trust-coordinator",
    ]);
    peers.push(trusting.process);
    assert.equal(trusting.ready.name, "alice");
  } finally {
    for (const peer of peers) await peer.stop();
    await second?.stop();
    await first.process.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
