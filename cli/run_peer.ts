/**
 * `peerchat peer`: asks for what is missing (on a terminal), logs in, then
 * runs the chat — a chat screen on a terminal, or line-by-line commands from
 * stdin with human or JSON output — and logs out on every way out.
 *
 * @module
 */

import type { ChatScreen } from "../ui/chat_screen.ts";
import { useFastAead } from "../crypto/aead.ts";
import { type PeerArgs, resolveHost } from "./cli.ts";
import type { Coordinator } from "../coordinator.ts";
import { COMMANDS, HELP, parseCommand } from "../ui/commands.ts";
import type { KeyCommands } from "../core/trust.ts";
import { answerKeyCommand, answerWho, introducingSink } from "./key_commands.ts";
import { openPeerKeys, type PeerKeys } from "./peer_keys.ts";
import {
  formatHistoryEntry,
  formatPeerEvent,
  type Painter,
  painter,
  wantsColor,
} from "../ui/format.ts";
import { defaultDataDir, Journal } from "../store/journal.ts";
import { readLines, writeJsonLine } from "../ui/output.ts";
import { isSeedClient, LoginError, Peer } from "../peer.ts";
import { checkName, type Endpoint, formatEndpoint, nameKey } from "../protocol.ts";
import type { ViewDriver } from "../ui/view_driver.ts";
import type { Sink } from "../ui/sink.ts";
import { formatTrace } from "../ui/trace.ts";
import { type FilesApi, isFileEvent } from "../ui/file_types.ts";
import { filePrinter } from "../ui/file_printer.ts";
import { fileOptions, runFileCommand } from "./file_commands.ts";
import { postToRoom, roomHistory, runRoomCommand } from "./room_commands.ts";
import type { RoomCommands } from "../core/room_view.ts";
import { askName, readSession, writeSession } from "./peer_session.ts";
import { visible } from "../ui/visible.ts";
import type { TraceEntry } from "../net/udp.ts";

/** How long `/quit` and end of input wait for unacknowledged messages. */
const SETTLE_MS = 15_000;

/** The state of one chat session: who plain lines go to. */
export interface SessionState {
  /**
   * The conversation plain lines go to: a person (the last one you wrote to or chose with
   * `/msg NAME`) or a room (`#` first: joined, or chosen with `/msg #ROOM`).
   */
  partner?: string;
  /** Where the last message came from (a person or a room): plain lines go there with no partner. */
  lastFrom?: string;
  /** A room's unread count, for `/rooms` (the chat screen's; none in line mode and `--json`). */
  unread?: (room: string) => number;
}

/** `sink`, noting in `state` who wrote last (every `message` event passes through it). */
export function sessionSink(state: SessionState, sink: Sink): Sink {
  return {
    paint: sink.paint,
    event(event) {
      if (event.event === "message") state.lastFrom = event.room ?? event.from;
      sink.event(event);
    },
    info: (kind, text, data) => sink.info(kind, text, data),
  };
}

/**
 * What {@linkcode handleLine} needs of a peer: its chat, its key decisions (`keys`), how each
 * contact is reached (`traversal`, for `/who`), its file transfers (`files`) and its rooms
 * (`rooms`, core/room_view.ts; optional like `files`).
 */
export type LinePeer =
  & Pick<
    Peer,
    "name" | "send" | "users" | "user" | "knownName" | "lookup" | "history" | "giveUp" | "traversal"
  >
  & { readonly keys: KeyCommands; readonly files?: FilesApi; readonly rooms?: RoomCommands };

/**
 * Carries out one line of user input. Resolves `"quit"` when the user asked
 * to leave. A name the roster does not have yet is asked of the coordinator
 * first (someone who logged in a moment ago), so this may take up to a second.
 */
