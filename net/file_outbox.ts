/**
 * The sender's side of `peer.files` (issue 12): makes offers (net/file_walk.ts walks what is
 * named, wire/files.ts encodes it, a manifest when it does not fit the message), serves them with
 * the {@linkcode FileSender}, hears the receiver's answers, and tells its user the same events as
 * the receiver's (progress from what the sender writes).
 *
 * @example
 * ```ts ignore
 * const outbox = new FileOutbox(hooks, sender);
 * await outbox.offer("bob", ["notes.txt"], sender.port);
 * ```
 *
 * @module
 */

import type { FileFailReason } from "../core/peer_events.ts";
import type { Answer, OfferResult } from "../core/transfers.ts";
import { randomBytes, sha256Hex } from "../crypto/primitives.ts";
import { type FileAnswer, formatAnswer } from "../wire/file_answers.ts";
import { encodeOffer, type FileOffer, OFFER_KIND, type OfferedFile } from "../wire/files.ts";
import { encodeBase64Url, encodeHex } from "../wire/keys.ts";
import type { FileSender } from "./file_sender.ts";
import type { SideHooks, TransferRecord } from "./file_types.ts";
import { type LocalFile, walkOffer } from "./file_walk.ts";
import { OFFER_EXPIRY_MS } from "./file_pull.ts";

/** An offer this peer serves. */
interface OutOffer {
  record: TransferRecord;
  files: LocalFile[];
  accepted: number[];
  /** The indices the file sender serves (the same set object it holds). */
  taken: Set<number>;
  /** The offer's token: what the transit relay pairs by. */
  token: string;
  hashes: Map<number, string>;
  pulledOnce: boolean;
  /** When the receiver last did something (monotonic ms): an offer is dropped after long silence. */
  activity: number;
  /** When the record was last written with the hashes (monotonic ms). */
  saved: number;
}

const REASONS = new Set([
  "declined",
  "cancelled",
  "expired",
  "hash",
  "changed",
  "missing",
  "space",
  "refused",
  "io",
  "offline",
  "unreachable",
]);

/** A `failed` answer's reason: `CODE: sentence`, its code read back (else `io`). */
export function failReason(text: string | undefined): FileFailReason {
  const code = text?.split(":", 1)[0] ?? "";
  return (REASONS.has(code) ? code : "io") as FileFailReason;
}

/** The sender's side; see the module doc. */
export class FileOutbox {
  #hooks: SideHooks;
  #sender: FileSender;
  #offers = new Map<string, OutOffer>();

  /** The sender's side over `hooks`, serving with `sender`. */
  constructor(hooks: SideHooks, sender: FileSender) {
    this.#hooks = hooks;
    this.#sender = sender;
  }

  /** Offers `paths` to `to`, pulled at TCP `port`. */
  async offer(to: string, paths: string[], port: number): Promise<OfferResult> {
    const { deps } = this.#hooks;
    const name = deps.knownName(to);
    if (!name) return { ok: false, message: `${to} is not online; /who lists who is.` };
    if (paths.length === 0) return { ok: false, message: "Name at least one file or folder." };
    const walked = await walkOffer(paths);
    if (walked.files.length === 0) {
      const why = walked.skipped.map((s) => `${s.name}: ${s.reason}`).join("; ");
      return { ok: false, message: `Nothing to offer (${why || "empty folders"}).` };
    }
    const id = encodeBase64Url(randomBytes(9));
    const token = encodeBase64Url(randomBytes(18));
    const key = randomBytes(32);
    const expires = Date.now() + (deps.offerExpiryMs ?? OFFER_EXPIRY_MS);
    const files = walked.files.map((f) => ({ path: f.name, size: f.size, mtime: f.mtime }));
    let encoded;
    try {
      encoded = encodeOffer({ id, expires, key, token, port, files }, sha256Hex);
    } catch (error) {
      return { ok: false, message: `These files cannot be offered: ${String(error)}` };
    }
    const sent = deps.send(name, OFFER_KIND, encoded.body);
    if (!sent.ok) return sent;
    const record: TransferRecord = {
      direction: "out",
      id,
      peer: name,
      body: encoded.body,
      files: encoded.manifest ? files : undefined,
      state: "offered",
      local: walked.files.map((f) => f.path),
      root: paths[0],
    };
    this.#serve(record, { key, token, expires }, walked.files, encoded.manifest);
    const entries = files.map((f) => ({ name: f.path, size: f.size }));
    const total = files.reduce((sum, f) => sum + f.size, 0);
    this.#hooks.emit({ event: "file-offer", id, to: name, files: entries, total, expires });
    for (const skipped of walked.skipped) {
      const reason = `Not offered: ${skipped.reason}.`;
      this.#hooks.emit({ event: "file-refused", id, name: skipped.name, reason });
    }
    this.#hooks.save(record);
    return { ok: true, id };
  }

