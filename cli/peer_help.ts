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
${HELP.replace(/^/gm, "  ")}`;
