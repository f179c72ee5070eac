/**
 * The peer's side of logging in with proof (PROTOCOL.md, "Logging in with proof"): it answers
 * the coordinator's `challenge` with a login that carries its keys and its Ed25519 signature,
 * pins the coordinator's key on first contact (a changed key stops the login), and from then on
 * holds the link that seals what it sends the coordinator and opens what the coordinator sends.
 *
 * Pure: no socket, no clock. net/coordinator_client.ts carries it out.
 *
 * @module
 */

import {
  type AuthMessage,
  type ChallengeMessage,
  type LoginMessage,
  loginProofText,
  type Message,
  nameKey,
  parseMessage,
} from "../protocol.ts";
import { deriveLinkKeys, signLogin } from "../crypto/coordinator_auth.ts";
import { type Identity, publicIdentity } from "../crypto/identity.ts";
import { LinkAuth } from "./link_auth.ts";

/** What the peer's pins say of a coordinator's key: the one pinned (or the first), or another. */
export type PinVerdict = "ok" | "changed";

/** What to do with a `challenge`. */
export type ProofStep =
  /** Send this login (and send it again at every retry): it proves the peer's keys. */
  | { kind: "proof"; login: LoginMessage }
  /** Not for this login (another name, or a key that gives no shared secret): wait on. */
  | { kind: "ignored" }
  /** The coordinator's key is not the one pinned: stop, and tell the user. */
  | { kind: "changed"; key: string };

/** What {@linkcode LoginProof.open} made of a sealed datagram. */
export type Opened =
  | { verdict: "ok"; message: Message }
  | { verdict: "forged" | "replayed" | "malformed" };

/** A peer's proofs and the link of its last one. */
export class LoginProof {
  readonly #identity: Identity;
  readonly #pin: (key: string) => PinVerdict;
  readonly #signKey: string;
  readonly #dhKey: string;
  #link?: LinkAuth;
  /** The challenge the link was made for (a repeated challenge keeps it). */
  #nonce?: string;

  /** Proofs with `identity`; `pin` judges each coordinator key a challenge carries. */
  constructor(identity: Identity, pin: (key: string) => PinVerdict) {
    this.#identity = identity;
    this.#pin = pin;
    const keys = publicIdentity(identity);
    this.#signKey = keys.sign;
    this.#dhKey = keys.dh;
  }

  /** This peer's X25519 public key (base64url), as the roster will carry it. */
  get dhKey(): string {
    return this.#dhKey;
  }

  /** Whether a login was proven: from then on the coordinator's answers count only sealed. */
  get linked(): boolean {
    return this.#link !== undefined;
  }

  /** A new login begins: no link until its challenge. */
  reset(): void {
    this.#link = undefined;
    this.#nonce = undefined;
  }

  /** The answer to `challenge` for `login` (the login without its proof). */
  answer(challenge: ChallengeMessage, login: LoginMessage): ProofStep {
    if (nameKey(challenge.name) !== nameKey(login.name)) return { kind: "ignored" };
    if (this.#pin(challenge.key) === "changed") return { kind: "changed", key: challenge.key };
    const keys = deriveLinkKeys(
      this.#identity.dh.privateKey,
      challenge.key,
      challenge.nonce,
      login.name,
    );
    if (!keys) return { kind: "ignored" };
    if (challenge.nonce !== this.#nonce) {
      this.#link = new LinkAuth({ send: keys.toCoordinator, receive: keys.toPeer });
      this.#nonce = challenge.nonce;
    }
    const fields = {
      ...login,
      signKey: this.#signKey,
      dhKey: this.#dhKey,
      nonce: challenge.nonce,
    };
    const signature = signLogin(
      this.#identity.sign.privateKey,
      loginProofText(fields, challenge.key),
    );
    return {
      kind: "proof",
      login: {
        ...login,
        proof: { signKey: this.#signKey, dhKey: this.#dhKey, nonce: challenge.nonce, signature },
      },
    };
  }

  /** `bytes` (a message's UTF-8) sealed with the link; as they are when there is none. */
  seal(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    return this.#link ? this.#link.seal(bytes) : bytes;
  }

  /** Checks a sealed datagram from the coordinator and parses the message inside. */
  open(message: AuthMessage): Opened {
    const verdict = this.#link?.open(message) ?? "forged";
    if (verdict !== "ok") return { verdict };
    const inner = parseMessage(message.inner);
    return inner.ok ? { verdict, message: inner.value } : { verdict: "malformed" };
  }
}
