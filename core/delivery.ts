/**
 * Reliable, ordered, exactly-once delivery between peerchat peers over UDP.
 *
 * Each sender keeps one *stream* per recipient. A message becomes one or
 * more consecutive *packets* (`msg` datagrams, numbered 1, 2, 3, … within
 * the stream). The receiver acknowledges cumulatively (`CUM`: every packet up
 * to here) and selectively (`SACK` ranges above it); it hands messages on
 * strictly in order, once each, and only after its `deliver` hook returned —
 * which is where the peer writes the message to disk. The sender retransmits
 * with an adaptive timeout (RFC 6298 style, with backoff), keeps at most
 * {@linkcode WINDOW} packets in flight, and never gives up on its own.
 *
 * Nothing here touches a socket or a clock directly: the peer passes a
 * monotonic time in and sends what comes out, so the algorithm is tested
 * deterministically (delivery_test.ts). The halves live in
 * {@link ./sender.ts} and {@link ./receiver.ts}, the shared message shape in
 * {@link ./message.ts}; this module gathers them.
 *
 * @module
 */

export {
  type IncomingMessage,
  type MessageFields,
  messageId,
  type OutgoingMessage,
  splitBody,
} from "./message.ts";
export {
  ALIVE_MS,
  INITIAL_RTO_MS,
  MAX_RTO_ALIVE_MS,
  MAX_RTO_MS,
  MIN_RTO_MS,
  type RoundTrip,
  SACKED_RESEND_MS,
  Sender,
  type SenderHooks,
  WINDOW,
} from "./sender.ts";
export {
  DEFAULT_RECEIVER_LIMITS,
  RECEIVE_BUFFER,
  Receiver,
  type ReceiverHooks,
  type ReceiverLimits,
} from "./receiver.ts";
