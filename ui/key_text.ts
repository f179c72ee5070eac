/**
 * What people read about keys, the same in line mode, on the chat screen and
 * in the `text` of `--json`: the key-change and impostor warnings, `/who`'s
 * key marks, and the answers to `/fingerprint`, `/verify` and `/trust`.
 *
 * Names and addresses may have come from the network: each is shown
 * {@linkcode visible}. Plain text, no colour: the caller styles it.
 *
 * @module
 */

import type { KeyState, KeyStatus, SafetyNumberView } from "../core/trust.ts";
import { visible } from "./visible.ts";
import { PATH_LABEL, type PathKind } from "./path_text.ts";

/** How a user's key shows in `/who` and the roster. */
export type KeyMark = KeyState | "seed" | "unknown";

/** The mark of a user: a seed client (no key, not encrypted), or the state of the pinned key. */
export function keyMark(seed: boolean, status: KeyStatus | undefined): KeyMark {
  if (seed) return "seed";
  return status?.state ?? "unknown";
}

/** The words of each mark. */
export const KEY_MARK_TEXT: Readonly<Record<KeyMark, string>> = {
  verified: "verified ✓",
  unverified: "unverified",
  changed: "⚠ KEY CHANGED",
  seed: "seed client, not encrypted",
  unknown: "no key yet",
};

/** One user in `/who`: name, address, fingerprint and mark, and the path once known (` · direct`). */
export function whoEntry(
  user: { name: string; endpoint: string; seed: boolean; path?: PathKind },
  status: KeyStatus | undefined,
): string {
  const path = user.path === undefined ? "" : ` · ${PATH_LABEL[user.path]}`;
  return whoKey(user, status) + path;
}

/** `/who`'s entry without the path. */
function whoKey(user: { name: string; endpoint: string; seed: boolean }, status?: KeyStatus) {
  const head = `${visible(user.name)} ${visible(user.endpoint)}`;
  const mark = keyMark(user.seed, status);
  if (status === undefined || user.seed) return `${head} (${KEY_MARK_TEXT[mark]})`;
  const changed = status.newFingerprint === undefined
    ? ""
    : ` to ${status.newFingerprint}: /verify ${visible(status.name)}, then /trust ${
      visible(status.name)
    }`;
  return `${head} key ${status.fingerprint} (${KEY_MARK_TEXT[mark]}${changed})`;
}

/** `/fingerprint`: this user's own key. */
export function ownFingerprintText(fingerprint: string): string {
  return `Your key fingerprint: ${fingerprint}. Others see it beside your name; ` +
    "/verify NAME compares keys for certain.";
}

/** `/fingerprint NAME`: a contact's key. */
export function fingerprintText(status: KeyStatus): string {
  return `${whoName(status)}'s key fingerprint: ${status.fingerprint} (${
    KEY_MARK_TEXT[status.state]
  }${
    status.newFingerprint ? `; the new key waiting for /trust is ${status.newFingerprint}` : ""
  }).`;
}

function whoName(status: { name: string }): string {
  return visible(status.name);
}

/**
 * `/verify NAME`: the safety number in two rows of six groups, both fingerprints, and what to
 * do: read the digits aloud, then `/verify NAME yes` (or, for a changed key, `/trust NAME`).
 */
export function safetyNumberText(view: SafetyNumberView): string {
  const name = whoName(view);
  const groups = view.safetyNumber.split(" ");
  const rows = [groups.slice(0, 6).join(" "), groups.slice(6).join(" ")];
  const lines = [
    `Safety number with ${name}${view.changed ? " (for the NEW key, not accepted yet)" : ""}:`,
    `    ${rows[0]}`,
    `    ${rows[1]}`,
    `Your fingerprint ${view.mine}, ${name}'s ${view.theirs}.`,
  ];
  if (view.changed) {
    lines.push(
      `Read the 60 digits aloud with ${name}, in person or by phone (not in this chat). If they ` +
        `match on both screens, type /trust ${name} to accept the new key, then ` +
        `/verify ${name} yes. If they do not match, someone may be impersonating ${name}: do not.`,
    );
  } else if (view.verified) {
    lines.push(`${name}'s key is verified already ✓.`);
  } else {
    lines.push(
      `Read the 60 digits aloud with ${name}, in person or by phone (not in this chat). If they ` +
        `match on both screens, type /verify ${name} yes.`,
    );
  }
  return lines.join("\n");
}

/** A sender's key, introduced at their first message of the session. */
export function introducedText(status: KeyStatus): string {
  const name = whoName(status);
  const how = status.state === "verified"
    ? "verified ✓"
    : status.state === "changed"
    ? "⚠ a new key waits for /trust"
    : `unverified: /verify ${name} compares it`;
  return `${name}'s key ${status.fingerprint} (${how}).`;
}

/** `/verify NAME yes`: done. */
export function verifiedText(status: KeyStatus): string {
  return `${whoName(status)}'s key ${status.fingerprint} is verified ✓. ` +
    "If it ever changes, peerchat warns you.";
}

/** `/trust NAME`: the new key is accepted. */
export function trustedText(status: KeyStatus): string {
  const name = whoName(status);
  return `You accepted ${name}'s new key ${status.fingerprint}: messages to and from ${name} ` +
    `go through again, those waiting included. It is not verified: /verify ${name} compares it.`;
}

/** A pinned name's key changed (the `key-changed` event). */
export function keyChangedText(change: { name: string; old: string; new: string }): string {
  const name = visible(change.name);
  return `⚠ The key of ${name} changed (${visible(change.old)} → ${visible(change.new)}). ` +
    `Nothing goes to ${name} or is shown from ${name} until you accept it: check it with ` +
    `/verify ${name} (compare the number with ${name} in person), then type /trust ${name}.`;
}

/** A datagram claimed a key holder's name without the key (the `impostor` event). */
export function impostorText(impostor: { name: string; from: string }): string {
  const name = visible(impostor.name);
  return `⚠ Dropped a message from ${visible(impostor.from)} that claimed to be ${name} ` +
    `without ${name}'s key: someone may be impersonating ${name}.`;
}

/** The first run in a data directory made a new identity. */
export function createdIdentityText(fingerprint: string, path: string): string {
  return `Created your identity (key fingerprint ${fingerprint}) in ${visible(path)}. ` +
    "Your name is bound to it: to chat from another machine, take it along " +
    "(peerchat identity export FILE here, peerchat identity import FILE there).";
}
