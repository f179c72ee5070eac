/**
 * A peer's keys at start-up, from its data directory: the identity (created
 * on the first run, which is said once, with its fingerprint) and the pins
 * with the one {@linkcode Trust} over them, whose key changes go to the sink
 * as `key-changed` events.
 *
 * @module
 */

import type { Identity } from "../crypto/identity.ts";
import type { Trust } from "../core/trust.ts";
import { loadOrCreateIdentity } from "../store/identity_file.ts";
import { PinFile } from "../store/pins.ts";
import { createdIdentityText } from "../ui/key_text.ts";
import type { Sink } from "../ui/sink.ts";
import { encodeKey } from "../wire/keys.ts";

/** What {@linkcode openPeerKeys} opened. Close `pins` when the peer stops. */
export interface PeerKeys {
  /** This user's identity. */
  identity: Identity;
  /** The pins file (close it last: it writes what waits). */
  pins: PinFile;
  /** The trust decisions over the pins. */
  trust: Trust;
}

/**
 * Loads (or on the first run creates) the identity in data directory `dir` and opens the pins
 * there for user `name`. A new identity is announced on `sink` as an `identity` info with its
 * fingerprint and file; key changes become `key-changed` events; the first failure to save the
 * pins an `error` event.
 *
 * @throws {Error} with what to do when the identity or the pins file is damaged or unwritable.
 */
export function openPeerKeys(dir: string, name: string, sink: Sink): PeerKeys {
  const loaded = loadOrCreateIdentity(dir);
  let reported = false;
  const pins = PinFile.open(dir, {
    onError(error) {
      if (reported) return;
      reported = true;
      sink.event({ event: "error", message: error.message });
    },
  });
  const trust = pins.trust(
    { name, key: encodeKey(loaded.identity.dh.publicKey) },
    { keyChanged: (change) => sink.event({ event: "key-changed", ...change }) },
  );
  if (loaded.created) {
    const fingerprint = trust.fingerprint();
    sink.info("identity", createdIdentityText(fingerprint, loaded.path), {
      fingerprint,
      path: loaded.path,
      created: true,
    });
  }
  return { identity: loaded.identity, pins, trust };
}
