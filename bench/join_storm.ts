/**
 * Join storm: N simulated peers in this one process — each with its own UDP
 * socket on 127.0.0.1, fetching the online list over TCP — log in to a
 * coordinator run as a separate process, at most 10 logins in flight. We
 * time how long until every peer knows all N names; then half log out, and
 * we time how long until every remaining peer has seen every logout.
 *
 * Two kinds of simulated peer:
 *
 * - `seed`: the seed protocol only. `login,NAME,127.0.0.1:PORT` → `Accept,PORT`
 *   → TCP list (connect and read) → `login`/`logout` notices. A login is
 *   resent if no `Accept` comes (250 ms, then every 500 ms); a logout counts
 *   as done when a designated remaining peer (p0) sees its notice, and is
 *   resent after 1 s otherwise (a seed client would not resend; the count
 *   of resends is reported).
 * - `peerchat`: peerchat's protocol, as peer.ts speaks it. `login,…,peerchat/2`
 *   → `challenge,NAME,NONCE,COORDKEY` → the login again with its proof (each
 *   simulated peer has its own identity, made before the clock starts, and
 *   signs its challenge and derives its link keys as peer.ts does) → sealed
 *   `auth,SEQ,TAG,Accept,PORT,TICKET,SESSION` → TCP `TICKET\n` → extended list →
 *   sealed batches `auth,SEQ,TAG,roster,+NAME,IP:PORT,FLAVOUR,KEY;-NAME,IP:PORT,REASON;…`.
 *   What the coordinator seals is not checked (counting needs only the message
 *   inside); what a simulated peer sends after its proof (`ping`, `logout`) is
 *   sealed, or the coordinator would drop it. Against an older coordinator (a
 *   baseline without challenges: a plain `Accept`) the same generator speaks
 *   plain peerchat/1-style datagrams, flavour `peerchat/2`, so one generator
 *   measures both sides. With keep-alives (the default) every peer sends
 *   `ping,NAME,SESSION,DIGEST` every second once logged in, and does what
 *   peer.ts does with the answer: after one `stale` it asks again in 250 ms,
 *   after two in a row it fetches the extended list again with the ticket;
 *   `unknown` makes it log in again. The digest is kept up to date by XOR
 *   (peer.ts recomputes it over the whole roster for every ping; that cost
 *   is the peer's own and is not simulated). Logout is
 *   `logout,NAME,IP:PORT,SESSION`, resent every 300 ms until `bye`, for at
 *   most 3 s. Without keep-alives (`--no-keepalive`) the coordinator runs
 *   with `--peer-timeout 3600` so that nobody times out.
 *
 * Every simulated peer holds its roster as a row of an N×N bit matrix, so
 * counting who knows whom is exact and cheap. At most 16 list fetches run
 * at once, the coordinator's per-IP limit: on a real LAN every peer has its
 * own address, here all share 127.0.0.1.
 *
 * Run alone: `deno run -A bench/join_storm.ts --n 1000 --flavor seed` prints
 * one JSON result.
 *
 * @module
 */

import {
  type ChallengeMessage,
  loginProofText,
  parseMessage,
  PEERCHAT_FLAVOR,
  userHash,
} from "../protocol.ts";
import { deriveLinkKeys, signLogin } from "../crypto/coordinator_auth.ts";
import { generateIdentity, type Identity, publicIdentity } from "../crypto/identity.ts";
import { LinkAuth } from "../core/link_auth.ts";
import { ed25519Sign, x25519 } from "../crypto/primitives.ts";
import { CoordinatorProcess } from "./coordinator_process.ts";
import { loadAverage, selfCpu, udpDrops } from "./proc.ts";
import { parseFlags, pool, Signal, sleep } from "./stats.ts";

/** Options for {@linkcode runJoinStorm}. */
export interface StormOptions {
  n: number;
  flavor: "seed" | "peerchat";
  /** peerchat only: send keep-alives as peer.ts does. Default true. */
  keepalive?: boolean;
  /** Give up on a phase after this long. Default 120 s. */
  phaseTimeoutMs?: number;
  /** Logins (and logouts) in flight at once. Default 10. */
  inFlight?: number;
  /** Wait this long after the joins converged before reading the coordinator's RSS. Default 2 s. */
  settleMs?: number;
  /** Wait this long after the coordinator started before reading its idle RSS. Default 1 s. */
  idleMs?: number;
  /** Run the coordinator with `--cpu-prof` into this directory. */
  cpuProfDir?: string;
  /** Run the coordinator of this checkout instead of this one's (before/after comparisons). */
  coordinatorRoot?: string;
  /** Extra V8 flags for the coordinator (experiments, e.g. `--max-semi-space-size=2`). */
  coordinatorV8Flags?: string[];
  /** Progress lines (to stderr). */
  log?: (line: string) => void;
}

