/**
 * One login of a peer, on the wire: the `login` sent until the coordinator answers (retried on
 * core/coordinator_link.ts's schedule, up to a deadline), its `challenge` answered with the login
 * that proves the peer's keys (core/login_proof.ts), and the answer judged — a sealed `Accept`, or
 * a `LoginError` that says what went wrong and what to do.
 *
 * @module
 */

import {
  type AcceptMessage,
  type ChallengeMessage,
  encodeMessage,
  type Endpoint,
  formatEndpoint,
  type LoginMessage,
  type Message,
  PEERCHAT_FLAVOR,
} from "../protocol.ts";
import type { CoordinatorLink } from "../core/coordinator_link.ts";
import type { LoginProof } from "../core/login_proof.ts";
import { monotonic } from "./clock.ts";
import { LoginError } from "./roster_fetch.ts";
import { after } from "./timers.ts";
import type { UdpSocket } from "./udp.ts";

/** What {@linkcode exchangeLogin} needs. */
export interface LoginExchange {
  /** The peer's socket. */
  udp: UdpSocket;
  /** The coordinator's login address. */
  coordinator: Endpoint;
  /** The login, without a proof. */
  login: LoginMessage;
  /** The peer's proofs (reset for this login). */
  proof: LoginProof;
  /** The link's decisions (how long to wait between tries). */
  link: CoordinatorLink;
  /** The first login (quick retries) or a re-login. */
  initial: boolean;
  /** Give up at this monotonic time (ms). */
  deadline: number;
  /** Whether the peer is closing. */
  closed(): boolean;
  /** Hands the coordinator's answers (and whether they came sealed) to `handler` while it waits. */
  wait(handler: ((message: Message, sealed: boolean) => void) | undefined): void;
}

interface Answer {
  message?: Message;
  sealed?: boolean;
  error?: LoginError;
}

/**
 * Logs in once: resolves with the coordinator's sealed `Accept`, or `undefined` when the peer
 * closed during a re-login; throws a {@linkcode LoginError} for a refusal, a changed coordinator
 * key, an old coordinator (a plain `Accept`: it asked for no proof), or no answer by the deadline.
 */
export async function exchangeLogin(x: LoginExchange): Promise<AcceptMessage | undefined> {
  const got = await new Promise<Answer | undefined>((resolve) => {
    // The login, then — once a challenge came — the login that proves this peer's keys.
    let datagram = encodeMessage(x.login);
    let attempt = 0;
    // Web timers (timers.ts): the first Node timer would cost the start-up ≈ 8 ms.
    let cancelRetry: (() => void) | undefined;
    const finish = (answer: Answer | undefined) => {
      cancelRetry?.();
      x.wait(undefined);
      resolve(answer);
    };
    const tryOnce = () => {
      if (x.closed() || monotonic() >= x.deadline) return finish(undefined);
      x.udp.send(datagram, x.coordinator);
      const wait = x.link.loginWait(attempt++, x.initial);
      cancelRetry = after(Math.min(wait, Math.max(1, x.deadline - monotonic())), tryOnce);
    };
    x.wait((message, sealed) => {
      if (message.type !== "challenge") return finish({ message, sealed });
      const step = x.proof.answer(message, x.login);
      if (step.kind === "changed") return finish({ error: keyChanged(x.coordinator, message) });
      if (step.kind === "ignored") return;
      datagram = encodeMessage(step.login);
      x.udp.send(datagram, x.coordinator);
    });
    tryOnce();
  });
  const where = formatEndpoint(x.coordinator);
  if (!got) {
    if (!x.initial) return undefined;
    throw new LoginError(
      "timeout",
      `The coordinator at ${where} did not answer. Check that it is running and that UDP port ${x.coordinator.port} is not blocked.`,
    );
  }
  if (got.error) throw got.error;
  const answer = got.message!;
  if (answer.type === "reject") {
    throw new LoginError("rejected", `The coordinator refused the login: ${answer.reason}`);
  }
  if (answer.type !== "accept") throw new LoginError("list", "Unexpected answer to login.");
  if (!got.sealed) {
    throw new LoginError(
      "rejected",
      `The coordinator at ${where} accepted the login without asking this peer to prove its ` +
        `identity: it runs an older peerchat. Update the coordinator to ${PEERCHAT_FLAVOR}.`,
    );
  }
  return answer;
}

/** The error of a login whose challenge carries another key than the one pinned. */
function keyChanged(coordinator: Endpoint, challenge: ChallengeMessage): LoginError {
  return new LoginError(
    "coordinator-key",
    `The coordinator at ${formatEndpoint(coordinator)} has another key than the one pinned ` +
      `when this peer first used it (now ${challenge.key}). If the coordinator was reinstalled ` +
      "or lost its data, accept its new key with --trust-coordinator; otherwise someone may be " +
      "posing as it.",
  );
}
