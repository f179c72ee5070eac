/**
 * The key commands as the chat answers them, the same in line mode, on the
 * chat screen and with `--json`: `/fingerprint [NAME]`, `/verify NAME`
 * (the safety number), `/verify NAME yes` (recorded as verified) and
 * `/trust NAME` (a changed key accepted), and the users of `/who` with their
 * keys. Each answer is one `info` on the sink (`fingerprint`, `verify`,
 * `verified`, `trusted`: a `--json` line with its data beside the text), a
 * refusal one `error` event.
 *
 * @module
 */

import type { Command } from "../ui/commands.ts";
import type { KeyCommands } from "../core/trust.ts";
import { nameKey } from "../protocol.ts";
import {
  fingerprintText,
  introducedText,
  keyMark,
  ownFingerprintText,
  safetyNumberText,
  trustedText,
  verifiedText,
  whoEntry,
} from "../ui/key_text.ts";
import type { Sink } from "../ui/sink.ts";
import type { PathKind } from "../ui/path_text.ts";

/** The commands answered here. */
export type KeyCommand = Extract<Command, { kind: "fingerprint" | "verify" | "trust" }>;

/** Answers one key command on `sink`. */
export function answerKeyCommand(command: KeyCommand, keys: KeyCommands, sink: Sink): void {
  switch (command.kind) {
    case "fingerprint": {
      if (command.name === undefined) {
        const fingerprint = keys.fingerprint();
        sink.info("fingerprint", ownFingerprintText(fingerprint), { fingerprint });
        return;
      }
      const status = keys.status(command.name);
      if (status === undefined) {
        sink.event({
          event: "error",
          message: `No key is known for ${command.name}: seed clients have none, and peerchat ` +
            `learns a peerchat user's key when they are online.`,
        });
        return;
      }
      sink.info("fingerprint", fingerprintText(status), { ...status });
      return;
    }
    case "verify": {
      if (!command.confirm) {
        const answer = keys.safetyNumber(command.name);
        if (!answer.ok) return sink.event({ event: "error", message: answer.message });
        sink.info("verify", safetyNumberText(answer.value), { ...answer.value });
        return;
      }
      const answer = keys.verify(command.name);
      if (!answer.ok) return sink.event({ event: "error", message: answer.message });
      sink.info("verified", verifiedText(answer.value), { ...answer.value });
      return;
    }
    case "trust": {
      const answer = keys.trust(command.name);
      if (!answer.ok) return sink.event({ event: "error", message: answer.message });
      sink.info("trusted", trustedText(answer.value), { ...answer.value });
      return;
    }
  }
}

/** One user as `/who` lists them in `--json`. */
export interface WhoUser {
  /** The name. */
  name: string;
  /** `IP:PORT`. */
  endpoint: string;
  /** `seed` for netcat and the C# client (no key, not encrypted), else `peerchat`. */
  client: "seed" | "peerchat";
  /** The pinned key's fingerprint (peerchat users whose key is known). */
  fingerprint?: string;
  /** `verified`, `unverified`, `changed` (a new key waits for `/trust`), `seed`, or `unknown`. */
  key: string;
  /** The new key's fingerprint, while one waits. */
  newFingerprint?: string;
  /** How messages to this user travel, once known (peerchat users): `lan`, `direct`, `relayed`. */
  path?: PathKind;
}

/** `/who`: everyone online with their key and path, as a sink info (`who`). */
export function answerWho(
  online: { name: string; endpoint: string; seed: boolean; path?: PathKind }[],
  keys: KeyCommands,
  sink: Sink,
): void {
  const users: WhoUser[] = [];
  const entries: string[] = [];
  for (const user of online) {
    const status = user.seed ? undefined : keys.status(user.name);
    const one: WhoUser = {
      name: user.name,
      endpoint: user.endpoint,
      client: user.seed ? "seed" : "peerchat",
      key: keyMark(user.seed, status),
    };
    if (status !== undefined) one.fingerprint = status.fingerprint;
    if (status?.newFingerprint !== undefined) one.newFingerprint = status.newFingerprint;
    if (user.path !== undefined) one.path = user.path;
    users.push(one);
    entries.push(whoEntry(user, status));
  }
  const text = users.length === 0
    ? "Nobody else is online."
    : `Online (${users.length}):\n${entries.map((entry) => `  ${entry}`).join("\n")}`;
  sink.info("who", text, { users });
}

/** Senders introduced at most; then the set starts again (a sender is introduced again). */
const MAX_INTRODUCED = 10_000;

/**
 * `sink`, introducing each sender's key before their first (encrypted) message of the session:
 * an `introduce` info with its fingerprint and state (`name`, `fingerprint`, `state`), so a name
 * that first shows up in a message comes with its key, as in a join line.
 */
export function introducingSink(sink: Sink, keys: () => KeyCommands | undefined): Sink {
  const introduced = new Set<string>();
  return {
    paint: sink.paint,
    event(event) {
      if (event.event === "message" && event.encrypted !== false) {
        const id = nameKey(event.from);
        const status = introduced.has(id) ? undefined : keys()?.status(event.from);
        if (status !== undefined) {
          if (introduced.size >= MAX_INTRODUCED) introduced.clear();
          introduced.add(id);
          sink.info("introduce", introducedText(status), { ...status });
        }
      }
      sink.event(event);
    },
    info: (kind, text, data) => sink.info(kind, text, data),
  };
}
