/**
 * What people read about how their messages travel, the same in line mode, on the chat screen and
 * in `/who`: each contact's path (`LAN`, `direct`, `relayed`) and the kind of NAT this peer is
 * behind — the `path` and `nat` events in words.
 *
 * Names and addresses come from the network: each is shown {@linkcode visible}. Plain text, no
 * colour: the caller styles it.
 *
 * @example
 * ```ts
 * import { natText, pathText } from "./path_text.ts";
 *
 * pathText({ name: "bob", path: "direct", endpoint: "203.0.113.12:40001" });
 * // "bob: direct (203.0.113.12:40001)"
 * natText({ nat: "easy", public: "203.0.113.11:40001" });
 * // "NAT: easy, public address 203.0.113.11:40001 — hole punching works: …"
 * ```
 *
 * @module
 */

import type { NatType } from "../core/nat_type.ts";
import type { PathKind } from "../core/paths.ts";
import { visible } from "./visible.ts";

export type { NatType, PathKind };

/** How each path is named in the roster and in `/who`. */
export const PATH_LABEL: Readonly<Record<PathKind, string>> = {
  lan: "LAN",
  direct: "direct",
  relayed: "relayed",
};

/** A contact's path changed (the `path` event): `bob: direct (203.0.113.12:40001)`. */
export function pathText(event: { name: string; path: PathKind; endpoint?: string }): string {
  const name = visible(event.name);
  const where = event.endpoint === undefined ? "" : ` (${visible(event.endpoint)})`;
  switch (event.path) {
    case "lan":
      return `${name}: direct on the LAN${where}`;
    case "direct":
      return `${name}: direct${where}`;
    case "relayed":
      return `${name}: relayed — through the coordinator, end-to-end encrypted`;
  }
}

/** What each kind of NAT means for this user, in a few words. */
const NAT_MEANING: Readonly<Record<NatType, string>> = {
  open: "no NAT: others reach you at your own address",
  easy: "hole punching works: direct paths to most contacts",
  hard: "a new public port per destination: contacts behind NATs are reached through the " +
    "relay, unless their router forwards a port",
  unknown: "not measured (the coordinator has no second UDP port, or it did not answer)",
};

/** The NAT this peer is behind was measured (the `nat` event): kind, public address, meaning. */
export function natText(event: { nat: NatType; public?: string }): string {
  const where = event.public === undefined ? "" : `, public address ${visible(event.public)}`;
  return `NAT: ${event.nat}${where} — ${NAT_MEANING[event.nat]}`;
}

/** The short form for the status line: `NAT: easy, public 203.0.113.11:40001`. */
export function natHint(event: { nat: NatType; public?: string }): string {
  return `NAT: ${event.nat}${
    event.public === undefined ? "" : `, public ${visible(event.public)}`
  }`;
}
