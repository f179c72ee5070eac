/**
 * A hostile UDP relay for tests: it listens on a port of 127.0.0.1 and
 * forwards what arrives to one target, but, with a seeded PRNG, also drops,
 * duplicates, holds back (reorders), flips bits in, and replays earlier
 * datagrams. Like a NAT, it gives each source its own socket towards the
 * target, and relays the target's answers to that socket back to the source
 * (with the same faults). Peers that advertise the proxy's port as their
 * endpoint get all their incoming traffic through it.
 *
 * Real sockets; the faults are deterministic for a seed, the timing is not.
 *
 * @module
 */

import { prng } from "./prng.ts";

/** Chances per datagram, each 0..1. */
export interface Faults {
  drop: number;
  duplicate: number;
  /** Held back and sent after the next few datagrams. */
  reorder: number;
  /** One random bit flipped (the datagram is sent that way instead of intact). */
  flip: number;
  /** After forwarding, one earlier datagram (up to 500 back) is sent again. */
  replay: number;
}

/** What the proxy did. */
export interface ProxyStats {
  received: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  flipped: number;
  replayed: number;
}

/** A relay from its own port to `target`, with faults. */
export class TamperProxy {
  readonly #socket: Deno.DatagramConn;
  readonly #target: Deno.NetAddr;
  /** One socket towards the target per source (`IP:PORT`), and the loop relaying its answers. */
  readonly #mappings = new Map<string, { conn: Deno.DatagramConn; loop: Promise<void> }>();
  readonly #faults: Faults;
  readonly #random: () => number;
  readonly #history: Uint8Array[] = [];
  #held: Uint8Array[] = [];
  readonly #loop: Promise<void>;
  /** What was done so far. */
  readonly stats: ProxyStats = {
    received: 0,
    forwarded: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    flipped: 0,
    replayed: 0,
  };

  /** Starts relaying to `target` (127.0.0.x only) with `faults`, seeded by `seed`. */
  constructor(target: { host: string; port: number }, faults: Faults, seed: number) {
    if (!target.host.startsWith("127.")) throw new Error("The proxy relays on loopback only.");
    this.#socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    this.#target = { transport: "udp", hostname: target.host, port: target.port };
    this.#faults = faults;
    this.#random = prng(seed);
    this.#loop = this.#run();
  }

  /** Where the proxy listens. */
  get endpoint(): { host: string; port: number } {
    const addr = this.#socket.addr as Deno.NetAddr;
    return { host: addr.hostname, port: addr.port };
  }

  async #run(): Promise<void> {
    try {
      for await (const [bytes, addr] of this.#socket) {
        const source = addr as Deno.NetAddr;
        const out = this.#mapping(source);
        await this.#relay(bytes, (data) => out.send(data, this.#target));
      }
    } catch {
      // Closed.
    }
  }

  /** The socket towards the target for `source`, made on first use. */
  #mapping(source: Deno.NetAddr): Deno.DatagramConn {
    const id = `${source.hostname}:${source.port}`;
    let mapping = this.#mappings.get(id);
    if (mapping === undefined) {
      const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      const loop = (async () => {
        try {
          for await (const [bytes] of conn) {
            await this.#relay(bytes, (data) => this.#socket.send(data, source));
          }
        } catch {
          // Closed.
        }
      })();
      mapping = { conn, loop };
      this.#mappings.set(id, mapping);
    }
    return mapping.conn;
  }

  async #relay(bytes: Uint8Array, deliver: (data: Uint8Array) => Promise<number>): Promise<void> {
    this.stats.received++;
    const f = this.#faults;
    const chance = (p: number) => this.#random() < p;
    this.#history.push(bytes);
    if (this.#history.length > 500) this.#history.shift();
    if (chance(f.drop)) {
      this.stats.dropped++;
      return;
    }
    if (chance(f.reorder)) {
      this.stats.reordered++;
      this.#held.push(bytes);
      return;
    }
    let out = bytes;
    if (chance(f.flip)) {
      this.stats.flipped++;
      out = bytes.slice();
      const bit = Math.floor(this.#random() * out.length * 8);
      out[bit >> 3] ^= 1 << (bit & 7);
    }
    await this.#send(out, deliver);
    if (chance(f.duplicate)) {
      this.stats.duplicated++;
      await this.#send(bytes, deliver);
    }
    if (this.#held.length > 0 && chance(0.5)) {
      const held = this.#held;
      this.#held = [];
      for (const late of held.reverse()) await this.#send(late, deliver);
    }
    if (chance(f.replay)) {
      this.stats.replayed++;
      const old = this.#history[Math.floor(this.#random() * this.#history.length)];
      await this.#send(old, deliver);
    }
  }

  async #send(bytes: Uint8Array, deliver: (data: Uint8Array) => Promise<number>): Promise<void> {
    try {
      await deliver(bytes);
      this.stats.forwarded++;
    } catch {
      // The target went away: the test is ending.
    }
  }

  /** Stops relaying and closes the socket. */
  async close(): Promise<void> {
    for (const conn of [this.#socket, ...[...this.#mappings.values()].map((m) => m.conn)]) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    await this.#loop;
    for (const mapping of this.#mappings.values()) await mapping.loop;
  }
}
