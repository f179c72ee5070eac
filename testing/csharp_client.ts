/**
 * A faithful stand-in for the original C# client of the article this design
 * comes from, for tests. It is not a mock: it is a real peer that speaks that
 * client's protocol over real sockets on 127.0.0.1, byte for byte:
 *
 * - every datagram is UTF-16LE without a byte-order mark (.NET's `Encoding.Unicode`);
 * - `login,NAME,IP:PORT` goes out from a throw-away `UdpClient`, closed right
 *   after, and the `Accept,PORT` is awaited on the main `UdpClient` — the
 *   endpoint the login NAMED, not the one it was sent from;
 * - the online list is read over TCP as one .NET `BinaryWriter` string (a
 *   7-bit encoded length, then UTF-8 bytes); the client never writes on TCP;
 * - chat is `talk,TIME,NAME,TEXT` with .NET's `DateTime.Now.ToString()` time
 *   (`2026/11/21 14:05:09`), sent once, never acknowledged;
 * - `logout,NAME,IP:PORT` goes out from another throw-away `UdpClient`.
 *
 * @module
 */

import {
  decodeBinaryWriterString,
  encodeUtf16,
  type Endpoint,
  formatEndpoint,
  type ListEntry,
  MAX_LIST_BYTES,
  parseList,
} from "../protocol.ts";
import { RawUdp } from "./helpers.ts";
import { closeQuietly, concatBytes } from "../net/tcp.ts";
import { Deadline } from "../net/timers.ts";

/** One datagram the C# client received on its main socket. */
export interface CSharpDatagram {
  /** The bytes decoded as UTF-16LE, as `Encoding.Unicode.GetString` does. */
  text: string;
  /** The raw bytes, so tests can check they really were UTF-16LE. */
  bytes: Uint8Array;
  /** Who sent it. */
  from: Endpoint;
}

/** The coordinator answered the C# client's login with `Reject`. */
export class CSharpLoginRejected extends Error {
  /** The reason the coordinator gave. */
  readonly reason: string;
  /** The `Reject` datagram as received. */
  readonly datagram: CSharpDatagram;

  /** Creates the error from the `Reject` datagram. */
  constructor(datagram: CSharpDatagram) {
    const reason = datagram.text.slice("Reject,".length);
    super(`The coordinator rejected the C# client's login: ${reason}`);
    this.name = "CSharpLoginRejected";
    this.reason = reason;
    this.datagram = datagram;
  }
}

const utf16Decoder = new TextDecoder("utf-16le");

/** Sends one UTF-16LE datagram from a throw-away socket, as `new UdpClient().Send(...)` does. */
async function sendFromThrowAway(text: string, to: Endpoint): Promise<void> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await socket.send(encodeUtf16(text), { transport: "udp", hostname: to.host, port: to.port });
  } finally {
    socket.close();
  }
}

/** .NET's `DateTime.Now.ToString()` under a Chinese culture: `2026/11/21 14:05:09`. */
export function dotNetTime(date: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}/${two(date.getMonth() + 1)}/${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/**
 * The original C# client, logged in. Create one with
 * {@linkcode CSharpClient.login}; always {@linkcode CSharpClient.close} it.
 */
export class CSharpClient {
  /** The name it logged in with. */
  readonly name: string;
  /** The coordinator's UDP login address. */
  readonly coordinator: Endpoint;
  /** The main socket's endpoint: the one named in the login, where everything arrives. */
  readonly endpoint: Endpoint;
  /** The online list read at login. */
  list: ListEntry[] = [];
  /** The online list's text, as the `BinaryWriter` string carried it. */
  listText = "";
  /** The raw bytes read from the TCP list connection. */
  listBytes: Uint8Array = new Uint8Array();
  /** The main socket: a raw socket that reads what it receives as UTF-16LE. */
  readonly #main: RawUdp;

  private constructor(name: string, coordinator: Endpoint, main: RawUdp) {
    this.name = name;
    this.coordinator = coordinator;
    this.#main = main;
    this.endpoint = main.endpoint;
  }

  /**
   * Logs in as the C# client does: binds the main socket on 127.0.0.1, sends
   * the UTF-16LE login from a throw-away socket, waits for `Accept` on the
   * main socket, then reads the `BinaryWriter` list over TCP. Throws
   * {@linkcode CSharpLoginRejected} on `Reject`, and an error when nothing
   * answers within `timeoutMs`. The main socket is closed again on failure.
   */
  static async login(name: string, coordinator: Endpoint, timeoutMs = 3000): Promise<CSharpClient> {
    const client = new CSharpClient(name, coordinator, new RawUdp(0, utf16Decoder));
    try {
      await sendFromThrowAway(`login,${name},${formatEndpoint(client.endpoint)}`, coordinator);
      const answer = await client.next(
        (t) => t.startsWith("Accept,") || t.startsWith("Reject,"),
        timeoutMs,
      );
      if (answer.text.startsWith("Reject,")) throw new CSharpLoginRejected(answer);
      const port = Number(answer.text.split(",")[1]);
      await client.#readList({ host: coordinator.host, port }, timeoutMs);
      return client;
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /** Connects to the list port and reads one `BinaryWriter` string; never writes. */
  async #readList(at: Endpoint, timeoutMs: number): Promise<void> {
    const limit = new Deadline(timeoutMs);
    const conn = await Deno.connect({ hostname: at.host, port: at.port, signal: limit.signal });
    const cancelStall = limit.onExpiry(() => closeQuietly(conn));
    let bytes = new Uint8Array(0);
    try {
      const buffer = new Uint8Array(64 * 1024);
      for (;;) {
        const decoded = decodeBinaryWriterString(bytes);
        if (decoded) {
          this.listText = decoded.text;
          break;
        }
        const n = await conn.read(buffer);
        if (n === null) {
          throw new Error(
            `The list connection closed after ${bytes.length} bytes, before a whole BinaryWriter string arrived.`,
          );
        }
        if (bytes.length + n > MAX_LIST_BYTES) throw new Error("The online list is too large.");
        bytes = concatBytes([bytes, buffer.subarray(0, n)]);
      }
    } finally {
      cancelStall();
      closeQuietly(conn);
    }
    this.listBytes = bytes;
    const parsed = parseList(this.listText);
    if (!parsed.ok) throw new Error(`The online list did not parse: ${parsed.error.message}`);
    this.list = parsed.value;
  }

  /** The next datagram whose text matches `filter`, or an error after `timeoutMs`. */
  next(filter: (text: string) => boolean = () => true, timeoutMs = 3000): Promise<CSharpDatagram> {
    return this.#main.next(filter, timeoutMs);
  }

  /** Texts received and not yet taken by {@linkcode CSharpClient.next}. */
  get queued(): string[] {
    return this.#main.queued;
  }

  /** Sends `talk,TIME,NAME,TEXT` in UTF-16LE from the main socket, once. */
  async sendTalk(to: Endpoint, text: string, time: Date = new Date()): Promise<void> {
    const bytes = encodeUtf16(`talk,${dotNetTime(time)},${this.name},${text}`);
    await this.#main.send(bytes, to);
  }

  /** Sends `logout,NAME,IP:PORT` in UTF-16LE from a throw-away socket; nothing answers. */
  async logout(): Promise<void> {
    await sendFromThrowAway(
      `logout,${this.name},${formatEndpoint(this.endpoint)}`,
      this.coordinator,
    );
  }

  /** Closes the main socket. Safe to call twice. */
  async close(): Promise<void> {
    await this.#main.close();
  }
}