/** Counters of what happened during a storm. */
export interface StormCounters {
  /** Roster changes received: seed notices, or items of `roster` datagrams. */
  noticesIn: number;
  /** `roster` datagrams received (peerchat peers, batched changes). */
  rosterDatagrams: number;
  loginResends: number;
  listFailures: number;
  refetches: number;
  refetchFailures: number;
  pongsOk: number;
  pongsStale: number;
  pongsUnknown: number;
  relogins: number;
  timeoutNotices: number;
  logoutResends: number;
  rejects: number;
  unexpected: number;
  coordinatorUdpDrops: number;
  generatorUdpDrops: number;
  coordinatorJoinLines: number;
  coordinatorLeaveLines: number;
}

/** One storm's figures. Seconds; `null` when the phase did not converge in time. */
export interface StormResult {
  n: number;
  flavor: "seed" | "peerchat";
  keepalive: boolean;
  phaseTimeoutS: number;
  joinS: number | null;
  /** When the last login (Accept and list) completed, seconds from the first login. */
  lastLoginS: number | null;
  /** Names missing from rosters when the join phase ended (0 when it converged). */
  joinMissing: number;
  leaveS: number | null;
  leaveMissing: number;
  /** The leave phase was not run because the joins did not converge. */
  leaveSkipped: boolean;
  coordinator: {
    cpuJoinS: number;
    cpuLeaveS: number;
    peakRssKiB: number;
    idleRssKiB: number;
    onlineRssKiB: number;
    /** (onlineRssKiB − idleRssKiB) / N, in bytes: the issue's figure. */
    bytesPerPeer: number;
    /** VmRSS right after a forced full GC with N online. */
    rssAfterGcKiB: number;
    /** V8 heap in use after a forced full GC, idle and with N online; and the difference / N. */
    idleHeapBytes: number;
    onlineHeapBytes: number;
    /** RssAnon (resident memory not mapped from files: no runtime code pages), idle and online. */
    idleAnonKiB: number;
    onlineAnonKiB: number;
    anonBytesPerPeer: number;
    /** V8's committed heap (used or not) after a full GC, idle and with N online. */
    idleHeapTotalBytes: number;
    onlineHeapTotalBytes: number;
    /** Per V8 space after a full GC with N online: [committed, used] bytes. */
    onlineHeapSpaces?: Record<string, [number, number]>;
    /** Memory outside the V8 heap that V8 knows of (array buffers), idle and with N online. */
    idleExternalBytes: number;
    onlineExternalBytes: number;
    heapBytesPerPeer: number;
  };
  generator: { cpuJoinS: number; cpuLeaveS: number };
  counters: StormCounters;
  /** 1-minute load average when the storm started. */
  load: number;
}

const HOST = "127.0.0.1";
const MAX_LIST_FETCHES = 16;
const LIST_FETCH_TIMEOUT_MS = 4000;
const LOGIN_RETRY_MS = [250, 500];
const SEED_LOGOUT_RESEND_MS = 1000;
const LOGOUT_RETRY_MS = 300;
const LOGOUT_TIMEOUT_MS = 3000;
const KEEPALIVE_MS = 1000;
const STALE_RECHECK_MS = 250;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const C = {
  l: 108,
  o: 111,
  g: 103,
  i: 105,
  n: 110,
  u: 117,
  t: 116,
  p: 112,
  comma: 44,
  semicolon: 59,
  plus: 43,
  minus: 45,
  r: 114,
  A: 65,
  R: 82,
  b: 98,
  a: 97,
  c: 99,
  zero: 48,
  nine: 57,
};

/** A tiny FIFO semaphore. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(count: number) {
    this.#free = count;
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

interface AcceptInfo {
  port: number;
  ticket?: string;
  session?: string;
}

/** A simulated peer's keys: its identity, its public keys as text, and its link once proven. */
interface SimKeys {
  identity: Identity;
  signKey: string;
  dhKey: string;
  /** The link of the current login, from its challenge (none against an older coordinator). */
  link?: LinkAuth;
  /** The login datagram to (re)send: the plain login, then the one that proves the keys. */
  login?: string;
}

