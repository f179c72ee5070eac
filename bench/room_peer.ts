/**
 * The processes of bench/rooms.ts (issue 13). Every peer is the product's `Peer` (peer.ts) with
 * an on-disk `Journal` in a directory the parent made (and removes), the cipher `peerchat peer`
 * uses, on 127.0.0.1; each process ends when its stdin closes or at its lifetime limit.
 *
 * - `teacher`: one peer; reads commands on stdin, one JSON line answers each:
 *   `users N` (waits until N others are online and it is in `#all`: `{users}`), `post room K`
 *   (posts once to `#all`) or `post direct K` (the reference: the same text 1:1 to everyone
 *   online, one `send` each): `{text, t0, syncMs, cpuS}`, `t0` =
 *   `performance.timeOrigin + performance.now()` just before posting, `syncMs` what posting
 *   itself took, `cpuS` this process's CPU before it; `cpu` (`{cpuS, at, stallMs}`: CPU so far,
 *   stamp, the longest lateness of a 10 ms timer since the last post: how long the event loop,
 *   a screen's, was held).
 * - `students`: `--count K` peers in this one process (K = 1: a real peer process; more: several
 *   simulated in one). Prints `{ready, namesAsked, udpDropped}` once every one of them sees the
 *   teacher online and is in `#all` (those without `#all` after 15 s ask `names #all`: counted,
 *   with the kernel's UDP drops at their sockets by then); then, per message from the teacher (in `#all`, or 1:1), once all K have it,
 *   `{text, stamps}` (each peer's `performance.timeOrigin + performance.now()` at its `message`
 *   event).
 * - `rt-echo` (bob) / `rt-ping` (alice): the round trip, room against 1:1. Bob answers alice's
 *   room post with a room post and her 1:1 message with a 1:1 message. Alice warms both up, prints
 *   `{ready}`, then per `run room N` or `run direct N` does N round trips one at a time and prints
 *   `{samples, cpuS}` (milliseconds; her CPU seconds).
 *
 * @module
 */

import { Journal } from "../store/journal.ts";
import { Peer, type PeerEvent } from "../peer.ts";
import type { TraceSink } from "../net/udp.ts";
import { useFastAead } from "../crypto/aead.ts";
import { stdinLines, untilStdinCloses } from "./child.ts";
import process from "node:process";
import { udpDrops } from "./proc.ts";
import { parseFlags, pool, sleep } from "./stats.ts";

const HOST = "127.0.0.1";
/** Longest a helper process lives. */
export const MAX_LIFETIME_MS = 600_000;
/** The teacher's event-loop probe ticks this often (ms). */
const LAG_TICK_MS = 10;
/** How long students wait for the teacher and `#all` before asking `names #all`. */
const ALL_GRACE_MS = 15_000;
/** The class channel. */
export const ALL = "#all";
/** The room of the round trip. */
const RT_ROOM = "#bench";
/** The teacher's name (the coordinator's `--room-owner`). */
export const TEACHER = "teacher";

/** How the teacher reaches the class: a post to `#all`, or (the reference) one `send` each. */
export type Via = "room" | "direct";

/** A wall-clock stamp comparable between processes of this machine, in milliseconds. */
export function stamp(): number {
  return performance.timeOrigin + performance.now();
}

