/**
 * The queue of UDP sends that wait for a free place in {@linkcode UdpSocket}
 * (net/udp.ts): jobs in order, a fan-out to thousands as one job.
 *
 * @module
 */

import type { Endpoint } from "../protocol.ts";

/**
 * Datagrams waiting for a free place: every datagram of `datagrams` to every recipient, in
 * recipient order. A fan-out to thousands waits as one job, not as thousands of objects.
 */
export interface SendJob {
  /** The datagrams, sent to each recipient in turn. */
  datagrams: readonly Uint8Array<ArrayBuffer>[];
  /** Who gets them. */
  recipients: readonly Endpoint[];
  /** How many of its sends have started. */
  started: number;
  /** Makes each datagram into what goes to one recipient, as its send starts (a per-peer tag). */
  seal?: (bytes: Uint8Array<ArrayBuffer>, to: Endpoint) => Uint8Array<ArrayBuffer>;
}

/** A first-in first-out queue of send jobs. */
export class SendQueue {
  /** Jobs in order; those already done are `undefined` until the queue empties. */
  #jobs: (SendJob | undefined)[] = [];
  #head = 0;
  #waiting = 0;

  /** Sends not yet started. */
  get length(): number {
    return this.#waiting;
  }

  /** Jobs not yet done (the one under way included). */
  get jobs(): number {
    return this.#jobs.length - this.#head;
  }

  /** Adds a job at the end. */
  push(job: SendJob): void {
    this.#jobs.push(job);
    this.#waiting += job.datagrams.length * job.recipients.length - job.started;
  }

  /** Starts the next waiting send with `start`; false when nothing waits. */
  startNext(start: (bytes: Uint8Array<ArrayBuffer>, to: Endpoint) => void): boolean {
    if (this.#head === this.#jobs.length) return false;
    const job = this.#jobs[this.#head]!;
    const count = job.datagrams.length;
    const index = job.started++;
    this.#waiting--;
    if (job.started === count * job.recipients.length) {
      // Done: let go of its arrays now, not when the whole queue has drained.
      this.#jobs[this.#head] = undefined;
      if (++this.#head === this.#jobs.length) {
        this.#jobs = [];
        this.#head = 0;
      }
    }
    const bytes = job.datagrams[index % count];
    const to = job.recipients[Math.floor(index / count)];
    start(job.seal ? job.seal(bytes, to) : bytes, to);
    return true;
  }
}
