/**
 * `peer.files` (issue 12): offering files and folders to a contact, answering offers, pulling
 * accepted files, and the events of both sides. The offer and its answers ride the peer's
 * exactly-once encrypted message stream (kinds `file-offer` and `file-answer`, wire/files.ts and
 * wire/file_answers.ts); the data goes over a TCP connection the receiver opens to this peer's
 * {@linkcode FileSender} (or through the coordinator's transit relay). The table of transfers is
 * core/transfers.ts; the sender's side net/file_outbox.ts; the receiver's net/file_inbox.ts and its
 * loop net/file_pull.ts.
 *
 * net/ lies below store/: the places files land in (store/file_saver.ts) and the state files kept
 * for resume (store/transfer_state.ts) come in through {@linkcode PeerFilesDeps}.
 *
 * @example
 * ```ts ignore
 * const result = await peer.files.offer("bob", ["notes.txt", "lab 3"]);
 * // on bob's side: a file-offer event, then
 * bob.files.accept(id, { dir: "/tmp/in" });
 * ```
 *
 * @module
 */

import type { IncomingMessage } from "../core/message.ts";
import type { PeerEvent } from "../core/peer_events.ts";
import type { RosterEntry } from "../core/peer_roster.ts";
import { type Answer, type OfferResult, Transfers, type TransferView } from "../core/transfers.ts";
import { parseAnswer } from "../wire/file_answers.ts";
import { ANSWER_KIND, OFFER_KIND, parseOffer } from "../wire/files.ts";
import { FileInbox } from "./file_inbox.ts";
import { FileOutbox } from "./file_outbox.ts";
import { OFFER_EXPIRY_MS } from "./file_pull.ts";
import { FileSender, type FileSenderOptions } from "./file_sender.ts";
import type { PeerFilesDeps, TransferRecord } from "./file_types.ts";

export type { Answer, OfferResult, TransferView };
export type { PeerFilesDeps, TransferRecord, TransferStore } from "./file_types.ts";

/** The file transfers of one peer: `peer.files`. */
export class PeerFiles {
  readonly #deps: PeerFilesDeps;
  readonly #table = new Transfers();
  readonly #sender: FileSender;
  readonly #outbox: FileOutbox;
  readonly #inbox: FileInbox;
  #timer: ReturnType<typeof setInterval>;
  #unknownKinds = 0;
  /** The state files read at the start, taken up by {@linkcode PeerFiles.restore}. */
  #kept?: { records: TransferRecord[]; errors: string[] };

