/**
 * Asking over UDP and collecting the answers: the one broadcast-and-collect
 * routine. Discovery broadcasts a `discover` that any number of coordinators
 * answer; `peerchat doctor` asks one coordinator the same, and sends each
 * online peer a `probe`.
 *
 * A fresh socket sends every request at once, and once more a little later
 * (for lossy links) to those still unanswered. Each datagram that parses is
 * shown to the caller's {@linkcode CollectOptions.answer}, which keeps what it
 * is worth. It ends at the time limit, when every request is answered, or a
 * grace time after the first answer.
 *
 * @module
 */

import { type Endpoint, type Message, parseDatagram } from "../protocol.ts";
import { after, Deadline } from "./timers.ts";
import { type TraceSink, UdpSocket } from "./udp.ts";

/** One datagram to send: to one address, or to a broadcast address. */
export interface UdpRequest {
  /** Where it goes. */
  to: Endpoint;
  /** What it says (`discover,NONCE`, `probe,NONCE`). */
  bytes: Uint8Array<ArrayBuffer>;
}

/** What {@linkcode CollectOptions.answer} keeps of one datagram. */
export interface Answer<T> {
  /** The value collected. */
  value: T;
  /**
   * The request it answers: that one is not sent again, and the exchange ends
   * when every request is answered. Left out for an answer to a broadcast,
   * which others may answer too.
   */
  answers?: UdpRequest;
}

/** Options for {@linkcode collectAnswers}. */
export interface CollectOptions<T> {
  /** The address to send from (a fresh socket on a free port). */
  bindHost: string;
  /** The requests, each sent at once. */
  requests: readonly UdpRequest[];
  /** How long to wait for answers at most, in ms. */
  timeoutMs: number;
  /** When the unanswered requests go out again, in ms. Default: 400, at most a third of the time. */
  resendMs?: number;
  /** With it, the exchange ends this many ms after the first answer (more may come meanwhile). */
  graceMs?: number;
  /** Receives every datagram, for `--trace`. */
  trace?: TraceSink;
  /**
   * Looks at each datagram that parses and returns what to keep, or
   * `undefined` for one that answers nothing asked (a stale nonce, a stranger).
   */
  answer: (message: Message, from: Endpoint) => Answer<T> | undefined;
}

/**
 * Sends the requests and collects the answers, in the order they came. Never
 * throws for what the network does; throws only when the socket cannot be
 * bound (an address that is not this machine's).
 *
 * @example
 * ```ts ignore
 * const nonce = randomToken();
 * const request = { to: coordinator, bytes: encodeMessage({ type: "discover", nonce }) };
 * const [answer] = await collectAnswers({
 *   bindHost: "0.0.0.0",
 *   requests: [request],
 *   timeoutMs: 1500,
 *   answer: (message) =>
 *     message.type === "coordinator" && message.nonce === nonce
 *       ? { value: message, answers: request }
 *       : undefined,
 * });
 * ```
 */
export async function collectAnswers<T>(options: CollectOptions<T>): Promise<T[]> {
  const { requests, timeoutMs } = options;
  const collected: T[] = [];
  const waiting = new Set(requests);
  const { promise: finished, resolve: finish } = Promise.withResolvers<void>();
  const socket = UdpSocket.bind(options.bindHost, 0);
  socket.trace = options.trace;
  let endGrace: (() => void) | undefined;
  socket.listen((bytes, from) => {
    const parsed = parseDatagram(bytes);
    if (!parsed.ok) return;
    const kept = options.answer(parsed.value, from);
    if (!kept) return;
    collected.push(kept.value);
    if (kept.answers) waiting.delete(kept.answers);
    if (waiting.size === 0) finish();
    if (options.graceMs !== undefined) endGrace ??= after(options.graceMs, finish);
  });
  const send = () => waiting.forEach((request) => socket.send(request.bytes, request.to));
  const limit = new Deadline(timeoutMs);
  const cancelResend = after(options.resendMs ?? Math.min(400, timeoutMs / 3), send);
  try {
    if (waiting.size === 0) return collected;
    send();
    await limit.race(finished);
    return collected;
  } finally {
    cancelResend();
    endGrace?.();
    await socket.close();
  }
}
