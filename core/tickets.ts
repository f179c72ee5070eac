/**
 * What the coordinator expects on its TCP list port: one-time tickets for the extended list
 * (handed out in `Accept` and `pong,NAME,stale`), and list fetches from the C# client, which gets
 * the list as a .NET `BinaryWriter` string.
 *
 * Both are held per source IP address, and both are bounded per address and in total: a flood of
 * logins and pings from one address, or from many spoofed ones, cannot grow them without limit,
 * and one address cannot take every place. Beyond a limit the oldest entry goes.
 *
 * Pure: the caller passes a monotonic `now` in milliseconds; tokens come from the `newToken`
 * function given (random by default).
 *
 * @module
 */

import { randomToken } from "../protocol.ts";

/** How long a ticket or an expected C# list fetch stays good, in ms. */
export const TICKET_LIFETIME_MS = 30_000;
/** Most tickets outstanding at once. */
export const MAX_TICKETS = 100_000;
/**
 * Most tickets outstanding for one IP address. Large, because a class may run thousands of peers on
 * one machine (the join-storm benchmark logs in 5000 from 127.0.0.1 at once).
 */
export const MAX_TICKETS_PER_HOST = 16_384;
/** Most C# list fetches expected from one IP address. */
export const MAX_BINARY_FETCHES_PER_HOST = 16;
/** Most IP addresses a C# list fetch is expected from. */
export const MAX_BINARY_FETCH_HOSTS = 4096;

/** Limits of {@linkcode Tickets} (for tests; the defaults are the constants above). */
export interface TicketLimits {
  /** Most tickets in all. */
  total?: number;
  /** Most tickets for one address. */
  perHost?: number;
}

interface Ticket {
  readonly host: string;
  readonly expires: number;
}

/** One address's tickets: oldest first, and how many of those are still outstanding. */
interface HostTickets {
  readonly queue: TokenQueue;
  outstanding: number;
}

/** Outstanding one-time tickets for the extended online list. */
export class Tickets {
  /** Ticket → holder and expiry. */
  readonly #tickets = new Map<string, Ticket>();
  /** Every ticket in issue order (so also in expiry order). */
  readonly #order = new TokenQueue();
  /** Each address's tickets. */
  readonly #byHost = new Map<string, HostTickets>();
  readonly #newToken: () => string;
  readonly #total: number;
  readonly #perHost: number;
  readonly #outstanding = (ticket: string): boolean => this.#tickets.has(ticket);

  /** Tickets made by `newToken` (16 random bytes as hex by default). */
  constructor(newToken: () => string = () => randomToken(16), limits: TicketLimits = {}) {
    this.#newToken = newToken;
    this.#total = limits.total ?? MAX_TICKETS;
    this.#perHost = limits.perHost ?? MAX_TICKETS_PER_HOST;
  }

  /** Tickets outstanding (expired ones included until the next prune). */
  get size(): number {
    return this.#tickets.size;
  }

  /** Addresses holding at least one ticket. */
  get hosts(): number {
    return this.#byHost.size;
  }

