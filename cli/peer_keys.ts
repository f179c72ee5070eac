/**
 * A peer's keys at start-up, from its data directory: the identity (created
 * on the first run, which is said once, with its fingerprint) and the pins
 * (the peer makes the one Trust over them, and reports key changes itself).
 *
 * @module
 */

import type { Identity } from "../crypto/identity.ts";
import { fingerprint as keyFingerprint } from "../crypto/fingerprint.ts";
import { loadOrCreateIdentity } from "../store/identity_file.ts";
import { PinFile } from "../store/pins.ts";
import { createdIdentityText } from "../ui/key_text.ts";
import type { Sink } from "../ui/sink.ts";
import { encodeKey } from "../wire/keys.ts";

/** What {@linkcode openPeerKeys} opened. Close `pins` when the peer stops. */
export interface PeerKeys {
  /** This user's identity. */
  identity: Identity;
  /** The pins file (close it last: it writes what waits); the peer makes the Trust over it. */
  pins: PinFile;
}

/**
 * Loads (or on the first run creates) the identity in data directory `dir` and opens the pins
 * there . A new identity is announced on `sink` as an `identity` info with its
 * fingerprint and file; the first failure to save the pins is an `error` event.
 *
 * @throws {Error} with what to do when the identity or the pins file is damaged or unwritable.
 */
export function openPeerKeys(dir: string, sink: Sink): PeerKeys {
  const loaded = loadOrCreateIdentity(dir);
  let reported = false;
  const pins = PinFile.open(dir, {
    onError(error) {
      if (reported) return;
      reported = true;
      sink.event({ event: "error", message: error.message });
    },
  });
  if (loaded.created) {
    const fingerprint = keyFingerprint(encodeKey(loaded.identity.dh.publicKey));
    sink.info("identity", createdIdentityText(fingerprint, loaded.path), {
      fingerprint,
      path: loaded.path,
      created: true,
    });
  }
  return { identity: loaded.identity, pins };
}
