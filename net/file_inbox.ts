/**
 * The receiver's side of `peer.files` (issue 12): takes offers (pulling the manifest first when
 * the offer names one), checks every name (core/file_names.ts `checkOffer`: refusals told on both
 * sides, the rest proceeds), accepts all or a subset into a folder (free space checked first),
 * pulls with net/file_pull.ts, and answers `done`, `failed`, `decline` or `cancel`.
 *
 * @example
 * ```ts ignore
 * const inbox = new FileInbox(hooks);
 * inbox.onOffer("alice", offer, body);
 * inbox.accept(offer.id, { dir: "/tmp/in" });
 * ```
 *
 * @module
 */

import { checkOffer } from "../core/file_names.ts";
import type { FileFailReason } from "../core/peer_events.ts";
import type { Answer } from "../core/transfers.ts";
import { type FileAnswer, formatAnswer, MAX_REFUSALS_LISTED } from "../wire/file_answers.ts";
import type { FileOffer, OfferedFile } from "../wire/files.ts";
import { CONTROL_CHARS } from "../wire/fields.ts";
import { MAX_REASON_CHARS } from "../wire/limits.ts";
import { manifestFrom } from "./file_manifest.ts";
import { type PullJob, type PullOutcome, runPull } from "./file_pull.ts";
import { failReason } from "./file_outbox.ts";
import type { SideHooks, TransferRecord } from "./file_types.ts";

/** An offer this peer was made. */
interface InOffer {
  record: TransferRecord;
  offer: FileOffer;
  files: OfferedFile[];
  refused: Set<number>;
  parts: Map<number, string[]>;
  job?: PullJob;
  controller?: AbortController;
  task?: Promise<void>;
}

/** A reason for a `failed` answer: `CODE: sentence`, within 200 characters, controls as `?`. */
function answerReason(code: FileFailReason, message: string): string {
  const text = `${code}: ${message}`.replace(new RegExp(CONTROL_CHARS, "g"), "?");
  return [...text].slice(0, MAX_REASON_CHARS).join("");
}

/** The receiver's side; see the module doc. */
export class FileInbox {
  #hooks: SideHooks;
  #offers = new Map<string, InOffer>();

  /** The receiver's side over `hooks`. */
  constructor(hooks: SideHooks) {
    this.#hooks = hooks;
  }

