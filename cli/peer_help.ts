/**
 * The help text of `peerchat peer` (its options, and the commands while chatting).
 *
 * @example
 * ```ts
 * import { PEER_HELP } from "./peer_help.ts";
 * console.log(PEER_HELP);
 * ```
 *
 * @module
 */

import { HELP } from "../ui/commands.ts";
import { DEFAULT_COORDINATOR_PORT, DISCOVERY_PORT } from "../protocol.ts";

/** Default keep-alive interval, in seconds. */
export const DEFAULT_KEEPALIVE_S = 1;

/** Help for `peerchat peer`. */
export const PEER_HELP = `Usage: peerchat peer [--name NAME] [--coordinator HOST[:PORT]] [options]

Logs in to a coordinator, then chats with other peers directly. Without
--coordinator it finds one on the LAN (UDP broadcast); on a terminal it lets
you pick when there are several, and offers to start one when there is none.

The first run with a data directory creates your identity there (your keys;
"peerchat identity --help" moves it to another machine). peerchat pins the
first key it sees for each name and warns when it changes: compare keys with
/verify NAME, accept a changed one with /trust NAME.

Options:
  --name NAME            your name: 1-32 letters, digits, _ - . (asked for on a terminal)
  --coordinator H[:P]    the coordinator's address (port defaults to ${DEFAULT_COORDINATOR_PORT}); found by
                         discovery when left out
  --discovery-port N     UDP port discovery broadcasts go to (default ${DISCOVERY_PORT})
  --host ADDR            address to bind this peer's UDP socket to (default 0.0.0.0)
  --port N               UDP port to chat on (default 0 = any free port)
  --data DIR             where history, unsent messages, your identity (keys) and the
                         keys you trust are kept
                         (default: ~/.local/share/peerchat/NAME, or %LOCALAPPDATA%\\peerchat\\NAME)
  --keepalive S          seconds between keep-alives to the coordinator (default ${DEFAULT_KEEPALIVE_S})
  --trust-coordinator    accept the coordinator's key though another one was pinned
                         when this peer first used it (after the coordinator was
                         reinstalled or lost its data: check with the teacher)
  --expire S             give up on undelivered messages after S seconds
                         (default 0: keep them until delivered or /giveup)
  --downloads DIR        where accepted files land when /accept names no folder
                         (default: $XDG_DOWNLOAD_DIR or ~/Downloads; %USERPROFILE%\\Downloads)
  --accept-files DIR     accept every file offer into DIR without asking
  --offer-expiry D       how long your offers wait for an answer: 30m, 24h, 7d or
                         seconds (default 24h)
  --json                 one JSON object per line on stdout; commands still come from stdin
  --trace                print every datagram and TCP exchange to stderr
  -h, --help             this help

Commands while chatting:
${HELP.replace(/^/gm, "  ")}

Rooms: /join #lab joins (or creates) #lab and makes it the conversation; a
room's lines reach every member exactly once, peer to peer. Every online user
is in #all (announce-only when the coordinator says so: only its owners post).
On the chat screen the rooms are listed above the people, with unread counts.

With --json, room messages are "message" events with "room", "seq" and
"clock"; room happenings and answers are events of their own, e.g.
  {"event":"message","from":"bob","id":"#lab/bob/7","time":"14:05:09","text":"hi","reliable":true,"room":"#lab","seq":7,"clock":42}
  {"event":"room-join","room":"#lab","name":"carol"}
  {"event":"room-part","room":"#lab","name":"carol","reason":"part"}
  {"event":"room-topic","room":"#lab","topic":"Lab 3 at 10:00"}
  {"event":"room-members","room":"#lab","version":9,"members":["alice","bob"],"owners":["alice"],"inviteOnly":false,"announceOnly":false,"history":"shared"}
  {"event":"room-invite","room":"#games","by":"bob"}
  {"event":"room-error","room":"#all","code":"announce-only","message":"Only the owners of #all may post there (announce-only)."}
  {"event":"room-ok","command":"join","room":"#lab","state":{…},"text":"…"}
  {"event":"room-sent","room":"#lab","id":"#lab/alice/3","text":"hi all"}
  {"event":"names","room":"#lab","members":[{"name":"alice","online":true,"owner":true}],…}
  {"event":"rooms","rooms":[{"room":"#all","online":12,"unread":0,…}],"text":"…"}
  {"event":"topic","room":"#lab","topic":"Lab 3 at 10:00","text":"…"}
  {"event":"history","with":"#lab","room":"#lab","entries":[{"from":"bob","id":"#lab/bob/7","seq":7,"clock":42,"time":"2026-11-29T14:05:09.120Z","text":"hi","own":false}],"text":"…"}`;
