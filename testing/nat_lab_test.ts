/**
 * The NAT lab's routers behave as designed (nat_lab.ts, nat_routers.ts), shown
 * with real UDP between real namespaces: a small Deno "agent" runs in each
 * host, sends what the test tells it to, prints every datagram it receives
 * with the source it saw, and answers `ping X` with `pong X SOURCE` — the
 * source it saw, i.e. the mapping the NATs on the way made.
 *
 * Needs root, iproute2, nftables and conntrack (`bash .ci/lab-deps.sh`).
 * Without them the tests are ignored with a loud warning; under CI (CI set)
 * they fail with the reason.
 */

import assert from "node:assert/strict";
import { cleanupStaleLabs, createNatLab, type NatLab, natLabAvailable } from "./nat_lab.ts";
import { listNetns, nextSeq, PREFIX } from "./lab_netns.ts";
import { sleep, waitFor } from "./helpers.ts";
import { textLines } from "../ui/output.ts";

const availability = await natLabAvailable();
const inCI = Deno.env.get("CI") !== undefined;
if (!availability.ok && !inCI) {
  const bar = "!".repeat(78);
  console.error(`${bar}\nNAT LAB SKIPPED: ${availability.reason}\n${bar}`);
}
if (availability.ok) await cleanupStaleLabs();

function natTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `NAT lab: ${name}`,
    ignore: !availability.ok && !inCI,
    async fn() {
      if (!availability.ok) {
        throw new Error(`The NAT lab is unavailable under CI: ${availability.reason}`);
      }
      await fn();
    },
  });
}

/** How long a datagram that should not arrive is given to arrive anyway. */
const QUIET_MS = 700;

/**
 * The agent: binds UDP `ports` on `hostname` (0.0.0.0, or `::` for IPv6),
 * prints `{"ready":[…]}`, then one JSON line per datagram received (`at`: the
 * local port, `from` as `IP:PORT` or `[IPv6]:PORT`, `text`); answers `ping X`
 * with `pong X FROM` from the socket it came to. Each stdin line
 * `{"to":"IP:PORT","text":"…","via":PORT?}` sends a datagram.
 */
function agentCode(ports: number[], hostname: string): string {
  return `
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    const out = (o) => console.log(JSON.stringify(o));
    const socks = new Map();
    for (const port of ${JSON.stringify(ports)}) {
      socks.set(port, Deno.listenDatagram({ hostname: "${hostname}", port, transport: "udp" }));
    }
    out({ ready: [...socks.keys()] });
    for (const [port, conn] of socks) {
      (async () => {
        for (;;) {
          const [data, addr] = await conn.receive();
          const text = dec.decode(data);
          const host = addr.hostname.includes(":") ? "[" + addr.hostname + "]" : addr.hostname;
          const from = host + ":" + addr.port;
          out({ at: port, from, text });
          if (text.startsWith("ping ")) {
            try {
              await conn.send(enc.encode("pong " + text.slice(5) + " " + from), addr);
            } catch (e) { out({ error: String(e) }); }
          }
        }
      })();
    }
    let partial = "";
    for await (const chunk of Deno.stdin.readable) {
      partial += dec.decode(chunk, { stream: true });
      const lines = partial.split("\\n");
      partial = lines.pop();
      for (const line of lines) {
        const cmd = JSON.parse(line);
        const colon = cmd.to.lastIndexOf(":");
        const hostname = cmd.to.slice(0, colon).replace(/^\\[|\\]$/g, "");
        const port = cmd.to.slice(colon + 1);
        const conn = socks.get(cmd.via ?? ${ports[0]});
        try {
          await conn.send(enc.encode(cmd.text), { transport: "udp", hostname, port: Number(port) });
          out({ sent: cmd.text });
        } catch (e) { out({ error: String(e), text: cmd.text }); }
      }
    }
    Deno.exit(0);
  `;
}

/** What an agent printed for one datagram received. */
interface Received {
  at: number;
  from: string;
  text: string;
}

/** An agent in a lab host (see {@linkcode agentCode}). */
class Agent {
  readonly lines: Record<string, unknown>[] = [];
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #name: string;

  constructor(lab: NatLab, host: string, ports: number[], hostname: string) {
    this.#name = host;
    const child = lab.spawn(
      host,
      [Deno.execPath(), "eval", "--no-config", "--unstable-net", agentCode(ports, hostname)],
      { stdin: "piped" },
    );
    this.#writer = child.stdin.getWriter();
    (async () => {
      for await (const line of textLines(child.stdout)) this.lines.push(JSON.parse(line));
    })().catch(() => {});
  }

