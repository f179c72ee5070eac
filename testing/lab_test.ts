/**
 * End-to-end tests of the simulated LAN in lab.ts. They create real network
 * namespaces, so they need root, iproute2 and nftables (.ci/lab-deps.sh).
 * Without them the tests are ignored with a loud warning, except under CI
 * (CI set), where they fail with the reason.
 */

import { cleanupStaleLabs, createLab, type Lab, labAvailable } from "./lab.ts";
import { waitFor } from "./helpers.ts";

const availability = await labAvailable();
const inCI = Deno.env.get("CI") !== undefined;
if (!availability.ok && !inCI) {
  const bar = "!".repeat(78);
  console.error(`${bar}\nLAB SKIPPED: ${availability.reason}\n${bar}`);
}
if (availability.ok) {
  const stale = await cleanupStaleLabs();
  if (stale > 0) console.error(`lab_test: removed ${stale} stale pclab-* namespace(s)`);
}

function labTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `lab: ${name}`,
    ignore: !availability.ok && !inCI,
    async fn() {
      if (!availability.ok) {
        throw new Error(`The network lab is unavailable under CI: ${availability.reason}`);
      }
      await fn();
    },
  });
}

// ---------------------------------------------------------------------------
// Small helpers (no assertion library: deps.ts is the only import hub)

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`Assertion failed: ${msg}`);
}

function assertEquals<T>(actual: T, expected: T, msg: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`Assertion failed: ${msg}: expected ${e}, got ${a}`);
}

const DENO = Deno.execPath();
const PORT = 47_000;

/** A command that runs a TypeScript snippet with unstable net in a lab host. */
function denoEval(code: string): string[] {
  return [DENO, "eval", "--no-config", "--unstable-net", code];
}

/** Collects a stream's lines in the background (ends when the lab closes the stream). */
function collectLines(stream: ReadableStream<Uint8Array>): string[] {
  const lines: string[] = [];
  (async () => {
    const dec = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      partial += dec.decode(chunk, { stream: true });
      const parts = partial.split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
    }
    if (partial) lines.push(partial);
  })().catch(() => {});
  return lines;
}

/** A spawned process with its output lines collected. */
interface Proc {
  child: Deno.ChildProcess;
  out: string[];
  err: string[];
}

function spawnProc(lab: Lab, host: string, cmd: string[]): Proc {
  const child = lab.spawn(host, cmd);
  return { child, out: collectLines(child.stdout), err: collectLines(child.stderr) };
}

async function waitForLine(
  p: Proc,
  pred: (line: string) => boolean,
  what: string,
  ms = 5000,
): Promise<string> {
  let line: string | undefined;
  await waitFor(() => (line = p.out.find(pred)) !== undefined, what, ms).catch((error) => {
    throw new Error(
      `${error.message} stdout: ${JSON.stringify(p.out)}, ` +
        `stderr: ${JSON.stringify(p.err.slice(-10))}`,
    );
  });
  return line!;
}

/** UDP echo server: binds host:port, prints READY, echoes everything (ignores send errors). */
function echoServer(hostname: string, port: number): string[] {
  return denoEval(`
    const conn = Deno.listenDatagram({ hostname: ${JSON.stringify(hostname)}, port: ${port},
      transport: "udp" });
    console.log("READY");
    for (;;) {
      const [data, addr] = await conn.receive();
      try { await conn.send(data, addr); } catch (e) { console.error("echo send failed:", e); }
    }
  `);
}

/**
 * UDP client: sends `count` numbered datagrams to target:port (paced), collects
 * the echoes until all came back or `waitMs` after the last send, prints JSON.
 */
function echoClient(target: string, port: number, count: number, waitMs: number): string[] {
  return denoEval(`
    const conn = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
    const seen = new Set(); const from = new Set(); let sendErrors = 0;
    const all = (async () => {
      try {
        while (seen.size < ${count}) {
          const [data, addr] = await conn.receive();
          seen.add(new TextDecoder().decode(data)); from.add(addr.hostname);
        }
      } catch { /* socket closed */ }
    })();
    for (let i = 0; i < ${count}; i++) {
      try {
        await conn.send(new TextEncoder().encode(String(i)),
          { transport: "udp", hostname: ${JSON.stringify(target)}, port: ${port} });
      } catch { sendErrors++; }
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2));
    }
    let timer;
    await Promise.race([all, new Promise((r) => timer = setTimeout(r, ${waitMs}))]);
    clearTimeout(timer);
    conn.close();
    console.log(JSON.stringify({ received: seen.size, from: [...from], sendErrors }));
  `);
}

