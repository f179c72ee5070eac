/**
 * Throughput of the bulk-data stream (issue 12): STREAM sealing and opening (crypto/stream.ts)
 * and SHA-256 (`sha256Stream`) of 1 GiB held in memory, fed in 1 MiB pieces as socket reads
 * would come, for each AEAD candidate:
 *
 * - **chacha20-poly1305 (node:crypto)**: `StreamSealer`/`StreamOpener` as they are, age's cipher;
 * - **aes-256-gcm (node:crypto)**: the same classes with `cipher: "aes-256-gcm"`;
 * - **chacha20-poly1305 (libsodium)**: the same chunks and nonces through libsodium's WebAssembly
 *   build (`deps.ts` `loadSodium()`), the sessions' fast path for small messages.
 *
 * Per variant it times the sender's work (SHA-256 + seal), the receiver's (open + SHA-256), and
 * both in one thread; on loopback the two sides run in two processes, so the slower side bounds a
 * transfer. SHA-256 alone and a plain copy are the floors. Variants alternate over `--rounds`
 * rounds and the best round is kept (a shared 2-core machine is noisy). Not run in CI:
 *
 * ```sh
 * deno run -A bench/stream.ts [--mib 1024] [--rounds 3]
 * ```
 *
 * Measured here (2 shared cores, AMD EPYC, Deno 2.9.6; 1 GiB, best of 3): SHA-256 alone 0.65 s;
 * ChaCha20-Poly1305 through `node:crypto` 1.73 s for the sender (SHA-256 + seal) and 1.56–1.63 s
 * for the receiver (open + SHA-256); through libsodium 3.0–3.6 s a side; AES-256-GCM through
 * `node:crypto` 6.1–6.5 s a side (Deno's `node:crypto` does not use AES-NI here: AES-256-CTR alone
 * runs at about 300 MiB/s, WebCrypto's AES-GCM at about 200 MiB/s). So ChaCha20-Poly1305 through
 * `node:crypto`, age's own choice, is also the fastest.
 *
 * @module
 */

import { loadSodium } from "../deps.ts";
import { randomBytes, sha256Stream } from "../crypto/primitives.ts";
import {
  CHUNK_BYTES,
  ChunkFramer,
  type StreamCipher,
  StreamOpener,
  StreamSealer,
} from "../crypto/stream.ts";

const PIECE = 1024 * 1024;
const SOURCE = 64 * PIECE; // 64 MiB of random plaintext, fed again and again

type Sodium = Awaited<ReturnType<typeof loadSodium>>;

/** Seals/opens one stream's chunks; each variant implements both directions. */
interface Variant {
  name: string;
  seal(key: Uint8Array, pieces: Iterable<Uint8Array>, each: (chunk: Uint8Array) => void): void;
  open(key: Uint8Array, chunks: Uint8Array[], each: (plain: Uint8Array) => void): void;
}

function nodeVariant(cipher: StreamCipher): Variant {
  return {
    name: `${cipher} (node:crypto)`,
    seal(key, pieces, each) {
      const sealer = new StreamSealer(key, { cipher });
      for (const piece of pieces) for (const chunk of sealer.push(piece)) each(chunk);
      each(sealer.finish());
    },
    open(key, chunks, each) {
      const opener = new StreamOpener(key, { cipher });
      const framer = new ChunkFramer();
      for (const piece of chunks) for (const chunk of framer.push(piece)) each(opener.open(chunk));
      const rest = framer.end();
      if (rest !== undefined) each(opener.open(rest));
      opener.end();
    },
  };
}

/** The same STREAM chunks and nonces through libsodium, cut straight from the 1 MiB pieces. */
function sodiumVariant(sodium: Sodium): Variant {
  const nonce = (index: number, last: boolean) => {
    const bytes = new Uint8Array(12);
    new DataView(bytes.buffer).setUint32(7, index);
    bytes[11] = last ? 1 : 0;
    return bytes;
  };
  return {
    name: "chacha20-poly1305 (libsodium)",
    seal(key, pieces, each) {
      // The pieces are whole chunks but the last (1 MiB pieces): no holding back needed.
      const all = [...pieces];
      let index = 0;
      all.forEach((piece, p) => {
        for (let at = 0; at < piece.length || (at === 0 && piece.length === 0); at += CHUNK_BYTES) {
          const last = p === all.length - 1 && at + CHUNK_BYTES >= piece.length;
          const plain = piece.subarray(at, at + CHUNK_BYTES);
          each(sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
            plain,
            null,
            null,
            nonce(index++, last),
            key,
          ));
          if (piece.length === 0) break;
        }
      });
    },
    open(key, chunks, each) {
      chunks.forEach((chunk, index) => {
        const last = index === chunks.length - 1;
        each(sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
          null,
          chunk,
          null,
          nonce(index, last),
          key,
        ));
      });
    },
  };
}