  /** Starts an agent and waits until its sockets are bound (on `hostname`: `::` for IPv6). */
  static async start(
    lab: NatLab,
    host: string,
    ports: number[],
    hostname = "0.0.0.0",
  ): Promise<Agent> {
    const agent = new Agent(lab, host, ports, hostname);
    await waitFor(() => agent.lines.some((l) => "ready" in l), `the agent in ${host}`, 15_000);
    return agent;
  }

  /** Sends `text` to `to` (`IP:PORT`) from local port `via` (default: the first). */
  async send(to: string, text: string, via?: number): Promise<void> {
    const sent = this.lines.length;
    await this.#writer.write(new TextEncoder().encode(`${JSON.stringify({ to, text, via })}\n`));
    await waitFor(
      () => this.lines.slice(sent).some((l) => l.sent === text || l.text === text && "error" in l),
      `${this.#name} to send "${text}"`,
    );
    const error = this.lines.slice(sent).find((l) => "error" in l && l.text === text);
    if (error) throw new Error(`${this.#name} could not send "${text}": ${error.error}`);
  }

  /** Datagrams received so far. */
  get received(): Received[] {
    return this.lines.filter((l) => "from" in l) as unknown as Received[];
  }

  /** Waits for a datagram whose text is `text`. */
  async receive(text: string, timeoutMs = 5000): Promise<Received> {
    let found: Received | undefined;
    await waitFor(
      () => (found = this.received.find((r) => r.text === text)) !== undefined,
      `${this.#name} to receive "${text}" (got ${JSON.stringify(this.received)})`,
      timeoutMs,
    );
    return found!;
  }

  /** Sends `ping ID` and returns the source the other side saw (from its `pong`). */
  async ping(to: string, id: string, via?: number): Promise<string> {
    await this.send(to, `ping ${id}`, via);
    let found: Received | undefined;
    await waitFor(
      () => (found = this.received.find((r) => r.text.startsWith(`pong ${id} `))) !== undefined,
      `${this.#name} to get the pong of "${id}" (got ${JSON.stringify(this.received)})`,
    );
    return found!.text.split(" ").at(-1)!;
  }

  /** Asserts that nothing matching `text` arrives within {@linkcode QUIET_MS}. */
  async assertNothing(text: string): Promise<void> {
    await sleep(QUIET_MS);
    const got = this.received.filter((r) => r.text.startsWith(text));
    assert.deepEqual(got, [], `${this.#name} received ${JSON.stringify(got)}`);
  }
}

const P = 40000;
const R = 7000;

function port(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
}

// ---------------------------------------------------------------------------

natTest("layout: one LAN subnet at every site, namespaces, no route out of the lab", async () => {
  await using lab = await createNatLab({
    sites: [
      { name: "a", router: "easy", hosts: ["alice", "al2"] },
      { name: "b", router: "cgn", hosts: ["bob"] },
    ],
  });
  assert.equal(lab.hosts.alice.ip, "192.168.1.10");
  assert.equal(lab.hosts.al2.ip, "192.168.1.11");
  assert.equal(lab.hosts.bob.ip, "192.168.1.10", "every site uses the same subnet");
  assert.equal(lab.hosts.bob.site, "b");
  assert.equal(lab.coordinatorIp, "203.0.113.2");
  assert.equal(lab.strangerIp, "203.0.113.3");
  assert.equal(lab.routerWan("a"), "203.0.113.11");
  assert.equal(lab.routerWan("b"), "203.0.113.12", "a cgn site's public address is its carrier's");
  assert.equal(lab.sites.b.homeWan, "100.64.0.2");
  const all = await listNetns();
  for (const h of Object.values(lab.hosts)) {
    assert.ok(h.netns.startsWith(`${PREFIX}${Deno.pid}-`), h.netns);
    assert.ok(all.includes(h.netns), `${h.netns} exists`);
  }
  const route = await lab.exec("alice", ["ip", "-4", "route"]);
  assert.match(route.stdout, /^default via 192\.168\.1\.1 dev eth0/m);
  const cgnHome = await lab.routerExec("b", ["ip", "-4", "route"]);
  assert.match(cgnHome.stdout, /^default via 100\.64\.0\.1 dev wan0/m, "via the carrier");
  for (const [site, carrier] of [["a", false], ["b", true]] as const) {
    const out = await lab.routerExec(site, ["ip", "route", "get", "198.51.100.1"], carrier);
    assert.notEqual(out.code, 0, `${site} ${carrier ? "carrier" : "router"}: no route out`);
  }
  for (const name of ["coordinator", "stranger"]) {
    const out = await lab.exec(name, ["ip", "route", "get", "198.51.100.1"]);
    assert.notEqual(out.code, 0, `${name}: no route out`);
  }
  const root = await new Deno.Command("ip", { args: ["-4", "addr"], stdout: "piped" }).output();
  const rootAddrs = new TextDecoder().decode(root.stdout);
  assert.doesNotMatch(rootAddrs, /203\.0\.113\.|100\.64\.0\./, "the root namespace is untouched");
});