/** CPU seconds of this process so far, user + system, to the microsecond (getrusage). */
function preciseCpu(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

const same = (a: string | undefined, b: string) => a?.toLowerCase() === b.toLowerCase();

/** A `Peer` as `peerchat peer` runs it, with its journal in `dir`. */
async function startPeer(
  name: string,
  coordinatorPort: number,
  dir: string,
  onEvent: (event: PeerEvent) => void,
  trace?: TraceSink,
): Promise<{ peer: Peer; journal: Journal }> {
  await Deno.mkdir(dir, { recursive: true });
  const journal = Journal.open(dir);
  try {
    const peer = await Peer.start({
      name,
      coordinator: { host: HOST, port: coordinatorPort },
      host: HOST,
      journal,
      onEvent,
      trace,
      loginTimeoutMs: 30_000,
    });
    return { peer, journal };
  } catch (error) {
    journal.close();
    throw error;
  }
}

/** Waits up to `ms` for `ok()`, polling every 20 ms; false when it never held. */
async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

async function closeAll(peers: { peer: Peer; journal: Journal }[]): Promise<void> {
  await Promise.all(peers.map(async ({ peer, journal }) => {
    await peer.close().catch(() => {});
    journal.close();
  }));
}

/**
 * The teacher's post: `room` posts to `#all`; `direct` (the reference) sends the same text 1:1 to
 * everyone online, one `send` each. Answers undefined, or why not.
 */
function post(peer: Peer, via: Via, text: string): string | undefined {
  if (via === "direct") {
    for (const user of peer.users()) {
      const result = peer.send(user.name, text);
      if (!result.ok) return result.message;
    }
    return undefined;
  }
  const result = peer.rooms.post(ALL, text);
  return result.ok ? undefined : result.message;
}

async function teacher(port: number, dir: string): Promise<void> {
  const me = await startPeer(TEACHER, port, dir, () => {});
  let cleanup = () => {};
  try {
    const inAll = () => me.peer.rooms.get(ALL) !== undefined;
    console.log(JSON.stringify({ ready: true }));
    // What the screen would feel: a 10 ms timer's longest lateness since the last post.
    let last = performance.now();
    let stallMs = 0;
    const probe = setInterval(() => {
      const now = performance.now();
      stallMs = Math.max(stallMs, now - last - LAG_TICK_MS);
      last = now;
    }, LAG_TICK_MS);
    cleanup = () => clearInterval(probe);
    for await (const line of stdinLines()) {
      const [command, via, k] = line.split(" ");
      if (command === "users") {
        await until(() => me.peer.users().length >= Number(via) && inAll(), 120_000);
        console.log(JSON.stringify({ users: me.peer.users().length, all: inAll() }));
      } else if (command === "post" && (via === "room" || via === "direct")) {
        const text = `${via} announcement ${k} at ${new Date().toISOString()}`;
        stallMs = 0;
        const cpuS = preciseCpu();
        const t0 = stamp();
        const start = performance.now();
        const error = post(me.peer, via, text);
        const syncMs = performance.now() - start;
        console.log(JSON.stringify(error ? { error } : { text, t0, syncMs, cpuS }));
      } else if (command === "cpu") {
        console.log(JSON.stringify({ cpuS: preciseCpu(), at: stamp(), stallMs }));
      } else break;
    }
  } finally {
    cleanup();
    await closeAll([me]);
  }
}

async function students(
  port: number,
  dir: string,
  first: number,
  count: number,
  inflight: number,
): Promise<void> {
  const peers: { peer: Peer; journal: Journal }[] = [];
  /** Per text: which of this process's peers (by name) have it, and when. */
  const got = new Map<string, Map<string, number>>();
  const onEvent = (name: string) => (event: PeerEvent) => {
    if (event.event !== "message" || !same(event.from, TEACHER)) return;
    if (event.room !== undefined && !same(event.room, ALL)) return;
    const t = stamp();
    let seen = got.get(event.text);
    if (!seen) {
      got.set(event.text, seen = new Map());
      const text = event.text;
      // For the parent's error message when some never get it: who was missing after 10 s.
      setTimeout(() => {
        const have = got.get(text);
        if (!have) return;
        const missing = peers.filter(({ peer }) => !have.has(peer.name)).map(({ peer }) => peer);
        const without = missing.filter((peer) => peer.rooms.get(ALL) === undefined);
        console.error(
          `"${text}": ${have.size} of ${count} here after 10 s; missing ${
            missing.map((p) => p.name).join(" ")
          } (without #all: ${without.map((p) => p.name).join(" ") || "none"})`,
        );
      }, 10_000);
    }
    if (seen.has(name)) return;
    seen.set(name, t);
    if (seen.size < count) return;
    got.delete(event.text);
    console.log(JSON.stringify({ text: event.text, stamps: [...seen.values()] }));
  };
  try {
    // Few logins in flight per process: the coordinator serves at most 16 list fetches per
    // address at once, and every process of the bench shares 127.0.0.1.
    await pool(count, inflight, async (k) => {
      const name = `s${first + k}`;
      peers.push(await startPeer(name, port, `${dir}/${name}`, onEvent(name)));
    });
    const withoutTeacher = () => peers.filter(({ peer }) => peer.user(TEACHER) === undefined);
    const withoutAll = () => peers.filter(({ peer }) => peer.rooms.get(ALL) === undefined);
    const ready = () => withoutTeacher().length + withoutAll().length === 0;
    await until(ready, ALL_GRACE_MS);
    // A peer whose #all push was lost does not ask again by itself: ask `names #all` for it (what
    // `/names #all` does), and say how many needed it, and the kernel's drops at their sockets.
    const asked = withoutAll();
    const udpDropped = udpDrops(peers.map(({ peer }) => peer.endpoint.port));
    if (asked.length) {
      console.error(`names #all asked by ${asked.map((p) => p.peer.name).join(" ")}`);
    }
    await Promise.all(asked.map(({ peer }) => peer.rooms.names(ALL).catch(() => undefined)));
    if (!await until(ready, 45_000)) {
      throw new Error(
        `of ${count} students here, ${withoutTeacher().length} never saw the teacher online, ` +
          `${withoutAll().length} never had #all (${asked.length} asked names #all)`,
      );
    }
    console.log(JSON.stringify({ ready: true, namesAsked: asked.length, udpDropped }));
    await untilStdinCloses(MAX_LIFETIME_MS);
  } finally {
    await closeAll(peers);
  }
}

/** Bob's answer in the room: at once, unless his view of the room lacks alice still. */
async function answerInRoom(peer: Peer, text: string): Promise<void> {
  const rooms = peer.rooms;
  const hasAlice = () => rooms.get(RT_ROOM)?.members.some((m) => same(m.name, "alice")) ?? false;
  if (!hasAlice()) await until(hasAlice, 10_000);
  const result = rooms.post(RT_ROOM, text);
  if (!result.ok) console.error(`bob's room answer refused: ${result.message}`);
}

async function rtEcho(port: number, dir: string): Promise<void> {
  const bob: { peer?: Peer } = {};
  const onEvent = (event: PeerEvent) => {
    if (!bob.peer || event.event !== "message" || !same(event.from, "alice")) return;
    if (event.room === undefined) bob.peer.send("alice", `re ${event.text}`);
    else if (same(event.room, RT_ROOM)) void answerInRoom(bob.peer, `re ${event.text}`);
  };
  const me = await startPeer("bob", port, dir, onEvent);
  bob.peer = me.peer;
  try {
    const answer = await me.peer.rooms.join(RT_ROOM);
    if (!answer.ok) throw new Error(`join ${RT_ROOM}: ${answer.message}`);
    console.log(JSON.stringify({ ready: true }));
    await untilStdinCloses(MAX_LIFETIME_MS);
  } finally {
    await closeAll([me]);
  }
}

async function rtPing(port: number, dir: string, warmup: number): Promise<void> {
  const waiters = new Map<string, () => void>();
  const onEvent = (event: PeerEvent) => {
    if (event.event !== "message" || !same(event.from, "bob")) return;
    waiters.get(`${event.room === undefined ? "" : RT_ROOM}|${event.text}`)?.();
  };
  // Datagrams alice sends and receives, counted only during a `count` command.
  const counts = { on: false, out: 0, in: 0, bytesOut: 0 };
  const trace: TraceSink = (entry) => {
    if (!counts.on || entry.transport !== "udp") return;
    if (entry.direction === "in") counts.in++;
    else {
      counts.out++;
      counts.bytesOut += entry.bytes.length;
    }
  };
  const me = await startPeer("alice", port, dir, onEvent, trace);
  try {
    if (!await until(() => me.peer.user("bob") !== undefined, 20_000)) throw new Error("no bob");
    const rooms = me.peer.rooms;
    const answer = await rooms.join(RT_ROOM);
    if (!answer.ok) throw new Error(`join ${RT_ROOM}: ${answer.message}`);
    const both = () =>
      ["alice", "bob"].every((n) => rooms.get(RT_ROOM)?.members.some((m) => same(m.name, n)));
    if (!await until(both, 20_000)) throw new Error(`bob never showed up in ${RT_ROOM}`);
    let i = 0;
    const roundTrip = async (room: boolean): Promise<number> => {
      const text = `ping ${String(i++).padStart(6, "0")}`;
      const key = `${room ? RT_ROOM : ""}|re ${text}`;
      const answered = new Promise<void>((resolve) => waiters.set(key, resolve));
      const t = performance.now();
      const result = room ? rooms.post(RT_ROOM, text) : me.peer.send("bob", text);
      if (!result.ok) throw new Error(result.message);
      await answered;
      const ms = performance.now() - t;
      waiters.delete(key);
      return ms;
    };
    // No timer per message (the harness stays out of the figure): a lost answer ends the
    // process at its lifetime limit, and the parent reports the run as failed.
    for (let k = 0; k < warmup; k++) {
      await roundTrip(false);
      if (rooms) await roundTrip(true);
    }
    console.log(JSON.stringify({ ready: true }));
    for await (const line of stdinLines()) {
      const match = /^(run|count) (room|direct) (\d+)$/.exec(line);
      if (!match) break;
      if (match[1] === "count") {
        Object.assign(counts, { on: true, out: 0, in: 0, bytesOut: 0 });
        for (let k = 0; k < Number(match[3]); k++) await roundTrip(match[2] === "room");
        await sleep(200); // the last acks
        counts.on = false;
        console.log(JSON.stringify({ out: counts.out, in: counts.in, bytesOut: counts.bytesOut }));
        continue;
      }
      const cpu0 = preciseCpu();
      const samples: number[] = [];
      for (let k = 0; k < Number(match[3]); k++) samples.push(await roundTrip(match[2] === "room"));
      console.log(JSON.stringify({ samples, cpuS: preciseCpu() - cpu0 }));
    }
  } finally {
    await closeAll([me]);
  }
}

if (import.meta.main) {
  const [role] = Deno.args;
  const flags = parseFlags(Deno.args);
  const port = Number(flags.coordinator ?? 0);
  const dir = String(flags.data ?? "");
  if (!dir) throw new Error("--data DIR is required");
  const lifetime = setTimeout(() => Deno.exit(3), MAX_LIFETIME_MS + 10_000);
  // The cipher `peerchat peer` uses once it runs (cli/run_peer.ts loads it after start-up).
  await useFastAead();
  switch (role) {
    case "teacher":
      await teacher(port, dir);
      break;
    case "students":
      await students(
        port,
        dir,
        Number(flags.first ?? 1),
        Number(flags.count ?? 1),
        Math.max(1, Number(flags.inflight ?? 2)),
      );
      break;
    case "rt-echo":
      await rtEcho(port, dir);
      break;
    case "rt-ping":
      await rtPing(port, dir, Number(flags.warmup ?? 100));
      break;
    default:
      throw new Error(`unknown role ${role}`);
  }
  clearTimeout(lifetime);
}