function* pieces(source: Uint8Array, total: number): Generator<Uint8Array> {
  for (let at = 0; at < total; at += PIECE) {
    const offset = at % source.length;
    yield source.subarray(offset, offset + Math.min(PIECE, total - at));
  }
}

function time(work: () => void): number {
  const start = performance.now();
  work();
  return (performance.now() - start) / 1000;
}

interface Row {
  name: string;
  seconds: number;
}

/**
 * One round for a variant over `total` bytes, in slices of 64 MiB so that the sealed bytes of a
 * slice stay in memory (sealed once, then opened): sender time, receiver time, both.
 */
function round(variant: Variant, source: Uint8Array, total: number): Row[] {
  const key = randomBytes(32);
  let send = 0, receive = 0;
  for (let done = 0; done < total; done += SOURCE) {
    const size = Math.min(SOURCE, total - done);
    const sealed: Uint8Array[] = [];
    const hashOut = sha256Stream();
    send += time(() => {
      const input = [...pieces(source, size)];
      for (const piece of input) hashOut.update(piece);
      variant.seal(key, input, (chunk) => sealed.push(chunk));
    });
    const hashIn = sha256Stream();
    receive += time(() => variant.open(key, sealed, (plain) => hashIn.update(plain)));
    if (hashIn.digest().join() !== hashOut.digest().join()) throw new Error("hash mismatch");
  }
  return [
    { name: `${variant.name}: sender (SHA-256 + seal)`, seconds: send },
    { name: `${variant.name}: receiver (open + SHA-256)`, seconds: receive },
    { name: `${variant.name}: both in one thread`, seconds: send + receive },
  ];
}

function floors(source: Uint8Array, total: number): Row[] {
  const hash = sha256Stream();
  const sha = time(() => {
    for (const piece of pieces(source, total)) hash.update(piece);
  });
  const target = new Uint8Array(PIECE);
  const copy = time(() => {
    for (const piece of pieces(source, total)) target.set(piece);
  });
  return [{ name: "SHA-256 alone", seconds: sha }, {
    name: "memcpy (1 MiB pieces)",
    seconds: copy,
  }];
}

function flag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

if (import.meta.main) {
  const mib = flag("mib", 1024);
  const rounds = flag("rounds", 3);
  const total = mib * PIECE;
  const source = new Uint8Array(SOURCE);
  for (let at = 0; at < SOURCE; at += 65536) source.set(randomBytes(65536), at);
  const variants = [nodeVariant("chacha20-poly1305"), nodeVariant("aes-256-gcm")];
  try {
    variants.push(sodiumVariant(await loadSodium()));
  } catch (error) {
    console.error(`libsodium did not load (${error}); its rows are left out`);
  }
  const best = new Map<string, number>();
  const keep = (rows: Row[]) => {
    for (const row of rows) {
      best.set(row.name, Math.min(best.get(row.name) ?? Infinity, row.seconds));
    }
  };
  for (let r = 0; r < rounds; r++) {
    keep(floors(source, total));
    const order = [
      ...variants.slice(r % variants.length),
      ...variants.slice(0, r % variants.length),
    ];
    for (const variant of order) keep(round(variant, source, total));
  }
  console.log(`${mib} MiB, best of ${rounds} rounds (${navigator.hardwareConcurrency} cores)\n`);
  console.log(`| ${"what".padEnd(62)} |  seconds |    MiB/s |`);
  console.log(`| ${"-".repeat(62)} | -------: | -------: |`);
  for (const [name, seconds] of best) {
    const rate = (mib / seconds).toFixed(0).padStart(8);
    console.log(`| ${name.padEnd(62)} | ${seconds.toFixed(3).padStart(8)} | ${rate} |`);
  }
}
