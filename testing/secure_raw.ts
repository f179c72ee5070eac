/**
 * A raw socket that speaks the peers' encryption (Noise IK, core/secure_sessions.ts) but nothing
 * else of a peer: tests use it to send hand-made chat messages — duplicates, parts out of order,
 * names that are not its own — to a real peer over a real session, and to read what comes back.
 *
 * @module
 */

import { SecureSessions } from "../core/secure_sessions.ts";
import { encodeRelay, type Endpoint, nameKey } from "../protocol.ts";
import { RELAY_ENDPOINT } from "../net/peer_datagrams.ts";
import type { RawUdp } from "./helpers.ts";
import type { PeerKeys } from "./raw_peer.ts";

/** Encryption for a {@linkcode RawUdp} logged in with {@linkcode PeerKeys}. */
export class SecureRaw {
  readonly sessions: SecureSessions;
  readonly #raw: RawUdp;
  readonly #timer: ReturnType<typeof setInterval>;
  #opened: string | undefined;

  /**
   * Sessions for `raw` as `name` with `keys`. Every initiator is let in, unless `pinned` names
   * the key a name must have.
   */
  constructor(raw: RawUdp, name: string, keys: PeerKeys, pinned: Map<string, string> = new Map()) {
    this.#raw = raw;
    const decoder = new TextDecoder();
    /** Peers' names by key, as their handshakes said: a frame through the relay needs one. */
    const names = new Map<string, string>();
    this.sessions = new SecureSessions({ name, identity: keys.identity }, {
      send: (bytes, to, route) => {
        // An answer to a frame that came through the coordinator's relay goes back through it.
        const relayed = to.host === RELAY_ENDPOINT.host && raw.relayVia && route;
        const who = relayed ? names.get(route.key) : undefined;
        const datagram = who ? encodeRelay(who, bytes) : bytes as Uint8Array<ArrayBuffer>;
        void raw.send(datagram, who ? raw.relayVia! : to).catch(() => {});
      },
      heard: (key, who) => void names.set(key, who),
      deliver: (plaintext) => this.#opened = decoder.decode(plaintext),
      dropped: () => {},
      authorize: (who, key) => {
        const want = pinned.get(nameKey(who));
        return want === undefined || want === key ? "ok" : "refused";
      },
    });
    raw.openFrame = (bytes, from) => {
      this.#opened = undefined;
      this.sessions.receive(bytes, from, now());
      return this.#opened;
    };
    this.#timer = setInterval(() => this.sessions.tick(now()), 20);
  }

  /** Sends `text` (a chat message) to `to` over a session (a handshake first if there is none). */
  send(text: string, to: { name: string; key: string; endpoint: Endpoint }): void {
    this.sessions.send(to, new TextEncoder().encode(text), now());
  }

  /** Stops the timer (the caller closes the socket). */
  close(): void {
    clearInterval(this.#timer);
    this.#raw.openFrame = undefined;
  }
}

function now(): { now: number; wall: number } {
  return { now: performance.now(), wall: Date.now() };
}