interface EchoResult {
  received: number;
  from: string[];
  sendErrors: number;
}

async function runEchoClient(
  lab: Lab,
  host: string,
  target: string,
  count: number,
  waitMs: number,
): Promise<EchoResult> {
  const res = await lab.exec(host, echoClient(target, PORT, count, waitMs));
  assertEquals(res.code, 0, `echo client exit code (stderr: ${res.stderr})`);
  return JSON.parse(res.stdout.trim().split("\n").at(-1)!) as EchoResult;
}

async function netnsNames(): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "list"], stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.split(" ")[0])
    .filter((n) => n !== "");
}

function pidRunning(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat); // a zombie is as good as gone
  } catch {
    return false;
  }
}

function inSubnet(ip: string, subnet: string): boolean {
  return ip.startsWith(subnet.replace(/\.0\/24$/, "."));
}

// ---------------------------------------------------------------------------

labTest("hosts get lo up, eth0 with their /24 address, and no route out of the lab", async () => {
  await using lab = await createLab({ hosts: ["a", "b"] });
  const a = lab.hosts.a;
  assertEquals(lab.hosts.b.ip.split(".")[3], "11", "second host is .11");
  assert(a.netns.startsWith(`pclab-${Deno.pid}-`), `netns name ${a.netns}`);
  assertEquals(a.broadcast, lab.subnet.replace(/0\/24$/, "255"), "broadcast address");

  const addrs = JSON.parse((await lab.exec("a", ["ip", "-j", "-4", "addr"])).stdout) as {
    ifname: string;
    flags: string[];
    addr_info: { local: string; prefixlen: number; broadcast?: string }[];
  }[];
  const lo = addrs.find((i) => i.ifname === "lo");
  const eth0 = addrs.find((i) => i.ifname === "eth0");
  assert(lo?.flags.includes("UP"), "lo is up");
  assertEquals(lo?.addr_info[0]?.local, "127.0.0.1", "lo address");
  assert(eth0?.flags.includes("UP"), "eth0 is up");
  assertEquals(
    eth0?.addr_info.map((i) => [i.local, i.prefixlen, i.broadcast]),
    [[a.ip, 24, a.broadcast]],
    "eth0 address",
  );

  const routes = (await lab.exec("a", ["ip", "-4", "route"])).stdout;
  assert(!/default/.test(routes), `no default route in a host: ${routes}`);
  const off = await lab.exec("a", ["ip", "route", "get", "192.0.2.1"]);
  assert(off.code !== 0, "addresses outside the lab are unreachable from a host");

  // Loopback works inside a host, and both 0.0.0.0 and the host IP can be bound.
  const res = await lab.exec(
    "a",
    denoEval(`
    const any = Deno.listenDatagram({ hostname: "0.0.0.0", port: ${PORT}, transport: "udp" });
    const own = Deno.listen({ hostname: ${JSON.stringify(a.ip)}, port: ${PORT} });
    const local = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    await local.send(new Uint8Array([42]), { transport: "udp", hostname: "127.0.0.1", port: ${PORT} });
    const [data, from] = await any.receive();
    console.log(data[0], from.hostname);
    any.close(); own.close(); local.close();
  `),
  );
  assertEquals(res.stdout.trim(), "42 127.0.0.1", `loopback datagram (stderr: ${res.stderr})`);
});

labTest("UDP echo: B gets the echo back from A's lab IP", async () => {
  await using lab = await createLab({ hosts: ["a", "b"] });
  // The server binds A's lab IP itself (not 0.0.0.0).
  const server = spawnProc(lab, "a", echoServer(lab.hosts.a.ip, PORT));
  await waitForLine(server, (l) => l === "READY", "the echo server");
  const res = await runEchoClient(lab, "b", lab.hosts.a.ip, 3, 2000);
  assertEquals(res, { received: 3, from: [lab.hosts.a.ip], sendErrors: 0 }, "echo result");
});

