/**
 * Helpers for peerchat's own tests: raw sockets that speak the wire format
 * the way netcat would, and waiting with a deadline. Everything binds to
 * 127.0.0.1 and port 0.
 *
 * @module
 */

import { type Endpoint, formatEndpoint } from "./protocol.ts";
import { toEndpoint } from "./udp.ts";

/** A raw UDP socket on 127.0.0.1 that sends and receives text, like `nc -u`. */
export class RawUdp {
  readonly conn: Deno.DatagramConn;
  readonly #queue: { text: string; bytes: Uint8Array; from: Endpoint }[] = [];
  #waiter?: () => void;
  #loop: Promise<void>;
  #closed = false;

  constructor(port = 0) {
    this.conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port });
    this.#loop = this.#receive();
  }

  async #receive(): Promise<void> {
    while (!this.#closed) {
      try {
        const [bytes, addr] = await this.conn.receive();
        this.#queue.push({
          text: new TextDecoder().decode(bytes),
          bytes,
          from: toEndpoint(addr),
        });
        this.#waiter?.();
      } catch {
        if (this.#closed) return;
      }
    }
  }

  /** This socket's endpoint. */
  get endpoint(): Endpoint {
    return toEndpoint(this.conn.addr);
  }

  /** This socket's endpoint as `IP:PORT`. */
  get address(): string {
    return formatEndpoint(this.endpoint);
  }

  /** Sends text (UTF-8) or raw bytes. */
  async send(data: string | Uint8Array<ArrayBuffer>, to: Endpoint): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.conn.send(bytes, { transport: "udp", hostname: to.host, port: to.port });
  }

  /** The next datagram whose text matches `filter`, or an error after `timeoutMs`. */
  async next(
    filter: (text: string) => boolean = () => true,
    timeoutMs = 3000,
  ): Promise<{ text: string; bytes: Uint8Array; from: Endpoint }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#queue.findIndex((d) => filter(d.text));
      if (index >= 0) return this.#queue.splice(index, 1)[0];
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const seen = this.#queue.map((d) => d.text).join(" | ");
        throw new Error(`No matching datagram within ${timeoutMs} ms; queued: ${seen || "none"}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  /** Datagrams received and not yet taken by `next`. */
  get queued(): string[] {
    return this.#queue.map((d) => d.text);
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    this.#closed = true;
    this.conn.close();
    await this.#loop;
  }
}

/** Connects to 127.0.0.1:`port`, optionally writes `send`, and reads until the server closes. */
export async function tcpRead(port: number, send?: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    if (send) await conn.write(new TextEncoder().encode(send));
    const chunks: string[] = [];
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(decoder.decode(buffer.subarray(0, n), { stream: true }));
    }
    return chunks.join("") + decoder.decode();
  } finally {
    conn.close();
  }
}

/** Polls `condition` every 10 ms until it is true, or throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
