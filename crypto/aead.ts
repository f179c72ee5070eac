/**
 * The AEAD of the peers' Noise sessions: ChaCha20-Poly1305 (RFC 8439), from
 * one of two implementations of the same standard that give the same bytes.
 * `node:crypto`'s is there from the start; libsodium's (WebAssembly) takes
 * over once {@linkcode useFastAead} has loaded it, at about a third of the
 * cost per call — most of `node:crypto`'s is building a Node stream object
 * around each call. Loading libsodium takes 60–85 ms, so a peer does it in
 * the background after it is ready (cli/run_peer.ts); until then, and
 * wherever it cannot load, `node:crypto` serves.
 *
 * @example
 * ```ts
 * import { aeadDecrypt, aeadEncrypt } from "./aead.ts";
 * const key = new Uint8Array(32), nonce = new Uint8Array(12), none = new Uint8Array(0);
 * const sealed = aeadEncrypt(key, nonce, none, new TextEncoder().encode("hi"));
 * console.assert(new TextDecoder().decode(aeadDecrypt(key, nonce, none, sealed)) === "hi");
 * ```
 *
 * @module
 */

import { loadSodium } from "../deps.ts";
import { chachaPolyDecrypt, chachaPolyEncrypt, TAG_BYTES } from "./primitives.ts";

type Sodium = Awaited<ReturnType<typeof loadSodium>>;

let sodium: Sodium | undefined;
let loading: Promise<boolean> | undefined;

/** ChaCha20-Poly1305 of `plaintext` under `key` and 12-byte `nonce`, the 16-byte tag appended. */
export function aeadEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  if (sodium === undefined) return chachaPolyEncrypt(key, nonce, ad, plaintext);
  return sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
    plaintext,
    ad.length > 0 ? ad : null,
    null,
    nonce,
    key,
  );
}

/** The plaintext of a ChaCha20-Poly1305 ciphertext, or `undefined` when its tag does not verify. */
export function aeadDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  if (sodium === undefined) return chachaPolyDecrypt(key, nonce, ad, ciphertext);
  if (ciphertext.length < TAG_BYTES) return undefined;
  try {
    return sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
      null,
      ciphertext,
      ad.length > 0 ? ad : null,
      nonce,
      key,
    );
  } catch {
    return undefined;
  }
}

/**
 * Loads libsodium and uses it from then on; resolves whether it is in use (false where it cannot
 * load: `node:crypto` goes on serving). Calling it again waits for the same load.
 */
export function useFastAead(): Promise<boolean> {
  return loading ??= loadSodium().then(
    (loaded) => {
      sodium = loaded;
      return true;
    },
    () => false,
  );
}

/** Which implementation serves now. */
export function aeadImplementation(): "libsodium" | "node:crypto" {
  return sodium === undefined ? "node:crypto" : "libsodium";
}