/** One simulated peer. */
interface SimPeer {
  i: number;
  name: string;
  conn: Deno.DatagramConn;
  port: number;
  endpoint: string;
  session?: string;
  online: boolean;
  closed: boolean;
  /** Notices (+(j+1) login, -(j+1) logout) that arrived while a list was being fetched. */
  buffered: number[] | null;
  answer?: (message: { accept?: AcceptInfo; reject?: string }) => void;
  bye?: () => void;
  stale: number;
  recheck?: ReturnType<typeof setTimeout>;
  refreshing: boolean;
  relogging: boolean;
  keepalive?: ReturnType<typeof setInterval>;
  loop?: Promise<void>;
  keys: SimKeys;
}

/** Runs one storm against a fresh coordinator process and returns its figures. */
export async function runJoinStorm(options: StormOptions): Promise<StormResult> {
  const n = options.n;
  const flavor = options.flavor;
  const peerchat = flavor === "peerchat";
  const keepalive = peerchat && (options.keepalive ?? true);
  const phaseTimeoutMs = options.phaseTimeoutMs ?? 120_000;
  const inFlight = options.inFlight ?? 10;
  const log = options.log ?? (() => {});
  const load = loadAverage();

  const coordinator = await CoordinatorProcess.start({
    args: peerchat && !keepalive ? ["--peer-timeout", "3600"] : [],
    cpuProfDir: options.cpuProfDir,
    root: options.coordinatorRoot,
    v8Flags: options.coordinatorV8Flags,
  });
  const coordinatorAddr: Deno.NetAddr = {
    transport: "udp",
    hostname: HOST,
    port: coordinator.udpPort,
  };
  const counters: StormCounters = {
    noticesIn: 0,
    rosterDatagrams: 0,
    loginResends: 0,
    listFailures: 0,
    refetches: 0,
    refetchFailures: 0,
    pongsOk: 0,
    pongsStale: 0,
    pongsUnknown: 0,
    relogins: 0,
    timeoutNotices: 0,
    logoutResends: 0,
    rejects: 0,
    unexpected: 0,
    coordinatorUdpDrops: 0,
    generatorUdpDrops: 0,
    coordinatorJoinLines: 0,
    coordinatorLeaveLines: 0,
  };
  const peers: SimPeer[] = [];
  try {
    await sleep(options.idleMs ?? 1000);
    const idleRssKiB = coordinator.rssKiB();
    const idleAnonKiB = coordinator.anonRssKiB();
    const idleHeap = await coordinator.heapAfterGc();

    // --- Rosters: an N×N bit matrix, counts, digests, convergence -------------
    const known = new Uint8Array(n * n);
    const counts = new Int32Array(n);
    const digests = new Uint32Array(n);
    const participant = new Uint8Array(n).fill(1);
    let target = n;
    let complete = 0;
    let converged = new Signal();
    /** Waiters for "p0 saw j leave" (pacing seed logouts). */
    const leaveSeen = new Map<number, () => void>();

    // Every simulated peer: its own socket and identity, made before the clock starts.
    for (let i = 0; i < n; i++) {
      const conn = Deno.listenDatagram({ transport: "udp", hostname: HOST, port: 0 });
      const port = (conn.addr as Deno.NetAddr).port;
      const identity = generateIdentity();
      const { sign, dh } = publicIdentity(identity);
      // A peer has its identity loaded long before it logs in: its keys' first use (parsing
      // them into key objects) is not part of the storm.
      ed25519Sign(identity.sign.privateKey, new Uint8Array(0));
      x25519(identity.dh.privateKey, identity.dh.publicKey);
      peers.push({
        keys: { identity, signKey: sign, dhKey: dh },
        i,
        name: `p${i}`,
        conn,
        port,
        endpoint: `${HOST}:${port}`,
        online: false,
        closed: false,
        buffered: null,
        stale: 0,
        refreshing: false,
        relogging: false,
      });
    }
    // A coordinator that challenges logins (peerchat/2) lists each peer with its key, and the
    // roster digest covers it; an older one does not. Which one this is, the first challenge
    // says — before any roster change arrives.
    const plainHashes = new Uint32Array(n);
    const keyedHashes = new Uint32Array(n);
    for (const p of peers) {
      const endpoint = { host: HOST, port: p.port };
      plainHashes[p.i] = userHash(p.name, endpoint);
      keyedHashes[p.i] = userHash(p.name, endpoint, p.keys.dhKey);
    }
    let hashes = plainHashes;

    const setCount = (p: number, count: number) => {
      if (participant[p]) {
        const was = counts[p] === target;
        const is = count === target;
        if (was && !is) complete--;
        if (!was && is) {
          complete++;
          if (complete === target) converged.resolve();
        }
      }
      counts[p] = count;
    };
    const add = (p: number, j: number) => {
      const at = p * n + j;
      if (known[at]) return;
      known[at] = 1;
      digests[p] ^= hashes[j];
      setCount(p, counts[p] + 1);
    };
    const remove = (p: number, j: number) => {
      const at = p * n + j;
      if (!known[at]) return;
      known[at] = 0;
      digests[p] ^= hashes[j];
      setCount(p, counts[p] - 1);
      if (p === 0) leaveSeen.get(j)?.();
    };
    /** Replaces a roster with a fetched list, then replays notices that raced it. */
    const replace = (peer: SimPeer, list: Int32Array) => {
      const p = peer.i;
      const row = known.subarray(p * n, (p + 1) * n);
      const gone: number[] = [];
      const inList = new Uint8Array(n);
      for (const j of list) inList[j] = 1;
      for (let j = 0; j < n; j++) if (row[j] && !inList[j]) gone.push(j);
      for (const j of gone) remove(p, j);
      for (const j of list) add(p, j);
      const buffered = peer.buffered ?? [];
      peer.buffered = null;
      for (const op of buffered) op > 0 ? add(p, op - 1) : remove(p, -op - 1);
    };

    // --- Datagrams ---------------------------------------------------------------
    const send = (peer: SimPeer, text: string) => {
      if (peer.closed) return;
      peer.conn.send(encoder.encode(text), coordinatorAddr).catch(() => {});
    };
    /** Sends what a peer says after its login: sealed with its link, as peer.ts does. */
    const sendSealed = (peer: SimPeer, text: string) => {
      if (peer.closed) return;
      const link = peer.keys.link;
      const bytes = encoder.encode(text);
      peer.conn.send(link ? link.seal(bytes) : bytes, coordinatorAddr).catch(() => {});
    };
    /** Answers a challenge with the login that proves the peer's keys (resent on retries). */
    const onChallenge = (peer: SimPeer, b: Uint8Array) => {
      const parsed = parseMessage(decoder.decode(b));
      if (!parsed.ok || parsed.value.type !== "challenge") return void counters.unexpected++;
      hashes = keyedHashes;
      const challenge: ChallengeMessage = parsed.value;
      const keys = peer.keys;
      const derived = deriveLinkKeys(
        keys.identity.dh.privateKey,
        challenge.key,
        challenge.nonce,
        peer.name,
      );
      if (!derived) return void counters.unexpected++;
      keys.link = new LinkAuth({ send: derived.toCoordinator, receive: derived.toPeer });
      const endpoint = { host: HOST, port: peer.port };
      const fields = {
        name: peer.name,
        endpoint,
        signKey: keys.signKey,
        dhKey: keys.dhKey,
        nonce: challenge.nonce,
      };
      const signature = signLogin(
        keys.identity.sign.privateKey,
        loginProofText(fields, challenge.key),
      );
      keys.login = `login,${peer.name},${peer.endpoint},${PEERCHAT_FLAVOR},-,${keys.signKey},` +
        `${keys.dhKey},${challenge.nonce},${signature}`;
      send(peer, keys.login);
    };

    /** Parses `login,pJ,…` / `logout,pJ,…` in place; applies or buffers it. */
    const onNotice = (peer: SimPeer, b: Uint8Array) => {
      const logout = b[3] === C.o; // "logo…" vs "logi…"
      let k = logout ? 7 : 6;
      if (b[k] !== C.p) return void counters.unexpected++;
      k++;
      let j = 0;
      let digits = 0;
      while (k < b.length && b[k] >= C.zero && b[k] <= C.nine) {
        j = j * 10 + b[k++] - C.zero;
        digits++;
      }
      if (digits === 0 || b[k] !== C.comma || j >= n) return void counters.unexpected++;
      // Endpoint, then an optional fourth field: the flavour (login) or reason (logout).
      let extra = -1;
      for (let m = k + 1; m < b.length; m++) {
        if (b[m] === C.comma) {
          extra = m + 1;
          break;
        }
      }
      if (peerchat) {
        if (extra < 0) return void counters.unexpected++;
        if (logout && b[extra] === C.t) counters.timeoutNotices++; // "timeout"
      } else if (extra >= 0) return void counters.unexpected++;
      counters.noticesIn++;
      if (j === peer.i) return;
      if (peer.buffered) peer.buffered.push(logout ? -(j + 1) : j + 1);
      else if (logout) remove(peer.i, j);
      else add(peer.i, j);
    };

    /**
     * Parses `roster,ITEM;ITEM;…` in place — items `+pJ,IP:PORT,FLAVOUR` and
     * `-pJ,IP:PORT,REASON` — and applies (or buffers) each, in order.
     */
    const onRoster = (peer: SimPeer, b: Uint8Array) => {
      counters.rosterDatagrams++;
      let k = 7; // after "roster,"
      while (k < b.length) {
        const sign = b[k];
        if ((sign !== C.plus && sign !== C.minus) || b[k + 1] !== C.p) {
          return void counters.unexpected++;
        }
        k += 2;
        let j = 0;
        let digits = 0;
        while (k < b.length && b[k] >= C.zero && b[k] <= C.nine) {
          j = j * 10 + b[k++] - C.zero;
          digits++;
        }
        if (digits === 0 || b[k] !== C.comma || j >= n) return void counters.unexpected++;
        // Skip the endpoint; look at the third field (and a join's key); on to the next item.
        let commas = 0;
        while (k < b.length && b[k] !== C.semicolon) {
          if (b[k] === C.comma && ++commas === 2 && sign === C.minus && b[k + 1] === C.t) {
            counters.timeoutNotices++;
          }
          k++;
        }
        if (commas !== 2 && !(commas === 3 && sign === C.plus)) return void counters.unexpected++;
        k++; // past ";"
        counters.noticesIn++;
        if (j === peer.i) continue;
        const leave = sign === C.minus;
        if (peer.buffered) peer.buffered.push(leave ? -(j + 1) : j + 1);
        else if (leave) remove(peer.i, j);
        else add(peer.i, j);
      }
    };

    const onDatagram = (peer: SimPeer, b: Uint8Array) => {
      if (b[0] === C.a) {
        // auth,SEQ,TAG,MESSAGE: what is inside counts (the tag is not checked here).
        let commas = 0;
        let k = 0;
        while (k < b.length && commas < 3) if (b[k++] === C.comma) commas++;
        if (commas < 3) return void counters.unexpected++;
        b = b.subarray(k);
      } else if (b[0] === C.c) return onChallenge(peer, b);
      const first = b[0];
      if (first === C.l && b[1] === C.o && b[2] === C.g) return onNotice(peer, b);
      if (first === C.r && b[1] === C.o) return onRoster(peer, b);
      if (first === C.p) return onPong(peer, decoder.decode(b));
      if (first === C.A) {
        const f = decoder.decode(b).split(",");
        return peer.answer?.({ accept: { port: Number(f[1]), ticket: f[2], session: f[3] } });
      }
      if (first === C.R) {
        counters.rejects++;
        return peer.answer?.({ reject: decoder.decode(b) });
      }
      if (first === C.b) return peer.bye?.();
      counters.unexpected++;
    };

    const receiveLoop = async (peer: SimPeer) => {
      const buffer = new Uint8Array(2048);
      while (!peer.closed) {
        let bytes: Uint8Array;
        try {
          [bytes] = await peer.conn.receive(buffer);
        } catch {
          if (peer.closed) return;
          continue;
        }
        onDatagram(peer, bytes);
      }
    };
    for (const peer of peers) peer.loop = receiveLoop(peer);

    // --- TCP list --------------------------------------------------------------------
    const fetches = new Semaphore(MAX_LIST_FETCHES);
    /** Fetches the (extended, with a ticket) list; the indices of its names, or null. */
    const fetchList = async (port: number, ticket?: string): Promise<Int32Array | null> => {
      await fetches.acquire();
      let conn: Deno.TcpConn | undefined;
      const timer = setTimeout(() => {
        try {
          conn?.close();
        } catch { /* closed */ }
      }, LIST_FETCH_TIMEOUT_MS);
      try {
        conn = await Deno.connect({ hostname: HOST, port });
        if (ticket) await conn.write(encoder.encode(`${ticket}\n`));
        const chunks: string[] = [];
        const buffer = new Uint8Array(64 * 1024);
        const textDecoder = new TextDecoder();
        for (;;) {
          const got = await conn.read(buffer);
          if (got === null) break;
          chunks.push(textDecoder.decode(buffer.subarray(0, got), { stream: true }));
        }
        const items = (chunks.join("") + textDecoder.decode()).split(";");
        if (items.pop() !== "end") return null;
        const list = new Int32Array(items.length);
        for (let k = 0; k < items.length; k++) {
          const item = items[k];
          const comma = item.indexOf(",");
          // With a ticket every entry must carry a flavour (a third field).
          if (ticket && item.indexOf(",", comma + 1) < 0) return null;
          const j = Number(item.slice(1, comma));
          if (!(j >= 0 && j < n)) return null;
          list[k] = j;
        }
        return list;
      } catch {
        return null;
      } finally {
        clearTimeout(timer);
        try {
          conn?.close();
        } catch { /* closed */ }
        fetches.release();
      }
    };

    // --- Login -----------------------------------------------------------------------
    let deadline = 0;
    const loginText = (peer: SimPeer) =>
      peerchat
        ? peer.keys.login ?? `login,${peer.name},${peer.endpoint},${PEERCHAT_FLAVOR}`
        : `login,${peer.name},${peer.endpoint}`;

    /** Sends login until Accept (or Reject, or the deadline). */
    const askLogin = (peer: SimPeer): Promise<AcceptInfo | undefined> =>
      new Promise((resolve) => {
        let attempt = 0;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (value: AcceptInfo | undefined) => {
          clearTimeout(timer);
          peer.answer = undefined;
          resolve(value);
        };
        peer.answer = (message) => finish(message.accept);
        const tryOnce = () => {
          if (peer.closed || performance.now() >= deadline) return finish(undefined);
          if (attempt > 0) counters.loginResends++;
          send(peer, loginText(peer));
          timer = setTimeout(tryOnce, LOGIN_RETRY_MS[Math.min(attempt++, 1)]);
        };
        tryOnce();
      });

    /** Logs one peer in: Accept, then the list (logging in again if the fetch fails). */
    const login = async (peer: SimPeer): Promise<boolean> => {
      while (!peer.closed && performance.now() < deadline) {
        peer.buffered = [];
        peer.keys.login = undefined; // a new login: a new challenge, a new link
        peer.keys.link = undefined;
        const accept = await askLogin(peer);
        if (!accept) break;
        peer.session = accept.session;
        const list = await fetchList(accept.port, accept.ticket);
        if (!list) {
          counters.listFailures++;
          continue;
        }
        replace(peer, list);
        peer.online = true;
        peer.stale = 0;
        if (keepalive && !peer.keepalive) {
          peer.keepalive = setInterval(() => ping(peer), KEEPALIVE_MS);
        }
        return true;
      }
      peer.buffered = null;
      return false;
    };

    // --- Keep-alive (peerchat) ---------------------------------------------------------
    const ping = (peer: SimPeer) => {
      if (!peer.session || peer.closed || peer.relogging) return;
      const digest = digests[peer.i].toString(16).padStart(8, "0");
      sendSealed(peer, `ping,${peer.name},${peer.session},${digest}`);
    };
    const refetch = async (peer: SimPeer, ticket: string) => {
      peer.refreshing = true;
      counters.refetches++;
      peer.buffered ??= [];
      const list = await fetchList(coordinator.tcpPort, ticket);
      if (list && !peer.closed) replace(peer, list);
      else {
        counters.refetchFailures++;
        peer.buffered = null;
      }
      peer.refreshing = false;
    };
    const relogin = async (peer: SimPeer) => {
      if (peer.relogging || peer.closed) return;
      peer.relogging = true;
      counters.relogins++;
      peer.session = undefined;
      await login(peer);
      peer.relogging = false;
    };
    const onPong = (peer: SimPeer, text: string) => {
      const f = text.split(",");
      if (f[2] === "ok") {
        counters.pongsOk++;
        peer.stale = 0;
      } else if (f[2] === "stale") {
        counters.pongsStale++;
        if (++peer.stale >= 2 && f[3] && !peer.refreshing) {
          peer.stale = 0;
          refetch(peer, f[3]);
        } else if (peer.stale === 1 && !peer.recheck) {
          peer.recheck = setTimeout(() => {
            peer.recheck = undefined;
            ping(peer);
          }, STALE_RECHECK_MS);
        }
      } else {
        counters.pongsUnknown++;
        relogin(peer);
      }
    };

    // --- Phase 1: joins ----------------------------------------------------------------
    log(`storm ${flavor}${keepalive ? "" : " (no keep-alive)"} N=${n}: joining`);
    const cpu0 = coordinator.cpu();
    const gen0 = selfCpu();
    const t0 = performance.now();
    deadline = t0 + phaseTimeoutMs;
    let lastLogin = NaN;
    const logins = pool(n, inFlight, async (i) => {
      if (await login(peers[i])) lastLogin = performance.now();
    }, () => performance.now() >= deadline);
    const joined = await converged.wait(phaseTimeoutMs);
    const t1 = performance.now();
    const cpu1 = coordinator.cpu();
    const gen1 = selfCpu();
    await logins;
    let joinMissing = 0;
    for (let p = 0; p < n; p++) joinMissing += n - counts[p];
    const portsOf = (list: SimPeer[]) => list.filter((p) => !p.closed).map((p) => p.port);
    counters.generatorUdpDrops = udpDrops(portsOf(peers));
    // /proc counts drops per socket since it opened: the leave phase adds only what the staying
    // half's sockets drop from now on.
    const stayingDropsAtJoin = udpDrops(portsOf(peers.filter((p) => p.i % 2 === 0)));
    counters.coordinatorUdpDrops = udpDrops([coordinator.udpPort]);
    log(
      `  joined: ${joined ? `${((t1 - t0) / 1000).toFixed(2)} s` : "did not converge"}, ` +
        `coordinator CPU ${(cpu1 - cpu0).toFixed(2)} s, generator CPU ${
          (gen1 - gen0).toFixed(2)
        } s`,
    );
    await sleep(options.settleMs ?? 2000);
    const onlineRssKiB = coordinator.rssKiB();
    const onlineAnonKiB = coordinator.anonRssKiB();
    // A diagnostic beside the RSS figure: the V8 heap after a forced full GC.
    const onlineHeap = joined ? await coordinator.heapAfterGc() : undefined;
    const rssAfterGcKiB = onlineHeap ? coordinator.rssKiB() : NaN;

    // --- Phase 2: half log out -----------------------------------------------------------
    let leaveS: number | null = null;
    let leaveMissing = 0;
    let cpuLeaveS = NaN;
    let genLeaveS = NaN;
    const leaving = peers.filter((p) => p.i % 2 === 1);
    const staying = peers.filter((p) => p.i % 2 === 0);
    if (joined) {
      target = staying.length;
      complete = 0;
      converged = new Signal();
      for (const p of leaving) participant[p.i] = 0;
      for (const p of staying) if (counts[p.i] === target) complete++;
      log(`  ${leaving.length} logging out`);
      const cpu2 = coordinator.cpu();
      const gen2 = selfCpu();
      const t2 = performance.now();
      deadline = t2 + phaseTimeoutMs;
      const logouts = pool(leaving.length, inFlight, async (k) => {
        const peer = leaving[k];
        clearInterval(peer.keepalive);
        clearTimeout(peer.recheck);
        peer.online = false;
        if (peerchat) {
          const text = `logout,${peer.name},${peer.endpoint},${peer.session}`;
          const bye = new Signal();
          peer.bye = () => bye.resolve();
          const stop = Math.min(deadline, performance.now() + LOGOUT_TIMEOUT_MS);
          for (let attempt = 0; !bye.done && performance.now() < stop; attempt++) {
            if (attempt > 0) counters.logoutResends++;
            sendSealed(peer, text);
            await bye.wait(LOGOUT_RETRY_MS);
          }
        } else {
          const text = `logout,${peer.name},${peer.endpoint}`;
          const seen = new Signal();
          if (!known[peer.i]) seen.resolve(); // p0 is row 0: index peer.i of row 0
          leaveSeen.set(peer.i, () => seen.resolve());
          for (let attempt = 0; !seen.done && performance.now() < deadline; attempt++) {
            if (attempt > 0) counters.logoutResends++;
            send(peer, text);
            await seen.wait(SEED_LOGOUT_RESEND_MS);
          }
          leaveSeen.delete(peer.i);
        }
        peer.closed = true;
        try {
          peer.conn.close();
        } catch { /* closed */ }
      }, () => performance.now() >= deadline);
      const left = await converged.wait(deadline - performance.now());
      const t3 = performance.now();
      cpuLeaveS = coordinator.cpu() - cpu2;
      genLeaveS = selfCpu() - gen2;
      await logouts;
      if (left) leaveS = (t3 - t2) / 1000;
      for (const p of staying) leaveMissing += Math.abs(counts[p.i] - target);
      counters.generatorUdpDrops += udpDrops(portsOf(staying)) - stayingDropsAtJoin;
      counters.coordinatorUdpDrops = udpDrops([coordinator.udpPort]);
      log(
        `  left: ${left ? `${leaveS!.toFixed(2)} s` : "did not converge"}, ` +
          `coordinator CPU ${cpuLeaveS.toFixed(2)} s, generator CPU ${genLeaveS.toFixed(2)} s`,
      );
    }
    counters.coordinatorJoinLines = coordinator.joins;
    counters.coordinatorLeaveLines = coordinator.leaves;
    const peakRssKiB = coordinator.peakRssKiB();
    return {
      n,
      flavor,
      keepalive,
      phaseTimeoutS: phaseTimeoutMs / 1000,
      joinS: joined ? (t1 - t0) / 1000 : null,
      lastLoginS: Number.isFinite(lastLogin) ? (lastLogin - t0) / 1000 : null,
      joinMissing,
      leaveS,
      leaveMissing,
      leaveSkipped: !joined,
      coordinator: {
        cpuJoinS: cpu1 - cpu0,
        cpuLeaveS,
        peakRssKiB,
        idleRssKiB,
        onlineRssKiB,
        bytesPerPeer: ((onlineRssKiB - idleRssKiB) * 1024) / n,
        idleAnonKiB,
        onlineAnonKiB,
        anonBytesPerPeer: ((onlineAnonKiB - idleAnonKiB) * 1024) / n,
        rssAfterGcKiB,
        idleHeapBytes: idleHeap?.heapUsed ?? NaN,
        onlineHeapBytes: onlineHeap?.heapUsed ?? NaN,
        idleHeapTotalBytes: idleHeap?.heapTotal ?? NaN,
        onlineHeapTotalBytes: onlineHeap?.heapTotal ?? NaN,
        onlineHeapSpaces: onlineHeap?.spaces,
        idleExternalBytes: idleHeap?.external ?? NaN,
        onlineExternalBytes: onlineHeap?.external ?? NaN,
        heapBytesPerPeer: idleHeap && onlineHeap
          ? (onlineHeap.heapUsed - idleHeap.heapUsed) / n
          : NaN,
      },
      generator: { cpuJoinS: gen1 - gen0, cpuLeaveS: genLeaveS },
      counters,
      load,
    };
  } finally {
    for (const peer of peers) {
      clearInterval(peer.keepalive);
      clearTimeout(peer.recheck);
      if (!peer.closed) {
        peer.closed = true;
        try {
          peer.conn.close();
        } catch { /* closed */ }
      }
    }
    await Promise.all(peers.map((p) => p.loop));
    await coordinator.stop();
  }
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const result = await runJoinStorm({
    n: Number(flags.n ?? 1000),
    flavor: flags.flavor === "peerchat" ? "peerchat" : "seed",
    keepalive: flags.keepalive !== false,
    phaseTimeoutMs: Number(flags.timeout ?? 120) * 1000,
    cpuProfDir: typeof flags.profile === "string" ? flags.profile : undefined,
    coordinatorV8Flags: typeof flags["coordinator-v8-flags"] === "string"
      ? flags["coordinator-v8-flags"].split(",")
      : undefined,
    coordinatorRoot: typeof flags["coordinator-root"] === "string"
      ? flags["coordinator-root"]
      : undefined,
    idleMs: flags.idle === undefined ? undefined : Number(flags.idle),
    settleMs: flags.settle === undefined ? undefined : Number(flags.settle),
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(result));
}
