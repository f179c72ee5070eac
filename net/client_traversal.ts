/**
 * The coordinator link's part in NAT traversal: what the `Accept` says (the relay, the NAT
 * port), the NAT measurement (net/nat_check.ts), `connect` questions, and the sealed `punch` and
 * `relay-busy` the coordinator sends — handed on to the peer's paths (net/peer_datagrams.ts).
 * Kept apart from net/coordinator_client.ts, which owns the login, the list and keep-alives.
 *
 * @module
 */

import type {
  AcceptMessage,
  Endpoint,
  Message,
  PunchMessage,
  RelayBusyMessage,
} from "../protocol.ts";
import type { NatType } from "../core/nat_type.ts";
import type { PeerEvent } from "../core/peer_events.ts";
import { monotonic } from "./clock.ts";
import { localEndpoints, NatCheck } from "./nat_check.ts";

/** What the coordinator tells of NAT traversal, for the peer's paths (net/peer_datagrams.ts). */
export interface TraversalHooks {
  /** A login was accepted: whether the coordinator relays, where it saw the login come from. */
  accepted(accept: AcceptMessage): void;
  /** Probe the named peer now (after the delay): it is told the same. */
  punch(message: PunchMessage): void;
  /** The relay refused a frame. */
  relayBusy(message: RelayBusyMessage): void;
  /** The coordinator stopped answering keep-alives (false: its relay is gone too), or answers. */
  reachable(on: boolean): void;
}

/** What a {@linkcode ClientTraversal} needs from the coordinator link. */
export interface TraversalLink {
  /** This peer's name. */
  name: string;
  /** The coordinator's login address. */
  coordinator: Endpoint;
  /** The socket's own address (for `open`). */
  local(): Endpoint;
  /** The session of the current login, while logged in and not logging in again. */
  session(): string | undefined;
  /** Sends `message` sealed, to `to` (default: the coordinator's login address). */
  send(message: Message, to?: Endpoint): void;
  /** Tells the user. */
  emit(event: PeerEvent): void;
}

/** NAT measurement, `connect`, and the coordinator's traversal messages. */
export class ClientTraversal {
  readonly #link: TraversalLink;
  readonly #hooks?: TraversalHooks;
  readonly #nat: NatCheck;

  /** Traversal over `link`; what the coordinator says goes to `hooks`. */
  constructor(link: TraversalLink, hooks?: TraversalHooks) {
    this.#link = link;
    this.#hooks = hooks;
    this.#nat = new NatCheck(
      (message, to) => link.send(message, to),
      link.emit,
      () => localEndpoints(link.local()),
    );
  }

  /** The kind of NAT this peer is behind, and its public address, as last measured. */
  get nat(): { nat: NatType; public?: Endpoint } {
    return this.#nat.result;
  }

  /** A login was accepted: tell the paths, and measure the NAT again. */
  accepted(accept: AcceptMessage): void {
    this.#hooks?.accepted(accept);
    const session = accept.session;
    if (session) this.#nat.start(this.#link.name, session, this.#link.coordinator, accept.natPort);
  }

  /** The coordinator stopped answering, or answers again: so does its relay. */
  reachable(on: boolean): void {
    this.#hooks?.reachable(on);
  }

  /** Asks the coordinator to have `who` and this peer probe each other now (`connect`). */
  connect(who: string): void {
    const session = this.#link.session();
    if (session) this.#link.send({ type: "connect", name: this.#link.name, session, who });
  }

  /** A keep-alive tick: the NAT measurement's next step. */
  tick(): void {
    if (this.#link.session()) this.#nat.tick(monotonic());
  }

  /** A sealed message from `from`: taken (true) when it is one of traversal's. */
  onSealed(message: Message, from: Endpoint): boolean {
    switch (message.type) {
      case "natpong":
        this.#nat.onPong(message, from);
        return true;
      case "punch":
        this.#hooks?.punch(message);
        return true;
      case "relay-busy":
        this.#hooks?.relayBusy(message);
        return true;
      default:
        return false;
    }
  }
}
