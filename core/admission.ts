/**
 * Who gets past the coordinator's door, before the rules of who is online (sessions.ts) apply:
 *
 * - the flavour: `peerchat/2` peers prove their keys, older peerchat peers are told to update,
 *   seed clients (no flavour, or the C# client) pass without keys;
 * - a `peerchat/2` login without a proof is answered with a `challenge` whose nonce is random bytes
 *   and an HMAC of them, the time, the source and the name under a secret of this process
 *   (crypto/coordinator_auth.ts): nothing is kept per login, so spoofed logins cost no memory;
 * - a login with a proof must carry a fresh nonce of ours (else a new challenge) and a signature
 *   that verifies; both ends then derive the link keys that authenticate everything after;
 * - the name registry ({@linkcode NameStore}): a free name is registered by its first peerchat
 *   login, a registered one only opens with its own keys, and seed clients never get one.
 *
 * Pure: time is the monotonic `now` passed in; the store stamps wall-clock times itself.
 *
 * @module
 */

import {
  type ChallengeMessage,
  type Endpoint,
  formatEndpoint,
  type LoginMessage,
  type LoginProof,
  loginProofText,
  nameKey,
  PEERCHAT_FLAVOR,
  type TextEncoding,
} from "../protocol.ts";
import {
  challengeNonce,
  deriveLinkKeys,
  isChallengeNonce,
  verifyLogin,
} from "../crypto/coordinator_auth.ts";
import { type KeyPair, randomBytes } from "../crypto/primitives.ts";
import { encodeKey } from "../wire/keys.ts";
import { errorText } from "./errors.ts";
import type { LinkAuthKeys } from "./link_auth.ts";
import {
  judgeOwner,
  type NameStore,
  otherKeysReason,
  type OwnerVerdict,
  registeredReason,
  RegistrationLimit,
  storeReason,
  tooManyReason,
} from "./names.ts";
import { flavorProblem, loginFlavor } from "./sessions.ts";

/** Nonces are made per bucket of this many ms; one of this bucket or the last is fresh (15–30 s). */
export const NONCE_BUCKET_MS = 15_000;

/** What to do with a login, as far as the door is concerned. */
export type Admission =
  /** Send this challenge to the login's source (and nothing else). */
  | { kind: "challenge"; challenge: ChallengeMessage }
  /** Refuse it; with `keys` (a proven login), the `Reject` is sealed with them. */
  | { kind: "reject"; reason: string; keys?: LinkAuthKeys }
  /**
   * Let it on to the rules of who is online. `keys`, `key` and `proof`: a peerchat/2 login, its
   * link keys and X25519 key; `owner`: what the registry says of its name.
   */
  | {
    kind: "admit";
    flavor: string;
    owner: OwnerVerdict;
    keys?: LinkAuthKeys;
    key?: string;
    proof?: LoginProof;
  };

/** What a {@linkcode Door} needs. */
export interface DoorConfig {
  /** The coordinator's X25519 key pair: peers pin its public half. */
  identity: KeyPair;
  /** The name registry. */
  names: NameStore;
  /** Registrations a minute one host may make (and in one burst). Default 100. */
  registrationsPerMinute?: number;
  /** The secret challenge nonces are made with. Default: 32 random bytes. */
  nonceSecret?: Uint8Array;
  /** A name unused for this long (ms) is freed. Default {@linkcode DEFAULT_NAME_TTL_MS}. */
  nameTtlMs?: number;
}

/** How long a name stays registered unused, by default: 180 days. */
export const DEFAULT_NAME_TTL_MS: number = 180 * 24 * 3600 * 1000;
/** How often names of users online are marked used and unused names freed, at most: hourly. */
export const NAME_UPKEEP_MS: number = 3600 * 1000;

/** The coordinator's door: challenges, proofs and owned names. */
export class Door {
  /** The coordinator's public key (base64url), as every `challenge` carries it. */
  readonly publicKey: string;
  readonly #identity: KeyPair;
  readonly #names: NameStore;
  readonly #secret: Uint8Array;
  readonly #limit: RegistrationLimit;
  readonly #ttlMs: number;
  /** When {@linkcode Door.upkeep} last ran (monotonic ms), if it did. */
  #keptAt?: number;

  /** A door with the coordinator's key and its name registry. */
  constructor(config: DoorConfig) {
    this.#identity = config.identity;
    this.publicKey = encodeKey(config.identity.publicKey);
    this.#names = config.names;
    this.#secret = config.nonceSecret ?? randomBytes(32);
    this.#limit = new RegistrationLimit(config.registrationsPerMinute);
    this.#ttlMs = config.nameTtlMs ?? DEFAULT_NAME_TTL_MS;
  }