  /** Binds the file sender (then {@linkcode PeerFiles.restore} takes up kept transfers). */
  constructor(deps: PeerFilesDeps) {
    this.#deps = deps;
    const hooks = {
      deps,
      table: this.#table,
      emit: (event: PeerEvent) => deps.emit(event),
      save: (record: TransferRecord) => this.#save(record),
      remove: (direction: "out" | "in", id: string) => this.#remove(direction, id),
      answer: (to: string, body: string) => deps.send(to, ANSWER_KIND, body),
    };
    this.#kept = deps.store?.load();
    const ports = this.#kept?.records.filter((r) => r.direction === "out").map(portOf) ?? [];
    this.#sender = bindSender(deps, [...ports, deps.port], {
      onSent: (sent) => {
        this.#outbox.onSent(sent.id, sent.file, sent.bytes);
        return deps.onSent?.(sent);
      },
      onPull: (pull) => this.#outbox.onPull(pull.id, pull.file, pull.offset),
      onFile: (file) => this.#outbox.onFile(file.id, file.file, file.sha256),
      onWarning: (message) => deps.emit({ event: "error", message }),
    });
    this.#outbox = new FileOutbox(hooks, this.#sender);
    this.#inbox = new FileInbox(hooks);
    this.#timer = setInterval(() => this.#expire(), 1000);
  }

  /** The TCP port pulls come to. */
  get port(): number {
    return this.#sender.port;
  }

  /** Messages of a kind this peer does not know, counted (and told once). */
  get unknownKinds(): number {
    return this.#unknownKinds;
  }

  /**
   * Offers files and folders (recursively; symlinks are skipped and said so) to `to`. Resolves
   * with the offer's id once the offer is on its way (it waits while `to` is offline).
   */
  offer(to: string, paths: string[]): Promise<OfferResult> {
    return this.#outbox.offer(to, paths, this.#sender.port);
  }

  /** Accepts offer `id` (all files, or `files`: 0-based indices) into `dir` or the downloads. */
  accept(id: string, options: { dir?: string; files?: number[] } = {}): Answer {
    return this.#inbox.accept(id, options);
  }

  /** Declines offer `id`. */
  decline(id: string): Answer {
    return this.#inbox.decline(id);
  }

  /** Cancels transfer `id` (either side): it stops, the other side hears. */
  cancel(id: string): Answer {
    const view = this.#table.find(id);
    if (!view) return { ok: false, message: `There is no transfer ${id} in flight.` };
    return view.direction === "in" ? this.#inbox.cancel(id) : this.#outbox.cancel(id);
  }

  /** Transfers in flight, done and failed (the last 200 finished). */
  list(): TransferView[] {
    return this.#table.list();
  }

  /**
   * Test only: sends `body` as a message of `kind` to `to`, unchecked — a hostile offer as a
   * broken or malicious peer would send it.
   */
  sendRaw(to: string, kind: string, body: string): { ok: boolean } {
    return this.#deps.send(to, kind, body);
  }

  /** A message of a kind other than `text` arrived (stored and acknowledged already). */
  onMessage(message: IncomingMessage): void {
    if (message.kind === OFFER_KIND) return this.#onOffer(message.from, message.body);
    if (message.kind === ANSWER_KIND) return this.#onAnswer(message.from, message.body);
    if (this.#unknownKinds++ === 0) {
      this.#deps.emit({
        event: "error",
        message: `${message.from} sent a message of a kind this peerchat does not know ` +
          `(${message.kind.slice(0, 40)}); it is not shown. More are only counted.`,
      });
    }
  }

  /** Stops the timers, every pull and the file sender. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inbox.close();
    await this.#sender.close();
  }

  #onOffer(from: string, body: string): void {
    const parsed = parseOffer(body);
    if (!parsed.ok) {
      // Its sender hears it too, when the offer's id can be read.
      const id = /^offer ([A-Za-z0-9_.-]{8,64})\n/.exec(body)?.[1];
      const message = `An offer of files from ${from} could not be read: ${parsed.error.message}`;
      return this.#inbox.refuse(from, id, message);
    }
    this.#inbox.onOffer(from, parsed.value, body);
  }

  #onAnswer(from: string, body: string): void {
    const parsed = parseAnswer(body);
    if (!parsed.ok) {
      this.#deps.emit({
        event: "error",
        message: `An answer to a file offer from ${from} could not be read: ` +
          parsed.error.message,
      });
      return;
    }
    const answer = parsed.value;
    const out = this.#table.get("out", answer.id);
    if (out && out.peer === from) return this.#outbox.onAnswer(answer);
    const into = this.#table.get("in", answer.id);
    if (into && into.peer === from) this.#inbox.onAnswer(answer);
  }

  #expire(): void {
    this.#outbox.sweep(this.#deps.now(), this.#deps.offerExpiryMs ?? OFFER_EXPIRY_MS);
    for (const view of this.#table.expired(Date.now())) {
      if (view.direction === "out") this.#outbox.expire(view.id);
      else this.#inbox.expire(view.id);
    }
  }

  #save(record: TransferRecord): void {
    try {
      this.#deps.store?.save(record);
    } catch (error) {
      this.#deps.emit({
        event: "error",
        message: `The state of transfer ${record.id} could not be saved (no resume after a ` +
          `restart): ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }

  #remove(direction: "out" | "in", id: string): void {
    try {
      this.#deps.store?.remove(direction, id);
    } catch {
      // A stale state file is skipped at the next start (its offer is gone).
    }
  }

  /** Takes up the transfers kept in the state files (call once, after the login). */
  restore(): void {
    const kept = this.#kept;
    this.#kept = undefined;
    if (!kept) return;
    for (const error of kept.errors) this.#deps.emit({ event: "error", message: error });
    for (const record of kept.records) {
      const offer = parseOffer(record.body);
      if (!offer.ok) continue;
      const files = offer.value.files ?? record.files;
      if (!files) continue;
      if (record.direction === "out") this.#outbox.restore(record, offer.value, files);
      else this.#inbox.restore(record, offer.value, files);
    }
  }
}

/** The IP addresses a contact may be reached at over TCP: its endpoint's, then its candidates'. */
export function addressesOf(entry: RosterEntry | undefined): string[] {
  if (!entry) return [];
  return [...new Set([entry.endpoint, ...entry.candidates ?? []].map((e) => e.host))];
}

/**
 * The file sender on the peer's host: on the port of the offers kept from before a restart (their
 * receivers pull there), else on the UDP port's number when free, else on any port.
 */
function bindSender(
  deps: PeerFilesDeps,
  ports: number[],
  hooks: Partial<FileSenderOptions>,
): FileSender {
  for (const port of new Set(ports.filter((p) => p > 0))) {
    try {
      return new FileSender({ hostname: deps.host, port, ...hooks });
    } catch {
      // Taken: the next.
    }
  }
  return new FileSender({ hostname: deps.host, port: 0, ...hooks });
}

/** The TCP port an offer's body names (0 if none). */
function portOf(record: TransferRecord): number {
  return Number(/\nport ([0-9]{1,5})\n/.exec(record.body)?.[1] ?? 0);
}