natTest("close() removes every namespace; a failed build removes what it made", async () => {
  const lab = await createNatLab({ sites: [{ name: "a", router: "easy", hosts: ["alice"] }] });
  const mine = (await listNetns()).filter((n) =>
    n.startsWith(lab.hosts.alice.netns.replace(/-h-alice$/, "-"))
  );
  assert.ok(mine.length >= 5, `namespaces: ${mine}`);
  await lab.close();
  await lab.close();
  const left = await listNetns();
  assert.deepEqual(mine.filter((n) => left.includes(n)), []);
  assert.throws(() => lab.spawn("alice", ["true"]), /closed/);

  // The next lab's alice namespace already exists: its build fails half-way.
  const seq = nextSeq() + 1;
  const squatter = `${PREFIX}${Deno.pid}-${seq}-h-alice`;
  await new Deno.Command("ip", { args: ["netns", "add", squatter] }).output();
  try {
    await assert.rejects(
      createNatLab({ sites: [{ name: "a", router: "easy", hosts: ["alice"] }] }),
      /Cannot create network namespace .*-h-alice/,
    );
    const after = (await listNetns()).filter((n) => n.startsWith(`${PREFIX}${Deno.pid}-${seq}-`));
    assert.deepEqual(after, [squatter], "only the squatter is left");
  } finally {
    await new Deno.Command("ip", { args: ["netns", "delete", squatter] }).output();
  }
});

natTest("bad options give clear errors", async () => {
  const attempts: [Parameters<typeof createNatLab>[0], RegExp][] = [
    [{ sites: [] }, /at least one site/],
    [{ sites: [{ name: "A", router: "easy", hosts: ["x"] }] }, /Invalid or duplicate site name/],
    [{ sites: [{ name: "a", router: "easy", hosts: ["coordinator"] }] }, /host name/],
    [
      {
        sites: [{ name: "a", router: "easy", hosts: ["x"] }, {
          name: "b",
          router: "easy",
          hosts: ["x"],
        }],
      },
      /duplicate host name "x"/,
    ],
    // deno-lint-ignore no-explicit-any
    [{ sites: [{ name: "a", router: "fancy" as any, hosts: ["x"] }] }, /Unknown router kind/],
    [{ sites: [{ name: "a", router: "forward", hosts: ["x"] }] }, /give "forward"/],
    [
      { sites: [{ name: "a", router: "forward", hosts: ["x"], forward: { port: P, host: "y" } }] },
      /unknown host "y"/,
    ],
  ];
  for (const [options, error] of attempts) await assert.rejects(createNatLab(options), error);
});

natTest("easy keeps the source port and one mapping for two destinations", async () => {
  await using lab = await createNatLab({
    sites: [{ name: "a", router: "easy", hosts: ["alice"] }],
  });
  await Agent.start(lab, "coordinator", [R]);
  await Agent.start(lab, "stranger", [R]);
  const alice = await Agent.start(lab, "alice", [P]);
  const wan = lab.routerWan("a");
  assert.equal(await alice.ping(`${lab.coordinatorIp}:${R}`, "c"), `${wan}:${P}`);
  assert.equal(await alice.ping(`${lab.strangerIp}:${R}`, "s"), `${wan}:${P}`);
});