export async function handleLine(
  line: string,
  state: SessionState,
  peer: LinePeer,
  sink: Sink,
): Promise<"quit" | undefined> {
  const command = parseCommand(line);
  switch (command.kind) {
    case "empty":
      return;
    case "quit":
      return "quit";
    case "help":
      sink.info("help", HELP);
      return;
    case "invalid":
      sink.event({ event: "error", message: command.message });
      return;
    case "history": {
      if (command.with.startsWith("#")) {
        roomHistory(command.with, command.limit, peer.rooms, sink);
        return;
      }
      const entries = peer.history(command.with, command.limit);
      const text = entries.length === 0
        ? `No messages with ${command.with} yet.`
        : entries.map((e) => formatHistoryEntry(e, sink.paint)).join("\n");
      sink.info("history", text, { with: command.with, entries });
      return;
    }
    case "giveup": {
      const count = peer.giveUp(command.to);
      sink.info(
        "giveup",
        count === 0
          ? `Nothing is waiting for ${command.to}.`
          : `Gave up on ${count} message(s) to ${command.to}.`,
        { to: command.to, count },
      );
      return;
    }
    case "who": {
      const traversal = peer.traversal;
      const users = peer.users().map((u) => {
        const seed = isSeedClient(u);
        const path = seed ? undefined : traversal.pathOf(u.name);
        return {
          name: u.name,
          endpoint: formatEndpoint(u.endpoint),
          seed,
          ...(path === undefined ? {} : { path }),
        };
      });
      answerWho(users, peer.keys, sink);
      return;
    }
    case "fingerprint":
    case "verify":
    case "trust":
      answerKeyCommand(command, peer.keys, sink);
      return;
    case "send":
    case "accept":
    case "decline":
    case "cancel":
    case "transfers":
      if (command.kind === "send" && !command.to.startsWith("#") && !peer.knownName(command.to)) {
        await peer.lookup(command.to);
      }
      await runFileCommand(command, peer.files, sink, (n) => Deno.env.get(n), {
        rooms: peer.rooms ?? { get: () => undefined },
        self: peer.name,
      });
      return;
    case "join":
    case "part":
    case "invite":
    case "kick":
    case "names":
    case "topic":
    case "mode":
    case "rooms":
      await runRoomCommand(command, peer.rooms, state, sink, state.unread);
      return;
    case "msg":
    case "text": {
      let to = command.kind === "msg" ? command.to : state.partner;
      if (!to && state.lastFrom?.startsWith("#")) to = state.lastFrom;
      if (to?.startsWith("#")) {
        postToRoom(to, command.text, peer.rooms, state, sink);
        return;
      }
      if (command.kind === "msg" && peer.knownName(to!) === undefined) await peer.lookup(to!);
      if (command.kind === "msg" && command.text === "") {
        const name = peer.knownName(command.to);
        if (!name) {
          sink.event({
            event: "error",
            message: `${command.to} is not online; /who lists who is.`,
          });
          return;
        }
        state.partner = name;
        sink.info("partner", `Now talking to ${state.partner}.`, { with: state.partner });
        return;
      }
      if (!to && state.lastFrom) {
        // Nobody chosen yet: answer whoever wrote last, and say so.
        to = state.lastFrom;
        sink.info("partner", `→ ${to}, who wrote last.`, { with: to, reason: "wrote last" });
      }
      if (!to) {
        sink.event({
          event: "error",
          message: "Nobody to send to yet: start with /msg NAME TEXT (/who lists names).",
        });
        return;
      }
      const result = peer.send(to, command.text);
      if (!result.ok) sink.event({ event: "error", message: result.message });
      else state.partner = peer.user(to)?.name ?? peer.knownName(to) ?? to;
      return;
    }
  }
}

/**
 * Completes a command or a user name at the cursor (Tab on the chat screen).
 * `cursor` is a UTF-16 offset into `text`, in and out.
 */
export function completeInput(
  text: string,
  cursor: number,
  names: string[],
): { text: string; cursor: number; candidates: string[] } {
  const before = text.slice(0, cursor);
  const after = text.slice(cursor);
  const start = before.search(/\S*$/);
  const word = before.slice(start);
  const pool = start === 0 && word.startsWith("/") ? [...COMMANDS] : names;
  const candidates = pool.filter((c) => c.toLowerCase().startsWith(word.toLowerCase()));
  if (candidates.length === 0 || word === "") return { text, cursor, candidates: [] };
  let common = candidates[0];
  for (const c of candidates) {
    while (!c.toLowerCase().startsWith(common.toLowerCase())) common = common.slice(0, -1);
  }
  const completion = candidates.length === 1 ? `${candidates[0]} ` : common;
  if (completion.length < word.length) return { text, cursor, candidates };
  const head = before.slice(0, start) + completion;
  return {
    text: head + after,
    cursor: head.length,
    candidates: candidates.length === 1 ? [] : candidates,
  };
}