  /**
   * Issues a ticket to `host`, good until `now` + {@linkcode TICKET_LIFETIME_MS}. Beyond the
   * per-address limit the address's oldest ticket goes; beyond the total, the oldest of all.
   */
  issue(host: string, now: number): string {
    this.prune(now);
    const held = this.#byHost.get(host);
    if (held && held.outstanding >= this.#perHost) {
      this.#drop(held.queue.oldest(this.#outstanding)!);
    }
    if (this.#tickets.size >= this.#total) this.#drop(this.#order.oldest(this.#outstanding)!);
    const ticket = this.#newToken();
    this.#tickets.set(ticket, { host, expires: now + TICKET_LIFETIME_MS });
    this.#order.push(ticket, this.#outstanding, this.#tickets.size);
    let mine = this.#byHost.get(host);
    if (!mine) this.#byHost.set(host, mine = { queue: new TokenQueue(), outstanding: 0 });
    mine.queue.push(ticket, this.#outstanding, ++mine.outstanding);
    return ticket;
  }

  /** Whether `host` holds an unexpired ticket. */
  holds(host: string, now: number): boolean {
    this.prune(now);
    return this.#byHost.has(host);
  }

  /** Takes `ticket` if `host` holds it and it has not expired; true when it was good. */
  redeem(ticket: string, host: string, now: number): boolean {
    const held = this.#tickets.get(ticket);
    if (!held || held.host !== host || held.expires < now) return false;
    this.#drop(ticket);
    return true;
  }

  /** Forgets expired tickets (they expire in issue order: from the front). */
  prune(now: number): void {
    for (;;) {
      const oldest = this.#order.oldest(this.#outstanding);
      if (oldest === undefined || this.#tickets.get(oldest)!.expires >= now) return;
      this.#drop(oldest);
    }
  }

  #drop(ticket: string): void {
    const held = this.#tickets.get(ticket);
    if (!held) return;
    this.#tickets.delete(ticket);
    const mine = this.#byHost.get(held.host)!;
    if (--mine.outstanding === 0) this.#byHost.delete(held.host);
  }
}

/**
 * Tokens in the order they were added, for finding the oldest one still wanted. Tokens no longer
 * wanted (redeemed, dropped) stay until they reach the front or the queue is compacted, which
 * happens when they outnumber the wanted ones: every operation is O(1) amortised. (A `Map` used
 * as a queue is not: deleting from its front leaves holes that every later look at the front
 * walks past, until the table is rebuilt.)
 */
class TokenQueue {
  #items: string[] = [];
  #head = 0;

  /** Adds `token`; compacts first when most entries are no longer `wanted` (`count` are). */
  push(token: string, wanted: (token: string) => boolean, count: number): void {
    if (this.#items.length - this.#head > 2 * count + 32) {
      this.#items = this.#items.slice(this.#head).filter(wanted);
      this.#head = 0;
    } else if (this.#head > 1024 && 2 * this.#head > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#items.push(token);
  }

  /** The oldest token still `wanted`, dropping older ones that are not; `undefined` if none. */
  oldest(wanted: (token: string) => boolean): string | undefined {
    while (this.#head < this.#items.length) {
      const token = this.#items[this.#head];
      if (wanted(token)) return token;
      this.#head++;
    }
    this.#items = [];
    this.#head = 0;
    return undefined;
  }
}

/**
 * List fetches expected from C# clients: after a UTF-16LE login is accepted, the next plain
 * connection from its address gets the list framed as a `BinaryWriter` string.
 */
export class BinaryFetches {
  /** Expiry times per address, oldest first; addresses in the order they were first expected. */
  readonly #expiries = new Map<string, number[]>();
  readonly #maxHosts: number;

  /** At most `maxHosts` addresses are remembered; beyond that the oldest is forgotten. */
  constructor(maxHosts: number = MAX_BINARY_FETCH_HOSTS) {
    this.#maxHosts = maxHosts;
  }

  /** Addresses a fetch is expected from. */
  get hosts(): number {
    return this.#expiries.size;
  }

  /** Expects one more fetch from `host` until `now` + {@linkcode TICKET_LIFETIME_MS}. */
  expect(host: string, now: number): void {
    let expiries = this.#expiries.get(host);
    if (!expiries) {
      if (this.#expiries.size >= this.#maxHosts) {
        this.#expiries.delete(this.#expiries.keys().next().value!);
      }
      expiries = [];
      this.#expiries.set(host, expiries);
    }
    if (expiries.length >= MAX_BINARY_FETCHES_PER_HOST) expiries.shift();
    expiries.push(now + TICKET_LIFETIME_MS);
  }

  /** Whether a fetch from `host` is expected now; if so, it is taken. */
  take(host: string, now: number): boolean {
    const expiries = this.#expiries.get(host);
    if (!expiries) return false;
    while (expiries.length > 0 && expiries[0] < now) expiries.shift();
    const taken = expiries.shift() !== undefined;
    if (expiries.length === 0) this.#expiries.delete(host);
    return taken;
  }

  /** Forgets expired expectations. */
  prune(now: number): void {
    for (const [host, expiries] of this.#expiries) {
      while (expiries.length > 0 && expiries[0] < now) expiries.shift();
      if (expiries.length === 0) this.#expiries.delete(host);
    }
  }
}