natTest("hard maps each destination to another port: random and fully-random", async () => {
  await using lab = await createNatLab({
    sites: [
      { name: "h", router: "hard", hosts: ["hal"] },
      { name: "f", router: "hard", hosts: ["fin"], random: "fully-random" },
    ],
  });
  await Agent.start(lab, "coordinator", [R, R + 1]);
  await Agent.start(lab, "stranger", [R]);
  for (const [site, host] of [["h", "hal"], ["f", "fin"]]) {
    const agent = await Agent.start(lab, host, [P]);
    const wan = lab.routerWan(site);
    const seen = [
      await agent.ping(`${lab.coordinatorIp}:${R}`, "c"),
      await agent.ping(`${lab.coordinatorIp}:${R + 1}`, "c2"),
      await agent.ping(`${lab.strangerIp}:${R}`, "s"),
    ];
    for (const s of seen) assert.equal(s.split(":")[0], wan);
    assert.equal(new Set(seen.map(port)).size, 3, `${site}: three destinations, ports ${seen}`);
    // The mapping holds for its destination: a second ping there shows the same port.
    assert.equal(await agent.ping(`${lab.coordinatorIp}:${R}`, "c-again"), seen[0]);
  }
});

natTest(
  "easy drops unsolicited inbound (counted) and passes replies to outbound flows",
  async () => {
    await using lab = await createNatLab({
      sites: [{ name: "a", router: "easy", hosts: ["alice"] }],
    });
    const coordinator = await Agent.start(lab, "coordinator", [R, R + 1]);
    const stranger = await Agent.start(lab, "stranger", [R]);
    const alice = await Agent.start(lab, "alice", [P]);
    const wan = `${lab.routerWan("a")}:${P}`;
    assert.equal(await alice.ping(`${lab.coordinatorIp}:${R}`, "out"), wan);
    const before = (await lab.routerDrops("a")).inbound;
    // The same flow, later: passes.
    await coordinator.send(wan, "reply on the flow", R);
    await alice.receive("reply on the flow");
    // Another port of the same host, and another host: dropped.
    await coordinator.send(wan, "other port", R + 1);
    await stranger.send(wan, "stranger");
    await alice.assertNothing("other port");
    await alice.assertNothing("stranger");
    const after = (await lab.routerDrops("a")).inbound;
    assert.equal(after - before, 2, "both unsolicited datagrams counted as dropped");
  },
);

natTest(
  "two easy sites punch a hole when both send; the internet counter shows it; setCut",
  async () => {
    await using lab = await createNatLab({
      sites: [
        { name: "a", router: "easy", hosts: ["alice"] },
        { name: "b", router: "easy", hosts: ["bob"] },
      ],
    });
    const alice = await Agent.start(lab, "alice", [P]);
    const bob = await Agent.start(lab, "bob", [P]);
    const a = `${lab.routerWan("a")}:${P}`;
    const b = `${lab.routerWan("b")}:${P}`;
    assert.equal(await lab.peerToPeerPackets("a", "b"), 0);
    // Alice first: her datagram opens her router, and B's router drops it.
    await alice.send(b, "early");
    await bob.assertNothing("early");
    assert.equal((await lab.routerDrops("b")).inbound, 1, "B dropped the early datagram");
    // Bob: his datagram passes A's router (it answers Alice's flow); now both ways work.
    assert.equal(await bob.ping(a, "from bob"), b, "Alice saw Bob's mapping keep his port");
    assert.equal(await alice.ping(b, "from alice"), a);
    assert.equal((await alice.receive("ping from bob")).from, b);
    // early, ping, pong, ping, pong.
    assert.equal(await lab.peerToPeerPackets("a", "b"), 5);
    assert.equal((await lab.internetCounter(lab.routerWan("a"), lab.routerWan("b"))).packets, 3);
    // setCut: the two sites no longer hear each other (uncounted), the coordinator still does.
    await Agent.start(lab, "coordinator", [R]);
    await lab.setCut("a", "b", true);
    await alice.send(b, "ping cut");
    await bob.assertNothing("ping cut");
    assert.equal(await lab.peerToPeerPackets("a", "b"), 5, "a cut datagram is not counted");
    assert.equal(await alice.ping(`${lab.coordinatorIp}:${R}`, "still out"), a);
    await lab.setCut("a", "b", false);
    assert.equal(await alice.ping(b, "restored"), a);
    assert.equal(await lab.peerToPeerPackets("a", "b"), 7);
  },
);

