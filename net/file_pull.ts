/**
 * The receiver's side of one accepted offer (issue 12): connect (each address of the sender in
 * turn, about 2 s each, then the coordinator's transit relay), pull what is not done yet with
 * net/file_receiver.ts, resume what was cut from the partial data kept, retry a hash mismatch once
 * from byte 0, fail a file that changed, and back off between attempts while nothing moves.
 *
 * @example
 * ```ts ignore
 * import { runPull } from "./file_pull.ts";
 * const outcome = await runPull(job, hooks);
 * ```
 *
 * @module
 */

import type { FileFailReason } from "../core/peer_events.ts";
import {
  FileReceiver,
  type PartialPlace,
  type PullFile,
  type PullResult,
  type Saver,
} from "./file_receiver.ts";
import { sha256Stream } from "../crypto/primitives.ts";
import { encodeHex } from "../wire/keys.ts";
import { closeQuietly, CONNECT_MS, connectWithin } from "./tcp.ts";
import { sleep } from "./timers.ts";

/** How long an offer stands unanswered, and a pull waits for its sender, unless told: 24 h. */
export const OFFER_EXPIRY_MS = 24 * 3600 * 1000;
/** At most this often the state is written while files land. */
const PERSIST_MS = 500;
/** How often a pull waiting for its sender to come online looks again. */
const OFFLINE_POLL_MS = 1000;
/** Attempts in a row without progress (the sender online) before the transfer fails. */
export const MAX_IDLE_ATTEMPTS = 8;

/** One accepted file of a pull: where it stands. */
export interface PulledFile {
  /** Its index in the offer. */
  index: number;
  /** Its checked path parts. */
  parts: string[];
  /** Its offered size. */
  size: number;
  /** `pending` until it landed (`done`) or failed for good. */
  state: "pending" | "done" | "failed";
  /** Its place, kept to resume. */
  reserved?: PartialPlace;
  /** Whether the one retry after a hash mismatch was spent. */
  retried?: boolean;
  /** Where it landed (done). */
  path?: string;
  /** Where it landed, relative to the destination (done). */
  relative?: string;
  /** Its SHA-256, hex (done). */
  sha256?: string;
  /** Why it failed (failed). */
  reason?: FileFailReason;
  /** Why it failed, a sentence (failed). */
  message?: string;
}

/** An accepted offer being pulled. */
export interface PullJob {
  /** The offer's id. */
  id: string;
  /** Its token. */
  token: string;
  /** Its transfer key. */
  key: Uint8Array;
  /** The sender's TCP port. */
  port: number;
  /** The accepted files, in index order. */
  files: PulledFile[];
}

/** What a pull needs from around it. */
export interface PullHooks {
  /** The sender's addresses to try, best first (empty while it is offline). */
  addresses(): string[];
  /** Asks the sender to meet at the transit relay and connects there; undefined: no relay. */
  transit?(signal: AbortSignal): Promise<Deno.Conn | undefined>;
  /** Where the files land. */
  saver: Saver<PartialPlace>;
  /** Bytes held of all accepted files, and the current file (1-based). */
  progress(bytes: number, file: number): void;
  /** The files' states changed: keep them (for a restart). */
  persist(): void;
  /** Aborted when the transfer is cancelled or the peer closes. */
  signal: AbortSignal;
  /** A new attempt after one that did not finish: a resume, if data is kept. */
  retrying?(): void;
  /** How long to wait for a sender that is offline before failing (24 h). */
  offlineMs?: number;
}

/** How a pull ended. */
export type PullOutcome =
  | { ok: true }
  | { ok: false; reason: FileFailReason; message: string };

const FAILS: Record<string, FileFailReason> = {
  changed: "changed",
  missing: "missing",
  size: "changed",
  save: "refused",
  io: "io",
  offset: "refused",
  refused: "refused",
  malformed: "refused",
};

async function connect(job: PullJob, hooks: PullHooks): Promise<Deno.Conn | undefined> {
  for (const host of hooks.addresses()) {
    const conn = await connectWithin(host, job.port, CONNECT_MS, hooks.signal);
    if (conn) return conn;
    if (hooks.signal.aborted) return undefined;
  }
  if (hooks.addresses().length === 0 || !hooks.transit) return undefined;
  try {
    return await hooks.transit(hooks.signal);
  } catch {
    return undefined;
  }
}

/** Applies one file's result; true when it made progress. */
function apply(file: PulledFile, result: PullResult<PartialPlace>): boolean {
  if (result.ok) {
    Object.assign(file, {
      state: "done",
      path: result.path,
      relative: result.relative,
      sha256: encodeHex(result.sha256),
      reserved: undefined,
    });
    return true;
  }
  // `unknown`: the sender has not had the accept yet (it rides the message stream, which a pull
  // over TCP may overtake); tried again like a cut.
  if (result.code === "cut" || result.code === "corrupt" || result.code === "unknown") {
    file.reserved = result.reserved ?? file.reserved;
    return false;
  }
  if (result.code === "hash" && !file.retried) {
    Object.assign(file, { retried: true, reserved: undefined });
    return false;
  }
  const reason = result.code === "hash" ? "hash" : FAILS[result.code] ?? "io";
  Object.assign(file, { state: "failed", reason, message: result.reason, reserved: undefined });
  return true;
}

