/**
 * The peer's keep-alives: a `ping` with the roster digest every interval,
 * the coordinator reported unreachable after a silence, and what each `pong`
 * asks for — a second look soon, the whole list again, or a new login. The
 * decisions are core/coordinator_link.ts's; this carries them out.
 *
 * @module
 */

import type { Endpoint, Message, PongStatus } from "../protocol.ts";
import { type CoordinatorLink, STALE_RECHECK_MS } from "../core/coordinator_link.ts";
import type { PeerRoster } from "../core/peer_roster.ts";
import type { PeerEvent } from "../core/peer_events.ts";
import { monotonic } from "./clock.ts";
import { fetchOnlineList } from "./roster_fetch.ts";
import type { TraceSink } from "./udp.ts";

/** What a {@linkcode Keepalive} needs from the link it keeps alive. */
export interface KeepaliveHost {
  /** Whether keep-alives go out now (logged in, not closing, not logging in again). */
  active(): boolean;
  /** There is no session, or the coordinator forgot it: log in again. */
  relogin(): void;
  /** Tells the user. */
  emit(event: PeerEvent): void;
  /** Sends a message to the coordinator (sealed, once the login was proven). */
  send(message: Message): void;
  /** The coordinator stopped answering (false), or answers again (true). */
  reachable?(on: boolean): void;
}

/** Keep-alives to the coordinator, and what their answers ask for. */
export class Keepalive {
  readonly #options: { name: string; coordinator: Endpoint; trace?: TraceSink };
  readonly #link: CoordinatorLink;
  readonly #roster: PeerRoster;
  readonly #host: KeepaliveHost;
  #recheck?: ReturnType<typeof setTimeout>;
  #refresh?: Promise<void>;
  #closed = false;
  /** When the latest ping went out (a pong answers the latest: pings are never retried). */
  #pingAt?: number;
  /** The smoothed round trip to the coordinator (ms), once a pong came. */
  #rtt?: number;

  /** Keep-alives for the peer `options.name`, sent through `host`, keeping `roster` whole. */
  constructor(
    options: { name: string; coordinator: Endpoint; trace?: TraceSink },
    link: CoordinatorLink,
    roster: PeerRoster,
    host: KeepaliveHost,
  ) {
    this.#options = options;
    this.#link = link;
    this.#roster = roster;
    this.#host = host;
  }

  /** A keep-alive tick: ping, or log in again, and notice an unreachable coordinator. */
  tick(): void {
    if (this.#closed || !this.#host.active()) return;
    const decision = this.#link.keepalive(monotonic());
    if (decision.unreachable) {
      this.#host.reachable?.(false);
      this.#host.emit({
        event: "status",
        coordinator: "unreachable",
        message:
          "The coordinator does not answer; chat with people already online still works. Retrying…",
      });
    }
    if (decision.action === "relogin") this.#host.relogin();
    else this.#ping();
  }

  /** Stops the second look and waits for a list fetch under way. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#recheck);
    await this.#refresh;
  }

  #ping(): void {
    const session = this.#link.session;
    if (!session || this.#closed || !this.#host.active()) return;
    this.#pingAt = monotonic();
    this.#host.send({
      type: "ping",
      name: this.#options.name,
      session,
      digest: this.#roster.digest(),
      rtt: this.#rtt === undefined ? undefined : Math.min(Math.round(this.#rtt), 60_000),
    });
  }

  /** A `pong` from the coordinator. */
  onPong(status: PongStatus, ticket: string | undefined): void {
    if (this.#pingAt !== undefined) {
      const sample = monotonic() - this.#pingAt;
      this.#rtt = this.#rtt === undefined ? sample : this.#rtt * 0.875 + sample * 0.125;
      this.#pingAt = undefined;
    }
    const decision = this.#link.pong(
      status,
      ticket !== undefined,
      monotonic(),
      this.#refresh !== undefined,
      this.#recheck !== undefined,
    );
    if (decision.reconnected) this.reconnected();
    switch (decision.action) {
      case "refresh":
        this.#refresh = this.#refreshList(ticket!).finally(() => this.#refresh = undefined);
        return;
      case "recheck":
        this.#recheck = setTimeout(() => {
          this.#recheck = undefined;
          this.#ping();
        }, STALE_RECHECK_MS);
        return;
      case "relogin":
        this.#host.relogin();
        return;
    }
  }

  /** The coordinator answers again: tell the user. */
  reconnected(): void {
    this.#host.reachable?.(true);
    this.#host.emit({
      event: "status",
      coordinator: "connected",
      message: "Connected to the coordinator again.",
    });
  }

  /** The roster digest differs from the coordinator's: fetch the whole list again. */
  async #refreshList(ticket: string): Promise<void> {
    const port = this.#link.listPort;
    if (!port) return;
    this.#roster.holdNotices();
    try {
      const list = await fetchOnlineList(this.#options, port, ticket);
      this.#roster.applyList(list, true);
    } catch {
      // Nothing to tell the user: the next keep-alive finds the roster still stale and retries.
      this.#roster.stopHolding();
    }
  }
}