labTest(
  "broadcast to the subnet (and 255.255.255.255) reaches every other host, from Deno",
  async () => {
    await using lab = await createLab({ hosts: ["a", "b", "c"] });
    const listen = denoEval(`
    const conn = Deno.listenDatagram({ hostname: "0.0.0.0", port: ${PORT}, transport: "udp" });
    console.log("READY");
    for (;;) {
      const [data, addr] = await conn.receive();
      console.log("GOT " + new TextDecoder().decode(data) + " from " + addr.hostname);
    }
  `);
    const a = spawnProc(lab, "a", listen);
    const c = spawnProc(lab, "c", listen);
    await waitForLine(a, (l) => l === "READY", "the listener in a");
    await waitForLine(c, (l) => l === "READY", "the listener in c");

    // The sender is a plain `deno run -` with only the net permissions it needs:
    // Deno sets SO_BROADCAST on every UDP socket, so no special flag is required.
    const b = lab.hosts.b;
    const sender = lab.spawn("b", [
      DENO,
      "run",
      "--no-config",
      "--unstable-net",
      `--allow-net=0.0.0.0,${b.broadcast}:${PORT},255.255.255.255:${PORT}`,
      "-",
    ], { stdin: "piped" });
    const writer = sender.stdin.getWriter();
    await writer.write(new TextEncoder().encode(`
    const conn = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
    for (const [target, label] of [[${JSON.stringify(b.broadcast)}, "subnet"],
                                   ["255.255.255.255", "limited"]]) {
      for (let i = 0; i < 3; i++) {  // a few copies, spaced out
        await conn.send(new TextEncoder().encode(label),
          { transport: "udp", hostname: target, port: ${PORT} });
        await new Promise((r) => setTimeout(r, 30));
      }
    }
    conn.close();
    console.log("SENT");
  `));
    await writer.close();
    const out = await sender.output();
    const dec = new TextDecoder();
    assertEquals(
      dec.decode(out.stdout).trim(),
      "SENT",
      `broadcast sender (stderr: ${dec.decode(out.stderr)})`,
    );

    for (const [name, p] of [["a", a], ["c", c]] as const) {
      for (const label of ["subnet", "limited"]) {
        await waitForLine(
          p,
          (l) => l === `GOT ${label} from ${b.ip}`,
          `${label} broadcast in ${name}`,
        );
      }
    }
  },
);

labTest("setLoss(50) on A drops packets both ways; setLoss(0) restores delivery", async () => {
  await using lab = await createLab({ hosts: ["a", "b"] });
  const server = spawnProc(lab, "a", echoServer("0.0.0.0", PORT));
  await waitForLine(server, (l) => l === "READY", "the echo server");
  const target = lab.hosts.a.ip;

  // Warm up (ARP) before adding loss.
  assertEquals((await runEchoClient(lab, "b", target, 5, 2000)).received, 5, "warm-up echoes");

  await lab.setLoss(50, ["a"]);
  const lossy = await runEchoClient(lab, "b", target, 200, 500);
  // Each round trip crosses A's cable twice: expect ~25% (50 of 200).
  assert(
    lossy.received >= 5 && lossy.received <= 150,
    `with 50% loss, ${lossy.received}/200 echoes came back (expected 5..150)`,
  );
  assertEquals(lossy.sendErrors, 0, "sends on a lossy link still succeed (drop is on the wire)");
  assert(!server.err.some((l) => l.includes("echo send failed")), "echo sends never fail");

  await lab.setLoss(0);
  const clean = await runEchoClient(lab, "b", target, 200, 2000);
  assert(clean.received >= 199, `after setLoss(0), ${clean.received}/200 echoes came back`);

  // Loss only on B's side also works, and 100% means nothing gets through.
  await lab.setLoss(100, ["b"]);
  assertEquals((await runEchoClient(lab, "b", target, 10, 300)).received, 0, "100% loss on b");
  await lab.setLoss(0, ["b"]);
  assertEquals((await runEchoClient(lab, "b", target, 10, 2000)).received, 10, "loss removed");
});