/**
 * A file whose partial is gone and whose final name holds a file of its size landed before a crash
 * (after its rename, before its state was written): done, with its SHA-256 read back.
 */
async function landedBefore(file: PulledFile): Promise<void> {
  const place = file.reserved as (PartialPlace & { final?: string }) | undefined;
  if (file.state !== "pending" || !place?.final) return;
  try {
    Deno.lstatSync(place.partial);
    return; // The partial is there: resume it.
  } catch {
    // Gone: did it land?
  }
  try {
    const info = Deno.lstatSync(place.final);
    if (!info.isFile || info.size !== file.size) return;
    const hash = sha256Stream();
    using handle = await Deno.open(place.final, { read: true });
    const buffer = new Uint8Array(1024 * 1024);
    for (let read = await handle.read(buffer); read !== null; read = await handle.read(buffer)) {
      hash.update(buffer.subarray(0, read));
    }
    const relative = place.relative;
    Object.assign(file, {
      state: "done",
      path: place.final,
      relative,
      sha256: encodeHex(hash.digest()),
    });
    file.reserved = undefined;
  } catch {
    // Not readable: the pull's own check says what is wrong.
  }
}

/** Pulls `job` until every file is done or failed, it is aborted, or it stops moving. */
export async function runPull(job: PullJob, hooks: PullHooks): Promise<PullOutcome> {
  for (const file of job.files) await landedBefore(file);
  let idle = 0;
  let offlineSince: number | undefined;
  for (let attempt = 0;; attempt++) {
    const pending = job.files.filter((file) => file.state === "pending");
    if (pending.length === 0) break;
    if (hooks.signal.aborted) return { ok: false, reason: "cancelled", message: "Cancelled." };
    // While the sender is offline, wait for it (the partial data is kept), up to a limit.
    if (hooks.addresses().length === 0) {
      offlineSince ??= performance.now();
      if (performance.now() - offlineSince > (hooks.offlineMs ?? OFFER_EXPIRY_MS)) {
        const message = "The sender stayed offline too long; the partial data is kept.";
        return { ok: false, reason: "offline", message };
      }
      await sleep(OFFLINE_POLL_MS, hooks.signal);
      continue;
    }
    offlineSince = undefined;
    if (attempt > 0) hooks.retrying?.();
    const conn = await connect(job, hooks);
    let moved = false;
    if (conn) {
      const doneBytes = job.files.reduce((s, f) => s + (f.state === "pending" ? 0 : f.size), 0);
      const doneCount = job.files.filter((f) => f.state !== "pending").length;
      const byIndex = new Map(pending.map((file) => [file.index, file]));
      let persisted = performance.now();
      const receiver = new FileReceiver({
        signal: hooks.signal,
        connect: () => Promise.resolve(conn),
        onProgress: (bytes) => hooks.progress(doneBytes + bytes, doneCount + 1),
        // A file landed is kept as done at once (a crash must not leave it "pending" with a
        // partial file that is gone), its state written at most about twice a second.
        onLanded: (landed) => {
          const file = byIndex.get(landed.index);
          if (file) apply(file, { ...landed, ok: true });
          if (performance.now() - persisted >= PERSIST_MS) {
            persisted = performance.now();
            hooks.persist();
          }
        },
      });
      const pulls: PullFile<PartialPlace>[] = pending.map((file) => ({
        index: file.index,
        parts: file.parts,
        size: file.size,
        reserved: file.reserved,
      }));
      try {
        const report = await receiver.pull("", 0, job, pulls, hooks.saver);
        report.results.forEach((result, i) => {
          if (apply(pending[i], result)) moved = true;
          // A file failed for good keeps no partial file.
          if (pending[i].state === "failed" && !result.ok && result.reserved) {
            hooks.saver.discard(result.reserved);
          }
        });
        moved ||= report.wireBytes > 1024 * 1024;
      } finally {
        closeQuietly(conn);
      }
      hooks.persist();
    }
    idle = moved ? 0 : idle + 1;
    if (hooks.signal.aborted) return { ok: false, reason: "cancelled", message: "Cancelled." };
    if (idle >= MAX_IDLE_ATTEMPTS) {
      const message = "The sender cannot be reached over TCP, directly or through the relay.";
      return { ok: false, reason: "unreachable", message };
    }
    if (job.files.some((file) => file.state === "pending") && !moved) {
      await sleep(Math.min(8000, 250 * 2 ** idle), hooks.signal);
    }
  }
  const failed = job.files.filter((file) => file.state === "failed");
  if (failed.length === 0) return { ok: true };
  const first = failed[0];
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more files failed)` : "";
  return { ok: false, reason: first.reason ?? "io", message: `${first.message}${more}` };
}