function lineSink(paint: Painter, print: (line: string) => void): Sink {
  const files = filePrinter(paint);
  return {
    paint,
    event(event) {
      const line = isFileEvent(event) ? files(event) : formatPeerEvent(event, paint);
      if (line) print(line);
    },
    info(_kind, text) {
      print(text);
    },
  };
}

const jsonSink: Sink = {
  paint: painter(false),
  event: writeJsonLine,
  info(kind, text, data) {
    writeJsonLine({ event: kind, text, ...data });
  },
};

/**
 * Why `--trace` cannot run as asked, if it cannot: the trace goes to stderr so that it mixes with
 * neither `--json` nor the chat screen, so with the screen stderr must go somewhere else.
 */
export function traceConflict(
  trace: boolean,
  chatScreen: boolean,
  stderrIsTerminal: boolean,
): string | undefined {
  if (!trace || !chatScreen || !stderrIsTerminal) return undefined;
  return "--trace writes to stderr, which is this terminal: it would scroll through the chat " +
    "screen. Send it elsewhere and watch it in a second terminal: " +
    "peerchat --trace 2>trace.log, then tail -f trace.log.";
}

/** Runs a peer until the user quits, input ends, or a signal arrives. Returns the exit code. */
export async function runPeer(args: PeerArgs): Promise<number> {
  const env = (n: string) => Deno.env.get(n);
  const interactive = !args.json && Deno.stdin.isTerminal();
  const paint = painter(wantsColor(Deno.stdout.isTerminal(), env));
  const tracePaint = painter(wantsColor(Deno.stderr.isTerminal(), env));
  // What is printed may hold text from the network (a Reject reason, a coordinator's label):
  // on a terminal its control characters are shown, never executed. JSON keeps the exact text.
  const complain = (message: string) => {
    if (args.json) writeJsonLine({ event: "error", message });
    else console.error(paint("red", visible(message)));
  };

  const traceProblem = traceConflict(args.trace, interactive, Deno.stderr.isTerminal());
  if (traceProblem) {
    complain(traceProblem);
    return 2;
  }
  if (!interactive && args.name === undefined) {
    complain(
      "Missing --name: run peerchat peer --name NAME (or run it on a terminal to be asked).",
    );
    return 2;
  }
  const name = args.name ?? await askName();
  if (typeof name === "number") return name;
  const nameProblem = checkName(name);
  if (nameProblem) {
    complain(`${nameProblem} Choose another --name.`);
    return 2;
  }

  const trace = args.trace
    ? (entry: TraceEntry) => console.error(formatTrace(entry, tracePaint))
    : undefined;
  let target: Endpoint;
  let started: Coordinator | undefined;
  if (args.coordinator !== undefined) {
    target = args.coordinator;
  } else {
    const { findCoordinator } = await import("./find_coordinator.ts");
    const chosen = await findCoordinator({
      interactive,
      bindHost: args.host,
      discoveryPort: args.discoveryPort,
      trace,
      say: (text) =>
        args.json ? writeJsonLine({ event: "discovered", text }) : console.log(visible(text)),
    });
    if (chosen === "cancelled") return 130;
    if ("error" in chosen) {
      complain(chosen.error);
      return 1;
    }
    target = chosen.address;
    started = chosen.started;
  }

  let screen: ChatScreen | undefined;
  const live: { peer?: Peer; keys?: KeyCommands } = {};
  // The terminal UI is loaded only for the interactive chat: scripts start faster without it.
  const ui = interactive ? await import("../ui/view_driver.ts") : undefined;
  const view: ViewDriver | undefined = ui &&
    new ui.ViewDriver(
      name,
      formatEndpoint(target),
      paint,
      () => screen,
      () => live.peer,
      () => live.keys,
      () => (live.peer as LinePeer | undefined)?.rooms,
    );
  const state: SessionState = { unread: (room) => view?.state.unread.get(nameKey(room)) ?? 0 };
  const sink = sessionSink(
    state,
    introducingSink(
      args.json ? jsonSink : view ? view.sink : lineSink(paint, console.log),
      () => live.keys,
    ),
  );

  let journal: Journal;
  let keys: PeerKeys;
  try {
    const dir = args.data ?? defaultDataDir(name, env, Deno.build.os);
    journal = Journal.open(dir);
    try {
      keys = openPeerKeys(dir, sink);
    } catch (error) {
      journal.close();
      throw error;
    }
  } catch (error) {
    await started?.close();
    complain((error as Error).message);
    return 1;
  }

  let peer: Peer;
  try {
    const host = await resolveHost(target.host);
    if (interactive) console.log(paint("dim", `Logging in to ${host}:${target.port}…`));
    peer = await Peer.start({
      name,
      coordinator: { host, port: target.port },
      host: args.host,
      port: args.port,
      onEvent: (event) => sink.event(event),
      identity: keys.identity,
      pins: keys.pins,
      trustCoordinator: args.trustCoordinator,
      trace,
      journal,
      keepaliveMs: args.keepaliveMs,
      expireMs: args.expireMs,
      resumeSession: readSession(journal.dir),
      onSession: (session) => writeSession(journal.dir, session),
      ...fileOptions(args, journal.dir, env),
    });
  } catch (error) {
    keys.pins.close();
    journal.close();
    await started?.close();
    complain(error instanceof LoginError ? error.message : bindErrorMessage(error, args));
    return 1;
  }

  live.peer = peer;
  live.keys = peer.keys;
  // The faster cipher, loaded now that the peer is up (start-up does not wait for it).
  void useFastAead();
  view?.syncRoster();
  view?.syncRooms();
  let leaving: Promise<void> | undefined;
  const leave = (waitForDelivery: boolean) =>
    leaving ??= (async () => {
      if (waitForDelivery && peer.inFlight > 0) {
        sink.info("waiting", `Waiting for ${peer.inFlight} message(s) to be confirmed…`);
        await peer.settle(SETTLE_MS);
      }
      const kept = peer.pending > 0
        ? `${peer.pending} undelivered message(s) are kept in ${journal.dir}; they go out when you next start peerchat and the recipient is online.`
        : undefined;
      await peer.close();
      keys.pins.close();
      journal.close();
      await started?.close();
      if (screen) {
        // The chat screen is gone with the alternate screen: say goodbye on the normal one.
        screen.close();
        console.log(kept ? `Logged out. ${kept}` : "Logged out.");
      } else if (kept) {
        sink.info("kept", kept, { count: peer.pending });
      }
    })();
  const onSignal = () => leave(false).then(() => Deno.exit(0));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  const promptFor = () =>
    paint("bold", `${peer.name}${state.partner ? ` → ${state.partner}` : ""}> `);
  if (interactive) {
    const { ChatScreen } = await import("../ui/chat_screen.ts");
    screen = new ChatScreen({
      input: Deno.stdin.readable,
      output: Deno.stdout,
      prompt: promptFor(),
      fullScreen: true,
      columns: () => ui!.terminalSize().columns,
      rows: () => ui!.terminalSize().rows,
      setRaw: (raw) => Deno.stdin.setRaw(raw),
      complete: (text, cursor) =>
        completeInput(text, cursor, [
          ...peer.users().map((u) => u.name),
          ...(view?.state.rooms.map((r) => r.name) ?? []),
        ]),
      navigate: (key) =>
        view?.navigate(key, (to) => {
          state.partner = to;
          screen?.setPrompt(promptFor());
        }) ?? false,
    });
    screen.onInterrupt(() => leave(false).then(() => Deno.exit(0)));
    view?.redraw();
    try {
      Deno.addSignalListener("SIGWINCH", () => view?.redraw());
    } catch {
      // No SIGWINCH on this platform: the size is read again at each redraw.
    }
  }
  const lines = screen ? screen.lines() : readLines(Deno.stdin.readable);
  for await (const line of lines) {
    if (line instanceof Error) {
      sink.event({ event: "error", message: line.message });
      continue;
    }
    const before = state.partner;
    if (await handleLine(line, state, peer, sink) === "quit") break;
    if (state.partner !== before) view?.show({ event: "partner", name: state.partner });
    screen?.setPrompt(promptFor());
  }
  await leave(true);
  return 0;
}

function bindErrorMessage(error: unknown, args: PeerArgs): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return `UDP port ${args.port} is already in use here. Leave out --port to pick a free one.`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `This machine has no address ${args.host}. Leave out --host to use every interface.`;
  }
  return (error as Error).message;
}