  /** An offer arrived from `from` (its body parsed). */
  onOffer(from: string, offer: FileOffer, body: string): void {
    if (this.#offers.has(offer.id) || this.#hooks.table.get("in", offer.id)) return;
    if (offer.files) return this.#received(from, offer, offer.files, body);
    this.#withManifest(from, offer, body);
  }

  async #withManifest(from: string, offer: FileOffer, body: string): Promise<void> {
    try {
      const transit = this.#hooks.deps.transit;
      const viaRelay = transit && (() => {
        this.#hooks.answer(from, formatAnswer({ type: "transit", id: offer.id }));
        return transit("take", offer.token);
      });
      const files = await manifestFrom(this.#hooks.deps.addresses(from), offer, viaRelay);
      return this.#received(from, offer, files, body);
    } catch (error) {
      const why = errorText(error);
      this.refuse(from, offer.id, `The list of files offered by ${from} could not be had: ${why}`);
    }
  }

  /** An offer from `from` is refused: the user hears `message`, and so does its sender (`id`). */
  refuse(from: string, id: string | undefined, message: string): void {
    this.#hooks.emit({ event: "error", message });
    const reason = answerReason("refused", message);
    if (id) this.#hooks.answer(from, formatAnswer({ type: "failed", id, reason }));
  }

  #received(
    from: string,
    offer: FileOffer,
    files: OfferedFile[],
    body: string,
    record?: TransferRecord,
  ): void {
    const { id, expires } = offer;
    const check = checkOffer(files.map((file) => file.path));
    if (!check.ok) {
      return this.refuse(from, id, `The offer of files from ${from} is refused: ${check.reason}`);
    }
    const entries = files.map((file) => ({ name: file.path, size: file.size }));
    const added = this.#hooks.table.add({
      id,
      direction: "in",
      peer: from,
      files: entries,
      expires,
    });
    const why = `its id ${id} is known already, or too many transfers are under way`;
    if (!added) return this.refuse(from, id, `An offer of files from ${from} is refused: ${why}.`);
    const refused = new Set(check.refused.map((one) => one.index));
    const parts = new Map(check.accepted.map((one) => [one.index, one.parts]));
    record ??= {
      direction: "in",
      id,
      peer: from,
      body,
      files: offer.files ? undefined : files,
      state: "offered",
      refused: [...refused],
    };
    const entry: InOffer = { record, offer, files, refused, parts };
    this.#offers.set(id, entry);
    if (record.state !== "offered") return this.#resume(entry);
    const total = offer.total;
    this.#hooks.emit({
      event: "file-offer",
      id,
      from,
      files: entries,
      total,
      expires: offer.expires,
    });
    for (const one of check.refused) {
      this.#hooks.emit({ event: "file-refused", id, name: one.path, reason: one.reason });
    }
    if (check.refused.length > 0) {
      const listed = check.refused.slice(0, MAX_REFUSALS_LISTED);
      const answer = listed.map((one) => ({ index: one.index, code: one.code }));
      this.#hooks.answer(from, formatAnswer({ type: "refused", id, refused: answer }));
    }
    this.#hooks.save(record);
    const auto = this.#hooks.deps.acceptFiles;
    if (auto !== undefined) this.accept(id, { dir: auto });
  }

  /** Takes up an offer kept in a state file (after a restart). */
  restore(record: TransferRecord, offer: FileOffer, files: OfferedFile[]): void {
    this.#received(record.peer, offer, files, record.body, record);
  }

  /** Accepts offer `id`: all its files (but the refused), or the 0-based `files`. */
  accept(id: string, options: { dir?: string; files?: number[] }): Answer {
    const entry = this.#offers.get(id);
    if (!entry || entry.record.state !== "offered") {
      return { ok: false, message: `There is no offer ${id} waiting for an answer.` };
    }
    const all = entry.files.map((_, i) => i);
    const wanted = [...new Set(options.files ?? all)].sort((a, b) => a - b);
    const indices = wanted.filter((i) => entry.parts.has(i));
    if (indices.length === 0) return { ok: false, message: `No file of offer ${id} is left.` };
    const dir = options.dir ?? this.#hooks.deps.downloads;
    if (!dir) return { ok: false, message: `Say where: /accept ${id} DIR.` };
    let saver;
    try {
      Deno.mkdirSync(dir, { recursive: true });
      saver = this.#hooks.deps.saver(dir);
    } catch (error) {
      return { ok: false, message: `Files cannot land in ${dir}: ${String(error)}` };
    }
    const total = indices.reduce((sum, i) => sum + entry.files[i].size, 0);
    const free = this.#hooks.deps.freeSpace(dir);
    if (free !== undefined && free < total) {
      const message = `${total} bytes do not fit in ${dir} (${free} bytes free).`;
      this.#fail(entry, "space", message, true);
      return { ok: false, message };
    }
    const files = indices.length === all.length ? undefined : indices;
    this.#hooks.answer(entry.record.peer, formatAnswer({ type: "accept", id, files }));
    entry.record.state = "accepted";
    entry.record.dir = dir;
    entry.record.pulled = indices.map((index) => ({
      index,
      parts: entry.parts.get(index)!,
      size: entry.files[index].size,
      state: "pending",
    }));
    const from = entry.record.peer;
    this.#hooks.table.update("in", id, { state: "accepted", count: indices.length, total, dir });
    this.#hooks.emit({ event: "file-accepted", id, from, files: indices.length, dir });
    this.#hooks.save(entry.record);
    this.#start(entry, saver);
    return { ok: true, message: `Accepted ${indices.length} files of ${id} into ${dir}.` };
  }

  #resume(entry: InOffer): void {
    const { record } = entry;
    if (!record.pulled || !record.dir) return;
    let saver;
    try {
      saver = this.#hooks.deps.saver(record.dir);
    } catch (error) {
      return this.#fail(entry, "io", `Files cannot land in ${record.dir}: ${String(error)}`, true);
    }
    const total = record.pulled.reduce((sum, f) => sum + f.size, 0);
    const count = record.pulled.length;
    this.#hooks.table.update("in", record.id, { state: "accepted", total, count, dir: record.dir });
    this.#start(entry, saver);
  }

  #start(entry: InOffer, saver: ReturnType<SideHooks["deps"]["saver"]>): void {
    const { record, offer } = entry;
    const id = record.id;
    const { token, key, port } = offer;
    const job: PullJob = { id, token, key, port, files: record.pulled! };
    const controller = new AbortController();
    const deps = this.#hooks.deps;
    const total = job.files.reduce((sum, f) => sum + f.size, 0);
    const held = heldBytes(job);
    if (held > 0) this.#hooks.emit({ event: "file-resuming", id, bytes: held, total });
    const transit = deps.transit;
    const hooks = {
      addresses: () => deps.addresses(record.peer),
      transit: transit && ((signal: AbortSignal) => {
        this.#hooks.answer(record.peer, formatAnswer({ type: "transit", id }));
        return transit("take", offer.token, signal);
      }),
      saver,
      signal: controller.signal,
      progress: (bytes: number, file: number) => {
        const event = this.#hooks.table.progress("in", id, bytes, file, deps.now());
        if (event) this.#hooks.emit(event);
      },
      persist: () => this.#hooks.save(record),
      offlineMs: deps.offerExpiryMs,
      retrying: () => {
        const bytes = heldBytes(job);
        if (bytes > 0) this.#hooks.emit({ event: "file-resuming", id, bytes, total });
      },
    };
    entry.job = job;
    entry.controller = controller;
    entry.task = runPull(job, hooks).then((outcome) => this.#finish(entry, outcome));
  }

  #finish(entry: InOffer, outcome: PullOutcome): void {
    if (!this.#offers.has(entry.record.id)) return; // Cancelled or closed meanwhile.
    if (!outcome.ok) {
      if (entry.controller?.signal.aborted) return;
      return this.#fail(entry, outcome.reason, outcome.message, true);
    }
    const { id, peer } = entry.record;
    this.#hooks.answer(peer, formatAnswer({ type: "done", id }));
    this.#drop(entry);
    const files = entry.job!.files;
    const dir = entry.record.dir!;
    const top = files[0].relative?.split("/")[0];
    const folder = files.length > 1 && files.every((f) => f.relative?.split("/")[0] === top) &&
      files.some((f) => f.relative!.includes("/"));
    const path = files.length === 1 ? files[0].path! : folder ? `${dir}/${top}` : dir;
    this.#hooks.table.finish("in", id, { state: "done", path });
    if (files.length === 1) {
      return this.#hooks.emit({ event: "file-done", id, path, sha256: files[0].sha256! });
    }
    const listed = files.map((f) => ({ path: f.relative!, sha256: f.sha256! }));
    this.#hooks.emit({ event: "file-done", id, path, files: listed });
  }

  #fail(entry: InOffer, reason: FileFailReason, message: string, tell: boolean): void {
    const { id, peer } = entry.record;
    if (tell) {
      this.#hooks.answer(
        peer,
        formatAnswer({ type: "failed", id, reason: answerReason(reason, message) }),
      );
    }
    this.#drop(entry);
    const view = this.#hooks.table.finish("in", id, { state: "failed", reason: message });
    if (view) this.#hooks.emit({ event: "file-failed", id, reason, message });
  }

  #drop(entry: InOffer): void {
    this.#offers.delete(entry.record.id);
    this.#hooks.remove("in", entry.record.id);
  }

  /** Stops the pull of `entry`, then removes the partial files it kept. */
  #stop(entry: InOffer): void {
    entry.controller?.abort();
    const discard = () => {
      const saver = entry.record.dir ? this.#hooks.deps.saver(entry.record.dir) : undefined;
      for (const file of entry.job?.files ?? []) {
        if (file.state === "pending" && file.reserved) saver?.discard(file.reserved);
      }
    };
    entry.task = (entry.task ?? Promise.resolve()).then(discard).catch(() => {});
  }

  /** This user declines offer `id`. */
  decline(id: string): Answer {
    const entry = this.#offers.get(id);
    if (!entry || entry.record.state !== "offered") {
      return { ok: false, message: `There is no offer ${id} waiting for an answer.` };
    }
    this.#hooks.answer(entry.record.peer, formatAnswer({ type: "decline", id }));
    this.#fail(entry, "declined", "You declined the offer.", false);
    return { ok: true, message: `Offer ${id} declined.` };
  }

  /** This user cancels transfer `id`. */
  cancel(id: string): Answer {
    const entry = this.#offers.get(id);
    if (!entry) return { ok: false, message: `There is no transfer ${id} in flight.` };
    this.#stop(entry);
    this.#hooks.answer(entry.record.peer, formatAnswer({ type: "cancel", id }));
    this.#fail(entry, "cancelled", "You cancelled the transfer.", false);
    return { ok: true, message: `Transfer ${id} cancelled.` };
  }

  /** The sender answered (`cancel` or `failed`). */
  onAnswer(answer: FileAnswer): void {
    const entry = this.#offers.get(answer.id);
    if (!entry || (answer.type !== "cancel" && answer.type !== "failed")) return;
    this.#stop(entry);
    const who = entry.record.peer;
    if (answer.type === "cancel") {
      return this.#fail(entry, "cancelled", `${who} cancelled the transfer.`, false);
    }
    this.#fail(entry, failReason(answer.reason), `${who}: ${answer.reason}`, false);
  }

  /** Offer `id` lapsed unanswered. */
  expire(id: string): void {
    const entry = this.#offers.get(id);
    if (entry) this.#fail(entry, "expired", `The offer from ${entry.record.peer} expired.`, false);
  }

  /** Stops every pull (their partial files stay, to resume). */
  async close(): Promise<void> {
    const tasks: Promise<void>[] = [];
    for (const entry of this.#offers.values()) {
      entry.controller?.abort();
      if (entry.task) tasks.push(entry.task);
    }
    this.#offers.clear();
    await Promise.all(tasks);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Bytes already held: files done, and each partial file's size down to a 64 KiB boundary. */
function heldBytes(job: PullJob): number {
  let held = 0;
  for (const file of job.files) {
    if (file.state !== "pending") held += file.size;
    else if (file.reserved) {
      try {
        const size = Math.min(Deno.statSync(file.reserved.partial).size, file.size);
        held += Math.floor(size / 65536) * 65536;
      } catch {
        // Gone: pulled from 0.
      }
    }
  }
  return held;
}