natTest("unguarded: an early datagram makes the router remap, and punching fails", async () => {
  await using lab = await createNatLab({
    sites: [
      { name: "a", router: "unguarded", hosts: ["alice"] },
      { name: "b", router: "unguarded", hosts: ["bob"] },
    ],
  });
  const alice = await Agent.start(lab, "alice", [P]);
  const bob = await Agent.start(lab, "bob", [P]);
  const a = `${lab.routerWan("a")}:${P}`;
  const b = `${lab.routerWan("b")}:${P}`;
  // Alice first, as above: B's router has no filter, so it takes her datagram
  // for itself and confirms a conntrack entry 203.0.113.11:40000 → .12:40000.
  await alice.send(b, "early");
  await bob.assertNothing("early");
  const early = await lab.conntrack("b");
  assert.ok(
    early.some((l) => /src=203\.0\.113\.11 dst=203\.0\.113\.12 sport=40000 dport=40000/.test(l)),
    `B's router keeps an entry for Alice's datagram: ${early.join("\n")}`,
  );
  // Bob answers: the router must remap his port (40000 there is taken).
  await bob.send(a, "ping from bob");
  const flows = await lab.conntrack("b");
  const bobFlow = flows.find((l) => l.includes("src=192.168.1.10 dst=203.0.113.11"));
  assert.ok(bobFlow, `Bob's flow in B's router: ${flows.join("\n")}`);
  const mapped = Number(
    / src=203\.0\.113\.11 dst=203\.0\.113\.12 sport=40000 dport=(\d+)/
      .exec(bobFlow)?.[1],
  );
  assert.ok(mapped > 0 && mapped !== P, `Bob's port was remapped: ${bobFlow}`);
  // So Alice's router sees Bob come from another port than the one she opened:
  // it is no reply to her flow, and neither side hears the other.
  await alice.assertNothing("ping from bob");
  await alice.send(b, "again");
  await bob.assertNothing("again");
});

natTest("the port forward reaches its host from anywhere", async () => {
  await using lab = await createNatLab({
    sites: [
      { name: "f", router: "forward", hosts: ["fred", "fay"], forward: { port: P } },
      { name: "a", router: "easy", hosts: ["alice"] },
    ],
  });
  const fred = await Agent.start(lab, "fred", [P]);
  const fay = await Agent.start(lab, "fay", [P]);
  const stranger = await Agent.start(lab, "stranger", [R]);
  const alice = await Agent.start(lab, "alice", [P]);
  const coordinator = await Agent.start(lab, "coordinator", [R]);
  const f = `${lab.routerWan("f")}:${P}`;
  // Fred never sent anything, yet everyone reaches him; replies go back out.
  assert.equal(await stranger.ping(f, "s"), `${lab.strangerIp}:${R}`);
  assert.equal(await coordinator.ping(f, "c"), `${lab.coordinatorIp}:${R}`);
  assert.equal(await alice.ping(f, "a"), `${lab.routerWan("a")}:${P}`);
  assert.equal(fred.received.filter((r) => r.text.startsWith("ping ")).length, 3);
  assert.deepEqual(fay.received, [], "the forward goes to one host only");
  // Other ports of the same router stay closed.
  await stranger.send(`${lab.routerWan("f")}:${P + 1}`, "ping other");
  await fay.assertNothing("ping other");
  await fred.assertNothing("ping other");
});

natTest("blocked reaches only the coordinator's UDP ports", async () => {
  await using lab = await createNatLab({
    sites: [{ name: "k", router: "blocked", hosts: ["kim"] }],
    coordinatorPorts: [8888, 8889],
  });
  const coordinator = await Agent.start(lab, "coordinator", [8888, 8889, R]);
  const stranger = await Agent.start(lab, "stranger", [8888]);
  const kim = await Agent.start(lab, "kim", [P]);
  const wan = `${lab.routerWan("k")}:${P}`;
  assert.equal(await kim.ping(`${lab.coordinatorIp}:8888`, "login"), wan);
  assert.equal(await kim.ping(`${lab.coordinatorIp}:8889`, "nat"), wan);
  await kim.send(`${lab.coordinatorIp}:${R}`, "ping other port");
  await kim.send(`${lab.strangerIp}:8888`, "ping stranger");
  await coordinator.assertNothing("ping other port");
  await stranger.assertNothing("ping stranger");
  assert.equal((await lab.routerDrops("k")).outbound, 2);
});

natTest("cgn: the coordinator sees the carrier's address, not the home router's", async () => {
  await using lab = await createNatLab({ sites: [{ name: "c", router: "cgn", hosts: ["cat"] }] });
  await Agent.start(lab, "coordinator", [R]);
  const cat = await Agent.start(lab, "cat", [P]);
  assert.equal(await cat.ping(`${lab.coordinatorIp}:${R}`, "hi"), `${lab.routerWan("c")}:${P}`);
  const entries = await lab.conntrack("c");
  const home = entries.find((l) => !l.startsWith("carrier:") && l.includes(`dport=${R}`));
  const carrier = entries.find((l) => l.startsWith("carrier:") && l.includes(`dport=${R}`));
  assert.match(home ?? "", /src=192\.168\.1\.10 .* dst=100\.64\.0\.2 /, `home: ${entries}`);
  assert.match(carrier ?? "", /src=100\.64\.0\.2 .* dst=203\.0\.113\.11 /, `carrier: ${entries}`);
});

