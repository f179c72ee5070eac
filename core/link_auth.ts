/**
 * One end of the authenticated link between a peerchat peer and its coordinator: what it sends is
 * wrapped as `auth,SEQ,TAG,MESSAGE` (wire/auth.ts) under its sending key, with a counter of its
 * own; what it receives counts only when the tag verifies under the other direction's key and its
 * `SEQ` is new (a replay window of {@linkcode REPLAY_WINDOW} numbers, marked only once the tag
 * verified). Both ends hold one for each login: the coordinator one per online peer, the peer one
 * for its coordinator.
 *
 * The tag is the first 16 bytes of `HMAC-SHA-256(key, SEQ as 8 bytes big-endian ‖
 * SHA-256(MESSAGE))`: hashing the message first lets the coordinator tag one roster batch for
 * thousands of peers with one hash and one short HMAC each ({@linkcode LinkAuth.sealDigest}).
 *
 * Pure: no socket, no clock.
 *
 * @module
 */

import type { AuthMessage } from "../protocol.ts";
import { LinkMac } from "../crypto/link_mac.ts";
import { ReplayWindow } from "../crypto/replay.ts";
import { secretsEqual, sha256 } from "../crypto/primitives.ts";
import { bytesEqual, decodeBase64Url } from "../wire/keys.ts";

/** How far behind the highest `SEQ` seen a datagram may still arrive (reordering on the way). */
export const REPLAY_WINDOW = 256;

/** What {@linkcode LinkAuth.open} made of an `auth` datagram. */
export type OpenVerdict = "ok" | "forged" | "replayed";

/** The keys of one end: the one it sends with and the one it receives with. */
export interface LinkAuthKeys {
  /** Tags what this end sends. */
  send: Uint8Array;
  /** Checks what this end receives. */
  receive: Uint8Array;
}

const AUTH_PREFIX = "auth,";
const ENCODER = new TextEncoder();
const AUTH_PREFIX_BYTES = ENCODER.encode(AUTH_PREFIX);
const COMMA = 44;
/** Characters of a 16-byte tag in unpadded base64url. */
const TAG_TEXT = 22;
const BASE64URL = ENCODER.encode(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
);

/** Writes the 16 bytes of `tag` as 22 base64url characters into `out` at `at`; the new `at`. */
function writeTag(tag: Uint8Array, out: Uint8Array, at: number): number {
  let i = 0;
  for (; i + 2 < 16; i += 3) {
    const n = (tag[i] << 16) | (tag[i + 1] << 8) | tag[i + 2];
    out[at++] = BASE64URL[n >> 18];
    out[at++] = BASE64URL[(n >> 12) & 63];
    out[at++] = BASE64URL[(n >> 6) & 63];
    out[at++] = BASE64URL[n & 63];
  }
  const n = tag[15] << 16; // one byte left: two characters
  out[at++] = BASE64URL[n >> 18];
  out[at++] = BASE64URL[(n >> 12) & 63];
  return at;
}

/** Sealed datagrams are carved from slabs of this size (see {@linkcode carve}). */
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/**
 * `length` fresh bytes for a datagram about to be sent, as a view into a shared slab (a fan-out
 * seals thousands of datagrams, and allocating each costs more than sealing it). A slab is never
 * written twice — a full one is left to the garbage collector once its last view is gone — so a
 * view stays valid however long its send waits.
 */
function carve(length: number): Uint8Array<ArrayBuffer> {
  if (length > SLAB_BYTES / 8) return new Uint8Array(length);
  if (slabUsed + length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + length);
  slabUsed += length;
  return view;
}

/** Seals what one end sends and opens what it receives. */
export class LinkAuth {
  #sendMac: LinkMac;
  #receiveMac: LinkMac;
  #sendKey: Uint8Array;
  #nextSeq = 1;
  #window = new ReplayWindow(REPLAY_WINDOW - 1, 1);

  /** An end with these keys, counting from 1. */
  constructor(keys: LinkAuthKeys) {
    this.#sendMac = new LinkMac(keys.send);
    this.#receiveMac = new LinkMac(keys.receive);
    this.#sendKey = keys.send;
  }

  /**
   * New keys (a new login of the same user): counting starts over in both directions. The same
   * keys again (a login repeated with the same proof) change nothing: a number is never reused
   * under one key.
   */
  rekey(keys: LinkAuthKeys): void {
    if (bytesEqual(keys.send, this.#sendKey)) return;
    this.#sendKey = keys.send;
    this.#sendMac = new LinkMac(keys.send);
    this.#receiveMac = new LinkMac(keys.receive);
    this.#nextSeq = 1;
    this.#window = new ReplayWindow(REPLAY_WINDOW - 1, 1);
  }

  /** `auth,SEQ,TAG,` + `message` (its UTF-8 bytes), under the next `SEQ`. */
  seal(message: Uint8Array): Uint8Array<ArrayBuffer> {
    return this.sealDigest(message, sha256(message));
  }

  /** {@linkcode seal} of a message whose SHA-256 is already known (one roster batch, many peers). */
  sealDigest(message: Uint8Array, digest: Uint8Array): Uint8Array<ArrayBuffer> {
    const seq = this.#nextSeq++;
    const tag = this.#sendMac.tag(seq, digest);
    // auth,SEQ,TAG, written as bytes (ASCII), then the message.
    const digits = String(seq);
    const head = AUTH_PREFIX.length + digits.length + 1 + TAG_TEXT + 1;
    const out = carve(head + message.length);
    out.set(AUTH_PREFIX_BYTES);
    let at = AUTH_PREFIX.length;
    for (let i = 0; i < digits.length; i++) out[at++] = digits.charCodeAt(i);
    out[at++] = COMMA;
    at = writeTag(tag, out, at);
    out[at++] = COMMA;
    out.set(message, at);
    return out;
  }

  /** Checks an `auth` datagram's tag and number; marks the number only when the tag verifies. */
  open(message: AuthMessage): OpenVerdict {
    if (!this.#window.check(message.seq)) return "replayed";
    const tag = decodeBase64Url(message.tag);
    const digest = sha256(ENCODER.encode(message.inner));
    if (!tag || !secretsEqual(tag, this.#receiveMac.tag(message.seq, digest))) return "forged";
    this.#window.mark(message.seq);
    return "ok";
  }
}
