/**
 * The file commands as the chat carries them out, the same in line mode, on the chat screen and
 * with `--json` (stdin lines are commands there too): `/send NAME PATH…` offers,
 * `/accept ID [FILES] [DIR]`, `/decline ID`, `/cancel ID` answer, `/transfers` lists. What
 * follows (the offer, the progress, done or failed) comes as file events; a refusal is one
 * `error` event, `/transfers` one `transfers` info (a `--json` line with the list beside the
 * table).
 *
 * @module
 */

import type { RoomCommands } from "../core/room_view.ts";
import { nameKey } from "../protocol.ts";
import type { FileCommand } from "../ui/commands.ts";
import type { FilesApi } from "../ui/file_types.ts";
import { transferFilesText, transfersTable } from "../ui/file_text.ts";
import type { Sink } from "../ui/sink.ts";
import { defaultDownloadsDir, expandHome } from "./file_flags.ts";
import type { PeerArgs } from "./cli.ts";

/**
 * Carries out one file command on `files` (`peer.files`; `undefined` when this peer cannot
 * transfer files). `env` expands a leading `~` in typed paths. Never throws: a failure is an
 * `error` event on `sink`.
 *
 * @example
 * ```ts ignore
 * await runFileCommand({ kind: "transfers" }, peer.files, sink, (n) => Deno.env.get(n));
 * ```
 */
export async function runFileCommand(
  command: FileCommand,
  files: FilesApi | undefined,
  sink: Sink,
  env: (name: string) => string | undefined,
  room?: RoomFiles,
): Promise<void> {
  if (!files) {
    sink.event({ event: "error", message: "This peer cannot transfer files." });
    return;
  }
  const fail = (message: string) => sink.event({ event: "error", message });
  try {
    switch (command.kind) {
      case "send": {
        const paths = command.paths.map((p) => expandHome(p, env));
        if (command.to.startsWith("#")) {
          return await offerToRoom(command.to, paths, files, sink, room);
        }
        const result = await files.offer(command.to, paths);
        if (!result.ok) fail(result.message);
        return;
      }
      case "accept": {
        const options = {
          ...(command.dir === undefined ? {} : { dir: expandHome(command.dir, env) }),
          ...(command.files === undefined ? {} : { files: command.files }),
        };
        const answer = files.accept(command.id, options);
        if (!answer.ok) fail(answer.message);
        return;
      }
      case "decline":
      case "cancel": {
        const answer = files[command.kind](command.id);
        if (!answer.ok) fail(answer.message);
        return;
      }
      case "transfers": {
        const list = files.list();
        if (command.id !== undefined) {
          const one = list.find((t) => t.id === command.id);
          if (!one) fail(`No transfer ${command.id}: /transfers lists them.`);
          else sink.info("transfer", transferFilesText(one), { transfer: one });
          return;
        }
        sink.info("transfers", transfersTable(list), { transfers: list });
        return;
      }
    }
  } catch (error) {
    fail(`/${command.kind} failed: ${(error as Error).message}`);
  }
}

/**
 * The file-transfer options of the peer: where accepted files land (`--downloads`, else the
 * OS's downloads folder), `--accept-files`, `--offer-expiry`, and the transfers' state files in
 * `<data dir>/transfers` (so a restarted peer resumes them).
 *
 * @example
 * ```ts
 * import { fileOptions } from "./file_commands.ts";
 * fileOptions({}, "/home/ann/.local/share/peerchat/ann", (n) => ({ HOME: "/home/ann" })[n], "linux");
 * // { downloads: "/home/ann/Downloads", transfersDir: "/home/ann/.local/share/peerchat/ann/transfers" }
 * ```
 */
export function fileOptions(
  args: Pick<PeerArgs, "downloads" | "acceptFiles" | "offerExpiryMs">,
  dataDir: string | undefined,
  env: (name: string) => string | undefined,
  os: string = Deno.build.os,
): { downloads?: string; acceptFiles?: string; offerExpiryMs?: number; transfersDir?: string } {
  const downloads = args.downloads ?? defaultDownloadsDir(env, os);
  return {
    ...(downloads === undefined ? {} : { downloads }),
    ...(args.acceptFiles === undefined ? {} : { acceptFiles: args.acceptFiles }),
    ...(args.offerExpiryMs === undefined ? {} : { offerExpiryMs: args.offerExpiryMs }),
    ...(dataDir === undefined ? {} : { transfersDir: `${dataDir}/transfers` }),
  };
}

/** What `/send #ROOM PATH…` needs: the rooms this peer is in, and its own name. */
export interface RoomFiles {
  /** `peer.rooms`. */
  rooms: Pick<RoomCommands, "get">;
  /** This peer's name (it offers to every member but itself). */
  self: string;
}

/**
 * `/send #ROOM PATH…`: the same files offered to every other member of the room, online or not
 * (an offer waits like a message). Each member gets their own offer (own key, own token) and pulls
 * it from this peer; `room-offer` says to how many.
 */
async function offerToRoom(
  name: string,
  paths: string[],
  files: FilesApi,
  sink: Sink,
  room?: RoomFiles,
): Promise<void> {
  const view = room?.rooms.get(name);
  if (!room || !view) {
    sink.event({ event: "error", message: `You are not in ${name}: /join ${name} first.` });
    return;
  }
  if (!view.canPost) {
    const message = `Only the owners of ${view.room} may send there (announce-only).`;
    sink.event({ event: "error", message });
    return;
  }
  const to = view.members.map((m) => m.name).filter((n) => nameKey(n) !== nameKey(room.self));
  if (to.length === 0) {
    sink.event({ event: "error", message: `Nobody else is in ${view.room} yet.` });
    return;
  }
  const ids: string[] = [];
  for (const member of to) {
    const result = await files.offer(member, paths);
    if (!result.ok) {
      sink.event({ event: "error", message: `${member}: ${result.message}` });
      if (ids.length === 0) return; // the same refusal (a missing file) for everyone
      continue;
    }
    ids.push(result.id);
  }
  const text = `Offered to ${ids.length} member(s) of ${view.room}; each accepts and pulls it.`;
  sink.info("room-offer", text, { room: view.room, to, ids });
}
