/**
 * A peerchat/2 peer by hand, for tests that speak the wire format themselves: an identity, the
 * login's proof answering a coordinator's `challenge`, and the link that seals what it sends and
 * opens what the coordinator sends (`auth,SEQ,TAG,MESSAGE`). {@linkcode loginRaw} logs a
 * {@linkcode RawUdp} in with it; the socket then shows every sealed datagram that verifies as
 * the message inside.
 *
 * @module
 */

import {
  type ChallengeMessage,
  type Endpoint,
  formatMessage,
  loginProofText,
  parseMessage,
  PEERCHAT_FLAVOR,
} from "../protocol.ts";
import { deriveLinkKeys, signLogin } from "../crypto/coordinator_auth.ts";
import { generateIdentity, type Identity, publicIdentity } from "../crypto/identity.ts";
import { LinkAuth } from "../core/link_auth.ts";
import type { RawUdp } from "./helpers.ts";

/** A test peer's keys and its link to the coordinator of its last proven login. */
export class PeerKeys {
  /** Its identity. */
  readonly identity: Identity;
  /** The link of its last proven login. */
  link?: LinkAuth;
  /** Sealed datagrams that did not verify (or were replayed), as received. */
  readonly unverified: string[] = [];

  /** Keys of `identity` (a new one by default). */
  constructor(identity: Identity = generateIdentity()) {
    this.identity = identity;
  }

  /** Its X25519 public key, as the roster carries it. */
  get dhKey(): string {
    return publicIdentity(this.identity).dh;
  }

  /** Its Ed25519 public key. */
  get signKey(): string {
    return publicIdentity(this.identity).sign;
  }

  /** The text of a login of `name` at `endpoint` (`IP:PORT`) before the challenge. */
  login(name: string, endpoint: string, resume?: string): string {
    return `login,${name},${endpoint},${PEERCHAT_FLAVOR}${resume ? `,${resume}` : ""}`;
  }

  /** The text of the login that answers `challenge`; from now on the link is this login's. */
  prove(name: string, endpoint: Endpoint, challenge: ChallengeMessage, resume?: string): string {
    const keys = deriveLinkKeys(this.identity.dh.privateKey, challenge.key, challenge.nonce, name);
    if (!keys) throw new Error("The challenge's key is not usable.");
    this.link = new LinkAuth({ send: keys.toCoordinator, receive: keys.toPeer });
    const fields = {
      name,
      endpoint,
      resume,
      signKey: this.signKey,
      dhKey: this.dhKey,
      nonce: challenge.nonce,
    };
    const signature = signLogin(
      this.identity.sign.privateKey,
      loginProofText(fields, challenge.key),
    );
    return formatMessage({
      type: "login",
      name,
      endpoint,
      flavor: PEERCHAT_FLAVOR,
      resume,
      proof: { signKey: this.signKey, dhKey: this.dhKey, nonce: challenge.nonce, signature },
    });
  }

  /** `text` sealed with the link (as the peer sends `ping`, `lookup`, `logout`). */
  seal(text: string): Uint8Array<ArrayBuffer> {
    if (!this.link) throw new Error("No proven login yet.");
    return this.link.seal(new TextEncoder().encode(text));
  }

  /**
   * What a received datagram's text says: the message inside a sealed one that verifies; a sealed
   * one that does not is kept in {@linkcode unverified} and shown as `unverified:TEXT`.
   */
  open(text: string): string {
    if (!text.startsWith("auth,")) return text;
    const parsed = parseMessage(text);
    if (parsed.ok && parsed.value.type === "auth" && this.link?.open(parsed.value) === "ok") {
      return parsed.value.inner;
    }
    this.unverified.push(text);
    return `unverified:${text}`;
  }
}

/** The fields of an `Accept`: the list port, the ticket and the session. */
export interface RawAccept {
  /** The TCP port of the online list. */
  port: number;
  /** The one-time ticket for the extended list. */
  ticket: string;
  /** The session. */
  session: string;
  /** The whole `Accept` (with the reflexive endpoint, NAT port and relay after the session). */
  text: string;
}

/**
 * Logs `raw` in to `server` as the peerchat/2 peer `name` with `keys`: login, challenge, proof,
 * `Accept`. From then on `raw` opens what the coordinator seals. Throws with the `Reject`'s text
 * when refused. `endpoint` is what the login names (default: the socket's own address).
 */
export async function loginRaw(
  raw: RawUdp,
  name: string,
  server: Endpoint,
  keys: PeerKeys = new PeerKeys(),
  options: { resume?: string; endpoint?: Endpoint } = {},
): Promise<RawAccept> {
  raw.unseal = (text) => keys.open(text);
  const endpoint = options.endpoint ?? raw.endpoint;
  const where = `${endpoint.host}:${endpoint.port}`;
  await raw.send(keys.login(name, where, options.resume), server);
  const first = await raw.next((t) => t.startsWith("challenge,") || t.startsWith("Reject,"));
  if (first.text.startsWith("Reject,")) throw new Error(first.text);
  const challenge = parseMessage(first.text);
  if (!challenge.ok || challenge.value.type !== "challenge") throw new Error(first.text);
  await raw.send(keys.prove(name, endpoint, challenge.value, options.resume), server);
  const answer = await raw.next((t) => t.startsWith("Accept,") || t.startsWith("Reject,"));
  if (answer.text.startsWith("Reject,")) throw new Error(answer.text);
  const [, port, ticket, session] = answer.text.split(",");
  return { port: Number(port), ticket, session, text: answer.text };
}

/**
 * {@linkcode loginRaw} over a bare socket that nothing else reads from (it waits on it until the
 * coordinator answers): login, challenge, proof, `Accept`.
 */
export async function loginConn(
  conn: Deno.DatagramConn,
  name: string,
  server: Endpoint,
  keys: PeerKeys = new PeerKeys(),
): Promise<RawAccept> {
  const { hostname, port } = conn.addr as Deno.NetAddr;
  const endpoint = { host: hostname, port };
  const to = { transport: "udp" as const, hostname: server.host, port: server.port };
  const next = async (prefix: string): Promise<string> => {
    for (;;) {
      const text = keys.open(new TextDecoder().decode((await conn.receive())[0]));
      if (text.startsWith(prefix) || text.startsWith("Reject,")) return text;
    }
  };
  await conn.send(new TextEncoder().encode(keys.login(name, `${hostname}:${port}`)), to);
  const first = await next("challenge,");
  const challenge = parseMessage(first);
  if (!challenge.ok || challenge.value.type !== "challenge") throw new Error(first);
  await conn.send(new TextEncoder().encode(keys.prove(name, endpoint, challenge.value)), to);
  const answer = await next("Accept,");
  if (!answer.startsWith("Accept,")) throw new Error(answer);
  const [, listPort, ticket, session] = answer.split(",");
  return { port: Number(listPort), ticket, session, text: answer };
}