natTest("no hairpinning: hosts at one site reach each other by LAN address only", async () => {
  await using lab = await createNatLab({
    sites: [{ name: "a", router: "easy", hosts: ["alice", "al2"] }],
  });
  await Agent.start(lab, "coordinator", [R]);
  const alice = await Agent.start(lab, "alice", [P]);
  const al2 = await Agent.start(lab, "al2", [P + 1]);
  const public2 = await al2.ping(`${lab.coordinatorIp}:${R}`, "map");
  assert.equal(public2, `${lab.routerWan("a")}:${P + 1}`);
  await alice.send(public2, "ping hairpin");
  await al2.assertNothing("ping hairpin");
  assert.equal(
    await alice.ping(`${lab.hosts.al2.ip}:${P + 1}`, "lan"),
    `${lab.hosts.alice.ip}:${P}`,
  );
  assert.equal((await lab.lanCounter("alice", "al2")).packets, 1);
  assert.equal((await lab.lanCounter("al2", "alice")).packets, 1);
});

natTest("setUdpTimeout(a, 3): the mapping expires and a late reply is dropped", async () => {
  await using lab = await createNatLab({
    sites: [{ name: "a", router: "easy", hosts: ["alice"] }],
  });
  await lab.setUdpTimeout("a", 3);
  const sysctl = await lab.routerExec("a", [
    "sysctl",
    "-n",
    "net.netfilter.nf_conntrack_udp_timeout",
  ]);
  assert.equal(sysctl.stdout.trim(), "3");
  const coordinator = await Agent.start(lab, "coordinator", [R]);
  const alice = await Agent.start(lab, "alice", [P]);
  const wan = await alice.ping(`${lab.coordinatorIp}:${R}`, "open");
  const flow = (lines: string[]) => lines.filter((l) => l.includes(`dport=${R}`));
  assert.equal(flow(await lab.conntrack("a")).length, 1, "the mapping is there");
  await coordinator.send(wan, "in time");
  await alice.receive("in time");
  // Gone a few seconds after the last datagram (polled: the kernel reaps lazily).
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    await sleep(100);
    gone = flow(await lab.conntrack("a")).length === 0;
  }
  assert.ok(gone, `the mapping expired: ${await lab.conntrack("a")}`);
  const before = (await lab.routerDrops("a")).inbound;
  await coordinator.send(wan, "too late");
  await alice.assertNothing("too late");
  assert.equal((await lab.routerDrops("a")).inbound - before, 1, "the late reply was dropped");
});

// ---------------------------------------------------------------------------
// IPv6: routed prefixes, stateful firewalls

/** An IPv6 endpoint as the agents write it. */
function at6(ip6: string | undefined, p: number): string {
  assert.ok(ip6, "the host has an IPv6 address");
  return `[${ip6}]:${p}`;
}