  #serve(
    record: TransferRecord,
    { key, token, expires }: Pick<FileOffer, "key" | "token" | "expires">,
    files: LocalFile[],
    manifest?: Uint8Array,
  ): OutOffer {
    const served = files.map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtime }));
    // Pulls name accepted files only: none before the answer comes.
    const taken = new Set(record.accepted ?? []);
    this.#sender.serve({ id: record.id, token, key, files: served, manifest, accepted: taken });
    const accepted = record.accepted ?? files.map((_, i) => i);
    const activity = this.#hooks.deps.now();
    const hashes = new Map(Object.entries(record.hashes ?? {}).map(([i, h]) => [Number(i), h]));
    const out = {
      record,
      files,
      accepted,
      taken,
      token,
      hashes,
      pulledOnce: false,
      activity,
      saved: 0,
    };
    this.#offers.set(record.id, out);
    const entries = files.map((f) => ({ name: f.name, size: f.size }));
    this.#hooks.table.add({
      id: record.id,
      direction: "out",
      peer: record.peer,
      files: entries,
      expires,
      path: record.root,
    });
    return out;
  }

  /** Takes up an offer kept in a state file (after a restart). */
  restore(record: TransferRecord, offer: FileOffer, files: OfferedFile[]): void {
    if (!record.local || record.local.length !== files.length) return;
    const local = files.map((f, i) => ({
      path: record.local![i],
      name: f.path,
      size: f.size,
      mtime: f.mtime,
    }));
    let manifest: Uint8Array | undefined;
    if (offer.manifest) {
      const draft = { ...offer, files };
      manifest = encodeOffer(draft, sha256Hex).manifest;
    }
    const out = this.#serve(record, offer, local, manifest);
    if (record.state !== "offered") this.#accepted(out, record.state);
  }

  #accepted(out: OutOffer, state: "accepted" | "transferring" | "done" | "failed"): void {
    const total = out.accepted.reduce((sum, i) => sum + out.files[i].size, 0);
    const count = out.accepted.length;
    this.#hooks.table.update("out", out.record.id, { state, total, count });
  }

  /** The receiver answered. */
  onAnswer(answer: FileAnswer): void {
    const out = this.#offers.get(answer.id);
    if (!out) return;
    const { id } = answer;
    const to = out.record.peer;
    out.activity = this.#hooks.deps.now();
    switch (answer.type) {
      case "accept": {
        out.accepted = (answer.files ?? out.files.map((_, i) => i)).filter((i) =>
          i < out.files.length
        );
        out.record.accepted = out.accepted;
        for (const index of out.accepted) out.taken.add(index);
        out.record.state = "accepted";
        this.#accepted(out, "accepted");
        this.#hooks.emit({ event: "file-accepted", id, to, files: out.accepted.length });
        return this.#hooks.save(out.record);
      }
      case "refused":
        for (const { index, code } of answer.refused) {
          const name = out.files[index]?.name;
          if (name === undefined) continue;
          const reason = `Refused by ${to}: ${code}.`;
          this.#hooks.emit({ event: "file-refused", id, name, reason });
        }
        return;
      case "transit":
        return this.#transit(out);
      case "done":
        return this.#done(out);
      case "decline":
        return this.#fail(out, "declined", `${to} declined the offer.`);
      case "cancel":
        return this.#fail(out, "cancelled", `${to} cancelled the transfer.`);
      case "failed":
        return this.#fail(out, failReason(answer.reason), `${to}: ${answer.reason}`);
    }
  }

  #transit(out: OutOffer): void {
    const transit = this.#hooks.deps.transit;
    if (!transit) return;
    transit("give", out.token).then((conn) => this.#sender.adopt(conn)).catch((error) =>
      this.#hooks.emit({
        event: "error",
        message: `The transit relay did not pair transfer ${out.record.id}: ${String(error)}`,
      })
    );
  }

  #done(out: OutOffer): void {
    const id = out.record.id;
    this.#drop(out);
    const path = out.record.root ?? "";
    const view = this.#hooks.table.finish("out", id, { state: "done", path });
    if (!view) return;
    if (out.accepted.length === 1) {
      const sha256 = out.hashes.get(out.accepted[0]) ?? "";
      return this.#hooks.emit({ event: "file-done", id, path, sha256 });
    }
    const files = out.accepted.map((i) => ({
      path: out.files[i].name,
      sha256: out.hashes.get(i) ?? "",
    }));
    this.#hooks.emit({ event: "file-done", id, path, files });
  }

  #fail(out: OutOffer, reason: FileFailReason, message: string): void {
    this.#drop(out);
    const view = this.#hooks.table.finish("out", out.record.id, {
      state: "failed",
      reason: message,
    });
    if (view) this.#hooks.emit({ event: "file-failed", id: out.record.id, reason, message });
  }

  #drop(out: OutOffer): void {
    this.#offers.delete(out.record.id);
    this.#sender.withdraw(out.record.id);
    this.#hooks.remove("out", out.record.id);
  }

  /** This user cancels offer `id`. */
  cancel(id: string): Answer {
    const out = this.#offers.get(id);
    if (!out) return { ok: false, message: `There is no transfer ${id} in flight.` };
    this.#hooks.answer(out.record.peer, formatAnswer({ type: "cancel", id }));
    this.#fail(out, "cancelled", "You cancelled the transfer.");
    return { ok: true, message: `Transfer ${id} cancelled.` };
  }

  /** Offer `id` lapsed unanswered. */
  expire(id: string): void {
    const out = this.#offers.get(id);
    if (out) this.#fail(out, "expired", `${out.record.peer} did not answer the offer in time.`);
  }

  /**
   * Drops accepted transfers the receiver has been silent about for `limitMs` (no pull, no
   * answer): it went away for good, or it failed without a word reaching this peer.
   */
  sweep(now: number, limitMs: number): void {
    for (const out of [...this.#offers.values()]) {
      if (out.record.state === "offered" || now - out.activity < limitMs) continue;
      const message = `${out.record.peer} pulled nothing for a long time; the offer is withdrawn.`;
      this.#fail(out, "expired", message);
    }
  }

  /** The sender wrote `bytes` of file `file` (from 0). */
  onSent(id: string, file: number, bytes: number): void {
    const out = this.#offers.get(id);
    if (!out) return;
    out.activity = this.#hooks.deps.now();
    const at = out.accepted.indexOf(file);
    const before = out.accepted.slice(0, Math.max(0, at)).reduce(
      (sum, i) => sum + out.files[i].size,
      0,
    );
    const event = this.#hooks.table.progress(
      "out",
      id,
      before + bytes,
      at + 1,
      this.#hooks.deps.now(),
    );
    if (event) this.#hooks.emit(event);
  }

  /** A pull of file `file` from `offset` is answered: a resume says so. */
  onPull(id: string, file: number, offset: number): void {
    const out = this.#offers.get(id);
    if (!out) return;
    out.activity = this.#hooks.deps.now();
    const first = !out.pulledOnce;
    out.pulledOnce = true;
    if (out.record.state !== "transferring") {
      out.record.state = "transferring";
      this.#hooks.save(out.record);
    }
    if (offset === 0 && !(first && file !== out.accepted[0])) return;
    const at = out.accepted.indexOf(file);
    const before = out.accepted.slice(0, Math.max(0, at)).reduce(
      (sum, i) => sum + out.files[i].size,
      0,
    );
    const total = out.accepted.reduce((sum, i) => sum + out.files[i].size, 0);
    this.#hooks.emit({ event: "file-resuming", id, bytes: before + offset, total });
  }

  /** File `file` was sent whole, with its SHA-256 (none when it changed while sent). */
  onFile(id: string, file: number, digest: Uint8Array | undefined): void {
    const out = this.#offers.get(id);
    if (!digest || !out) return;
    out.hashes.set(file, encodeHex(digest));
    // Kept with the state (at most once a second), so a restarted sender still reports them.
    const now = this.#hooks.deps.now();
    if (now - out.saved < 1000) return;
    out.saved = now;
    out.record.hashes = Object.fromEntries(out.hashes);
    this.#hooks.save(out.record);
  }
}
