/**
 * The coordinator's relay: it forwards a peer's Noise frame to another peer when the two cannot
 * reach each other directly. A peer sends `0x04 | len | TO | FRAME` to the coordinator's login
 * port; the coordinator sends `0x05 | FRAME` to `TO` (wire/relay.ts) — always fewer bytes than it
 * received, so it cannot amplify, and the frame is end-to-end encrypted: it sees only ciphertext.
 *
 * It forwards only from a logged-in peerchat/2 peer (the datagram's source is that peer's
 * `replyTo`) to a logged-in peerchat/2 peer (to its `replyTo`), when it is on, within limits: a
 * datagram of at most `maxBytes`, and per sending session a token bucket of bytes (`rate` a
 * second, `burst` at most). A refusal is answered — at most once a second per sender, sealed with
 * its link — `relay-busy,TO,REASON` (`rate`, `size`, `offline`, `off`); a datagram from a source
 * that is no peer's `replyTo` is dropped unanswered. Every outcome is counted.
 *
 * Per datagram: one parse (no copy of the frame), one lookup by source, one by name, one bucket,
 * one send — O(1).
 *
 * Pure: time is the monotonic `now` passed in; sends go out through {@linkcode RelayContext}.
 *
 * @module
 */

import {
  encodeRelayed,
  type Endpoint,
  formatEndpoint,
  MAX_RELAY_BYTES,
  parseRelay,
  type RelayBusyReason,
} from "../protocol.ts";
import type { OnlineUser, OnlineUsers, RelayState } from "./online_users.ts";
import { sealFor } from "./punch.ts";

/** Relayed bytes a second per sending session, by default (256 KiB). */
export const DEFAULT_RELAY_RATE: number = 256 * 1024;
/**
 * A sending session's burst, by default (256 KiB): the largest message (64 KiB of text, 66
 * packets of at most 1.2 KB once encrypted) passes at once, twice over.
 */
export const DEFAULT_RELAY_BURST: number = 256 * 1024;
/** At most one `relay-busy` per sender per this many ms. */
export const BUSY_INTERVAL_MS = 1000;

/** Why the relay did not forward a datagram: a `relay-busy` reason, or a stranger's datagram. */
export type RelayRefusal = RelayBusyReason | "stranger";

/** The relay's counters (part of the coordinator's statistics). */
export interface RelayCounters {
  /** Datagrams forwarded. */
  relayed: number;
  /** Bytes forwarded (what went out: `0x05` and the frame). */
  relayedBytes: number;
  /** Datagrams refused, by reason (`stranger`: from a source that is no peer's `replyTo`). */
  relayRefused: Record<RelayRefusal, number>;
}

/** Every relay counter at zero. */
export function newRelayCounters(): RelayCounters {
  return {
    relayed: 0,
    relayedBytes: 0,
    relayRefused: { rate: 0, size: 0, offline: 0, off: 0, stranger: 0 },
  };
}

/** The relay's settings. */
export interface RelayConfig {
  /** Whether it forwards at all (`--relay on|off`). Default true. */
  enabled?: boolean;
  /** Bytes a second per sending session. Default {@linkcode DEFAULT_RELAY_RATE}. */
  rate?: number;
  /** A sending session's burst, in bytes. Default {@linkcode DEFAULT_RELAY_BURST}. */
  burst?: number;
  /** The largest datagram relayed. Default {@linkcode MAX_RELAY_BYTES}. */
  maxBytes?: number;
}

/**
 * Takes `bytes` tokens from `state`'s bucket at `now` if it holds as many (it fills at `rate` a
 * second up to `burst`); false, taking nothing, if not.
 */
export function takeTokens(
  state: RelayState,
  bytes: number,
  now: number,
  rate: number,
  burst: number,
): boolean {
  if (now > state.at) {
    state.tokens = Math.min(burst, state.tokens + (now - state.at) * rate / 1000);
    state.at = now;
  }
  if (state.tokens < bytes) return false;
  state.tokens -= bytes;
  return true;
}

/** What the {@linkcode Relay} shares with its registry. */
export interface RelayContext {
  /** Who is online. */
  readonly users: OnlineUsers;
  /** The counters to keep. */
  readonly counters: RelayCounters;
  /** Sends a datagram. */
  send(bytes: Uint8Array<ArrayBuffer>, to: Endpoint): void;
  /** Counts and reports a malformed datagram. */
  malformed(from: Endpoint, reason: string): void;
}

/** The relay's decisions and its forwarding. */
export class Relay {
  readonly #context: RelayContext;
  readonly #enabled: boolean;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxBytes: number;

  /** A relay with `config`'s limits, counting and sending through `context`. */
  constructor(config: RelayConfig, context: RelayContext) {
    this.#context = context;
    this.#enabled = config.enabled ?? true;
    this.#rate = config.rate ?? DEFAULT_RELAY_RATE;
    this.#burst = config.burst ?? DEFAULT_RELAY_BURST;
    this.#maxBytes = config.maxBytes ?? MAX_RELAY_BYTES;
  }

  /** Whether it forwards at all. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * Takes a `0x04` datagram from `from`: forwards it, or refuses it. Returns why it was not
   * forwarded (`undefined` when it was; `malformed`: it was dropped as such).
   */
  take(bytes: Uint8Array, from: Endpoint, now: number): RelayRefusal | "malformed" | undefined {
    const request = parseRelay(bytes);
    if (!request.ok) {
      this.#context.malformed(from, request.error.message);
      return "malformed";
    }
    const users = this.#context.users;
    const sender = users.atReplyTo(formatEndpoint(from));
    if (!sender) return this.#count("stranger");
    if (!this.#enabled) return this.#refuse(sender, request.value.to, "off", now);
    if (bytes.length > this.#maxBytes) return this.#refuse(sender, request.value.to, "size", now);
    const recipient = users.get(request.value.to);
    if (!recipient?.link || !recipient.replyTo) {
      return this.#refuse(sender, request.value.to, "offline", now);
    }
    const state = sender.relay ??= { tokens: this.#burst, at: now };
    if (!takeTokens(state, bytes.length, now, this.#rate, this.#burst)) {
      return this.#refuse(sender, request.value.to, "rate", now);
    }
    const out = encodeRelayed(request.value.frame);
    this.#context.counters.relayed++;
    this.#context.counters.relayedBytes += out.length;
    this.#context.send(out, recipient.replyTo);
    return undefined;
  }

  #count(reason: RelayRefusal): RelayRefusal {
    this.#context.counters.relayRefused[reason]++;
    return reason;
  }

  /** Counts a refusal and answers it with `relay-busy` unless the sender had one this second. */
  #refuse(sender: OnlineUser, to: string, reason: RelayBusyReason, now: number): RelayRefusal {
    this.#count(reason);
    const state = sender.relay ??= { tokens: this.#burst, at: now };
    if (state.busyAt !== undefined && now - state.busyAt < BUSY_INTERVAL_MS) return reason;
    state.busyAt = now;
    const busy = sealFor(sender, { type: "relay-busy", name: to, reason });
    this.#context.send(busy, sender.replyTo ?? sender.endpoint);
    return reason;
  }
}