natTest(
  "IPv6 layout: routed prefixes, a site without IPv6, no route out, IPv4 as it was",
  async () => {
    await using lab = await createNatLab({
      ipv6: true,
      sites: [
        { name: "a", router: "easy", hosts: ["alice", "al2"] },
        { name: "b", router: "cgn", hosts: ["bob"] },
        { name: "c", router: "hard", hosts: ["cid"], ipv6: false },
      ],
    });
    assert.equal(lab.hosts.alice.ip6, "2001:db8:1::10");
    assert.equal(lab.hosts.al2.ip6, "2001:db8:1::11");
    assert.equal(lab.hosts.bob.ip6, "2001:db8:2::10");
    assert.equal(lab.hosts.cid.ip6, undefined, "a site's ipv6: false wins");
    assert.equal(lab.hosts.coordinator.ip6, "2001:db8:ffff::2");
    assert.equal(lab.hosts.stranger.ip6, "2001:db8:ffff::3");
    assert.equal(lab.sites.a.prefix6, "2001:db8:1::/64");
    assert.equal(lab.sites.a.wan6, "2001:db8:ffff::11");
    assert.equal(lab.sites.b.wan6, "2001:db8:ffff::12", "a cgn site's carrier is on the internet");
    assert.equal(lab.sites.c.prefix6, undefined);
    // IPv4 is what it was without IPv6.
    assert.equal(lab.hosts.alice.ip, "192.168.1.10");
    assert.equal(lab.routerWan("c"), "203.0.113.13");
    const addr = await lab.exec("alice", ["ip", "-6", "addr", "show", "dev", "eth0"]);
    assert.match(addr.stdout, /inet6 2001:db8:1::10\/64 scope global/);
    assert.doesNotMatch(addr.stdout, /tentative/, "no address waits for DAD: usable at once");
    const route = await lab.exec("alice", ["ip", "-6", "route"]);
    assert.match(route.stdout, /^default via 2001:db8:1::1 dev eth0/m);
    const none = await lab.exec("cid", ["ip", "-6", "addr", "show", "scope", "global"]);
    assert.equal(none.stdout.trim(), "", "no global IPv6 at a site without it");
    const forwarding = await lab.routerExec("a", ["sysctl", "-n", "net.ipv6.conf.all.forwarding"]);
    assert.equal(forwarding.stdout.trim(), "1");
    const viaCarrier = await lab.routerExec("b", ["ip", "-6", "route", "get", "2001:db8:1::10"]);
    assert.match(viaCarrier.stdout, /via 2001:db8:2:64::1 dev wan0/, "cgn: via the carrier");
    for (const [site, carrier] of [["a", false], ["b", true], ["c", false]] as const) {
      const out = await lab.routerExec(
        site,
        ["ip", "-6", "route", "get", "2001:db8:beef::1"],
        carrier,
      );
      assert.notEqual(out.code, 0, `${site} ${carrier ? "carrier" : "router"}: no IPv6 route out`);
    }
    for (const name of ["coordinator", "stranger"]) {
      const out = await lab.exec(name, ["ip", "-6", "route", "get", "2001:db8:beef::1"]);
      assert.notEqual(out.code, 0, `${name}: no IPv6 route out`);
    }
    const root = await new Deno.Command("ip", { args: ["-6", "addr"], stdout: "piped" }).output();
    assert.doesNotMatch(
      new TextDecoder().decode(root.stdout),
      /2001:db8:/,
      "the root is untouched",
    );
  },
);

natTest("IPv6: out to the stranger unchanged (no NAT66); back only on that flow", async () => {
  await using lab = await createNatLab({
    ipv6: true,
    sites: [
      { name: "a", router: "easy", hosts: ["alice"] },
      { name: "b", router: "cgn", hosts: ["bob"] },
    ],
  });
  const stranger = await Agent.start(lab, "stranger", [R, R + 1], "::");
  const alice = await Agent.start(lab, "alice", [P], "::");
  const bob = await Agent.start(lab, "bob", [P], "::");
  const strangerAt = at6(lab.hosts.stranger.ip6, R);
  const aliceAt = at6(lab.hosts.alice.ip6, P);
  assert.equal(await alice.ping(strangerAt, "a"), aliceAt, "the stranger sees alice's own address");
  assert.equal(
    await bob.ping(strangerAt, "b"),
    at6(lab.hosts.bob.ip6, P),
    "through the carrier too",
  );
  assert.equal((await alice.receive(`pong a ${aliceAt}`)).from, strangerAt);
  assert.equal(
    (await lab.internetCounter(lab.sites.a.prefix6!, lab.hosts.stranger.ip6!)).packets,
    1,
  );
  assert.equal(
    (await lab.internetCounter(lab.hosts.stranger.ip6!, lab.sites.a.prefix6!)).packets,
    1,
  );
  // From another port of the stranger: no flow from inside opened it.
  const before = await lab.routerDrops("a");
  await stranger.send(aliceAt, "other port", R + 1);
  await alice.assertNothing("other port");
  const after = await lab.routerDrops("a");
  assert.equal(after.inbound6 - before.inbound6, 1, "dropped, counted as IPv6");
  assert.equal(after.inbound, before.inbound, "the IPv4 counter is IPv4's");
  // IPv4 at the same sites still goes through the NAT.
  await Agent.start(lab, "coordinator", [R]);
  const alice4 = await Agent.start(lab, "alice", [P + 1]);
  assert.equal(
    await alice4.ping(`${lab.coordinatorIp}:${R}`, "v4"),
    `${lab.routerWan("a")}:${P + 1}`,
  );
});