labTest(
  "close() kills spawned processes and deletes every namespace, also when the body throws",
  async () => {
    let lab: Lab | undefined;
    let names: string[] = [];
    const pids: number[] = [];
    let thrown: unknown;
    try {
      lab = await createLab({ hosts: ["a", "b"] });
      try {
        names = [...Object.values(lab.hosts).map((h) => h.netns)];
        const all = await netnsNames();
        for (const n of names) assert(all.includes(n), `namespace ${n} exists while open`);
        const switchNs = names[0].replace(/-a$/, "-switch");
        assert(all.includes(switchNs), `switch namespace ${switchNs} exists while open`);
        names.push(switchNs);

        // A direct child, and a shell that leaves a grandchild behind.
        const sleeper = lab.spawn("a", ["sleep", "60"]);
        pids.push(sleeper.pid);
        const shell = spawnProc(lab, "b", ["sh", "-c", "sleep 60 & echo $!; wait"]);
        pids.push(shell.child.pid);
        pids.push(Number(await waitForLine(shell, (l) => /^\d+$/.test(l), "the grandchild pid")));
        for (const pid of pids) assert(pidRunning(pid), `pid ${pid} runs while the lab is open`);
        throw new Error("boom");
      } finally {
        await lab.close();
      }
    } catch (e) {
      thrown = e;
    }
    assert(
      thrown instanceof Error && thrown.message === "boom",
      `the body's error surfaced: ${thrown}`,
    );
    const left = await netnsNames();
    for (const n of names) assert(!left.includes(n), `namespace ${n} is gone after close()`);
    for (const pid of pids) assert(!pidRunning(pid), `pid ${pid} is gone after close()`);

    // Idempotent, and the lab refuses further use.
    await lab!.close();
    let refused = false;
    try {
      lab!.spawn("a", ["true"]);
    } catch {
      refused = true;
    }
    assert(refused, "spawn on a closed lab throws");

    // `await using` closes too.
    let disposedNs = "";
    {
      await using lab2 = await createLab({ hosts: ["x"] });
      disposedNs = lab2.hosts.x.netns;
      lab2.spawn("x", ["sleep", "60"]);
    }
    assert(!(await netnsNames()).includes(disposedNs), "await using deleted the namespace");
  },
);

labTest("the root namespace gets no address, interface or route in the lab subnet", async () => {
  const ipJson = async (args: string[]) => {
    const out = await new Deno.Command("ip", { args: ["-j", ...args], stderr: "null" }).output();
    return JSON.parse(new TextDecoder().decode(out.stdout) || "[]");
  };
  const linksBefore = (await ipJson(["link"])).length as number;
  await using lab = await createLab({ hosts: ["a", "b", "c"] });
  const addrs = (await ipJson(["-4", "addr"])) as { addr_info: { local: string }[] }[];
  const locals = addrs.flatMap((i) => i.addr_info.map((a) => a.local));
  assert(
    !locals.some((ip) => inSubnet(ip, lab.subnet)),
    `root namespace addresses ${locals.join(", ")} stay out of ${lab.subnet}`,
  );
  const routes = (await ipJson(["-4", "route"])) as { dst: string }[];
  assert(
    !routes.some((r) => inSubnet(r.dst, lab.subnet)),
    `root namespace has no route into ${lab.subnet}`,
  );
  assertEquals((await ipJson(["link"])).length, linksBefore, "root namespace link count");
});

labTest("cleanupStaleLabs deletes namespaces left by a dead process", async () => {
  // A pid above pid_max can never be alive.
  const pidMax = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max").trim());
  const stale = `pclab-${pidMax + 1}-0-ghost`;
  const add = await new Deno.Command("ip", { args: ["netns", "add", stale] }).output();
  assertEquals(add.code, 0, "creating a fake stale namespace");
  await using lab = await createLab({ hosts: ["alive"] }); // ours: pid alive, must survive
  const removed = await cleanupStaleLabs();
  assert(removed >= 1, `cleanupStaleLabs removed ${removed}`);
  const left = await netnsNames();
  assert(!left.includes(stale), "the stale namespace is gone");
  assert(left.includes(lab.hosts.alive.netns), "a live lab's namespace is kept");
});

labTest("bad options give clear errors", async () => {
  const attempts: [() => Promise<unknown>, RegExp][] = [
    [() => createLab({ hosts: [] }), /at least one host/],
    [() => createLab({ hosts: ["a", "a"] }), /Duplicate lab host names/],
    [() => createLab({ hosts: ["bad name"] }), /Invalid lab host name/],
    [() => createLab({ hosts: ["a"], subnet: "8.8.8.0/24" }), /not a private range/],
    [() => createLab({ hosts: ["a"], subnet: "10.0.0.0/16" }), /Invalid lab subnet/],
  ];
  for (const [attempt, re] of attempts) {
    let msg = "";
    try {
      await attempt();
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(re.test(msg), `expected an error matching ${re}, got "${msg}"`);
  }
  await using lab = await createLab({ hosts: ["a"], subnet: "10.232.9.0/24" });
  assertEquals(lab.hosts.a.ip, "10.232.9.10", "explicit subnet");
  let msg = "";
  try {
    lab.spawn("nope", ["true"]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/Unknown lab host "nope"/.test(msg), `unknown host error: ${msg}`);
  await lab.setLoss(0); // removing loss that was never set is fine
});
