/**
 * The protocol's constants: well-known ports, the flavour tokens, and every size
 * limit a parser enforces or a sender keeps to. A leaf module: every other wire/
 * file may import it, it imports nothing.
 *
 * @module
 */

/**
 * The flavour token a peerchat peer appends to its `login`: `peerchat/2` since logins prove an
 * identity key (issue 10). A `peerchat/1` login is refused with a reason that says to update.
 */
export const PEERCHAT_FLAVOR = "peerchat/2";
/** The flavour the coordinator gives a seed client that speaks UTF-16LE (the original C# client). */
export const UTF16_FLAVOR = "seed/utf16";

/** The UDP port coordinators listen on for `discover` broadcasts (shared: several may). */
export const DISCOVERY_PORT = 8887;
/** The UDP port a coordinator takes logins on unless told otherwise. */
export const DEFAULT_COORDINATOR_PORT = 8888;
/** Longest coordinator label, in characters. */
export const MAX_LABEL_CHARS = 64;

/** Largest datagram either side reads; longer ones are rejected unread. */
export const MAX_DATAGRAM_BYTES: number = 16 * 1024;
/** Largest chat text, in UTF-8 bytes, a user may send (split into `msg` parts). */
export const MAX_TEXT_BYTES: number = 64 * 1024;
/** Largest text one `talk` datagram carries; longer texts go as several `talk`s. */
export const MAX_TALK_BYTES: number = 8 * 1024;
/** Largest body of one `msg` part, in UTF-8 bytes: datagrams stay under a 1500-byte MTU. */
export const MAX_PART_BYTES = 1000;
/** Most parts one message may have. */
export const MAX_PARTS: number = Math.ceil(MAX_TEXT_BYTES / 256);
/** Longest name, in characters (code points). */
export const MAX_NAME_CHARS = 32;
/** Longest `TIME` field of a `talk` or `msg`. */
export const MAX_TIME_CHARS = 64;
/** Longest message id, nonce, stream id, ticket or session. */
export const MAX_ID_CHARS = 64;
/** Longest `Reject` reason, in characters. */
export const MAX_REASON_CHARS = 200;
/** Largest online list the coordinator sends or a peer accepts over TCP. */
export const MAX_LIST_BYTES: number = 8 * 1024 * 1024;
/** Largest `roster` datagram the coordinator sends: under an Ethernet MTU with IP and UDP headers. */
export const MAX_ROSTER_BYTES = 1400;
/** Largest packet number of a stream: fits a double exactly, and far beyond any stream's life. */
export const MAX_SEQ: number = 2 ** 48;
/** Characters of a login challenge's nonce: 16 bytes in unpadded base64url. */
export const NONCE_CHARS = 22;
/** Characters of an `auth` tag: 16 bytes (a truncated HMAC-SHA-256) in unpadded base64url. */
export const TAG_CHARS = 22;
/** Characters of an Ed25519 signature: 64 bytes in unpadded base64url. */
export const SIGNATURE_CHARS = 86;
/** Most `SACK` ranges one `ack` may carry. */
export const MAX_SACK_RANGES = 64;
/** Most further candidates (endpoints besides the primary one) a roster entry, `found` or `punch` carries. */
export const MAX_CANDIDATES = 4;
/** Largest round trip (ms) a `ping` reports. */
export const MAX_RTT_MS = 60_000;
/** Largest delay (ms) a `punch` asks for. */
export const MAX_PUNCH_DELAY_MS = 60_000;
/** Characters of a path probe's `TXID`: 12 random bytes in unpadded base64url. */
export const TXID_CHARS = 16;