natTest(
  "IPv6 between two sites: unsolicited dropped (counted), both send → it passes; counters; cut",
  async () => {
    await using lab = await createNatLab({
      ipv6: true,
      sites: [
        { name: "a", router: "hard", hosts: ["alice"] },
        { name: "b", router: "hard", hosts: ["bob"] },
      ],
    });
    const alice = await Agent.start(lab, "alice", [P], "::");
    const bob = await Agent.start(lab, "bob", [P], "::");
    const a = at6(lab.hosts.alice.ip6, P);
    const b = at6(lab.hosts.bob.ip6, P);
    assert.equal(await lab.peerToPeerPackets6("a", "b"), 0);
    // Bob first: nothing from inside site a opened a flow to him, so a's router drops it.
    await bob.send(a, "ping unsolicited");
    await alice.assertNothing("ping unsolicited");
    assert.equal((await lab.routerDrops("a")).inbound6, 1, "a's firewall dropped and counted it");
    assert.equal((await lab.routerDrops("a")).inbound, 0);
    // Bob's datagram opened b's firewall for alice's answer: now alice sends, and both ways work.
    assert.equal(await alice.ping(b, "from alice"), a, "bob sees alice's own address");
    assert.equal(await bob.ping(a, "from bob"), b);
    assert.equal((await alice.receive("ping from bob")).from, b);
    assert.equal((await lab.routerDrops("b")).inbound6, 0, "nothing dropped at b");
    const flows = await lab.conntrack("b");
    assert.ok(
      flows.some((l) => /src=2001:db8:2::10 dst=2001:db8:1::10 sport=40000 dport=40000 /.test(l)),
      `b's firewall keeps bob's IPv6 flow, untranslated: ${flows.join("\n")}`,
    );
    // unsolicited, ping, pong, ping, pong: all crossed the internet switch, IPv6 only.
    assert.equal(await lab.peerToPeerPackets6("a", "b"), 5);
    const ab = await lab.internetCounter(lab.sites.a.prefix6!, lab.sites.b.prefix6!);
    assert.equal(ab.packets, 2);
    assert.equal(await lab.peerToPeerPackets("a", "b"), 0, "no IPv4 between the sites");
    // Another port at bob's: his firewall has no flow for it.
    const bob2 = await Agent.start(lab, "bob", [P + 1], "::");
    await alice.send(at6(lab.hosts.bob.ip6, P + 1), "ping other port");
    await bob2.assertNothing("ping other port");
    assert.equal((await lab.routerDrops("b")).inbound6, 1);
    // setCut cuts IPv6 too (uncounted), and restores it.
    await lab.setCut("a", "b", true);
    await alice.send(b, "ping cut");
    await bob.assertNothing("ping cut");
    assert.equal(await lab.peerToPeerPackets6("a", "b"), 6, "only the other-port datagram more");
    await lab.setCut("a", "b", false);
    assert.equal(await alice.ping(b, "restored"), a);
    assert.equal(await lab.peerToPeerPackets6("a", "b"), 8);
  },
);

natTest(
  "IPv6 per router kind: forward opens its port, blocked drops UDP out, unguarded is open",
  async () => {
    await using lab = await createNatLab({
      ipv6: true,
      sites: [
        { name: "f", router: "forward", hosts: ["fred", "fay"], forward: { port: P } },
        { name: "k", router: "blocked", hosts: ["kim"] },
        { name: "u", router: "unguarded", hosts: ["uma"] },
      ],
    });
    const stranger = await Agent.start(lab, "stranger", [R], "::");
    const fred = await Agent.start(lab, "fred", [P, P + 1], "::");
    const kim = await Agent.start(lab, "kim", [P], "::");
    const uma = await Agent.start(lab, "uma", [P], "::");
    const strangerAt = at6(lab.hosts.stranger.ip6, R);
    // The forwarded port is open to anyone over IPv6 too; another port is not.
    assert.equal(await stranger.ping(at6(lab.hosts.fred.ip6, P), "f"), strangerAt);
    await stranger.send(at6(lab.hosts.fred.ip6, P + 1), "ping closed");
    await fred.assertNothing("ping closed");
    assert.equal((await lab.routerDrops("f")).inbound6, 1);
    // Blocked: no UDP out over IPv6 at all (the coordinator takes IPv4 only).
    await kim.send(strangerAt, "ping from kim");
    await stranger.assertNothing("ping from kim");
    assert.equal((await lab.routerDrops("k")).outbound, 1);
    // Unguarded: no firewall, for IPv6 either.
    assert.equal(await stranger.ping(at6(lab.hosts.uma.ip6, P), "u"), strangerAt);
    assert.equal((await lab.routerDrops("u")).inbound6, 0);
    assert.deepEqual(uma.received.map((r) => r.text), ["ping u"]);
  },
);