  /** Judges a valid login from `from` at `now`. */
  admit(login: LoginMessage, encoding: TextEncoding, from: Endpoint, now: number): Admission {
    const flavor = loginFlavor(encoding, login.flavor);
    const problem = flavorProblem(encoding, flavor);
    if (problem) return { kind: "reject", reason: problem };
    let keys: LinkAuthKeys | undefined;
    const proof = flavor === PEERCHAT_FLAVOR ? login.proof : undefined;
    if (flavor === PEERCHAT_FLAVOR) {
      if (!proof) return this.#challenge(login.name, from, now);
      const proven = this.#prove(login, proof, from, now);
      if (proven === "stale") return this.#challenge(login.name, from, now);
      if (proven.problem) return { kind: "reject", reason: proven.problem, keys: proven.keys };
      keys = proven.keys;
    }
    let owner: OwnerVerdict;
    try {
      owner = judgeOwner(this.#names.get(nameKey(login.name)), proof);
    } catch (error) {
      return { kind: "reject", reason: storeReason(errorText(error)), keys };
    }
    if (owner === "other") {
      const reason = proof ? otherKeysReason(login.name) : registeredReason(login.name);
      return { kind: "reject", reason, keys };
    }
    return { kind: "admit", flavor, owner, keys, key: proof?.dhKey, proof };
  }

  /**
   * Takes the name of an admitted peerchat/2 login that is about to be accepted: registers a free
   * one (committed before this returns) or marks an owned one used. Returns why it cannot, if so.
   */
  claim(
    admitted: { owner: OwnerVerdict; proof?: LoginProof },
    name: string,
    host: string,
    now: number,
  ): string | undefined {
    const proof = admitted.proof;
    if (!proof) return undefined;
    try {
      if (admitted.owner === "owned") {
        this.#names.touch([nameKey(name)]);
        return undefined;
      }
      if (!this.#limit.take(host, now)) return tooManyReason(host, this.#limit.perMinute);
      this.#names.register(nameKey(name), name, proof.signKey, proof.dhKey);
      return undefined;
    } catch (error) {
      return storeReason(errorText(error));
    }
  }

  /**
   * Upkeep of the registry, run at every sweep; it does something hourly (or four times per name
   * TTL, when that is shorter): marks the names of users online as used (`online()` gives their
   * name keys), then frees names unused for the TTL. Returns a warning when the store fails.
   */
  upkeep(now: number, online: () => readonly string[]): string | undefined {
    const period = Math.max(1, Math.min(NAME_UPKEEP_MS, this.#ttlMs / 4));
    if (this.#keptAt !== undefined && now - this.#keptAt < period) return undefined;
    this.#keptAt = now;
    this.#limit.prune(now);
    try {
      const keys = online();
      if (keys.length > 0) this.#names.touch(keys);
      this.#names.expire(this.#ttlMs);
      return undefined;
    } catch (error) {
      return `The name registry could not be kept up (${errorText(error)}); trying again later.`;
    }
  }

  #challenge(name: string, from: Endpoint, now: number): Admission {
    const nonce = this.#nonce(Math.floor(now / NONCE_BUCKET_MS), from, name);
    return {
      kind: "challenge",
      challenge: { type: "challenge", name, nonce, key: this.publicKey },
    };
  }

  #nonce(bucket: number, from: Endpoint, name: string): string {
    return challengeNonce(this.#secret, bucket, formatEndpoint(from), nameKey(name));
  }

  /** Whether `nonce` is ours, for this source and name, of this time bucket or the one before. */
  #fresh(nonce: string, from: Endpoint, name: string, now: number): boolean {
    const bucket = Math.floor(now / NONCE_BUCKET_MS);
    const source = formatEndpoint(from);
    const key = nameKey(name);
    return isChallengeNonce(nonce, this.#secret, bucket, source, key) ||
      isChallengeNonce(nonce, this.#secret, bucket - 1, source, key);
  }

  /** Checks a proof: its nonce must be one of ours, fresh, and its signature must verify. */
  #prove(
    login: LoginMessage,
    proof: LoginProof,
    from: Endpoint,
    now: number,
  ): "stale" | { keys?: LinkAuthKeys; problem?: string } {
    if (!this.#fresh(proof.nonce, from, login.name, now)) return "stale";
    const derived = deriveLinkKeys(this.#identity.privateKey, proof.dhKey, proof.nonce, login.name);
    if (!derived) return { problem: "The login's key is not a usable X25519 public key." };
    const keys = { send: derived.toPeer, receive: derived.toCoordinator };
    const text = loginProofText({ ...login, ...proof }, this.publicKey);
    if (!verifyLogin(proof.signKey, text, proof.signature)) {
      return { keys, problem: "The login's signature does not verify; log in again." };
    }
    return { keys };
  }
}
