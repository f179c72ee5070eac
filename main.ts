/**
 * peerchat: a hybrid peer-to-peer instant messenger for a LAN.
 *
 * ```sh
 * peerchat coordinator                     # once per LAN
 * peerchat peer --name alice --coordinator 192.168.1.5
 * ```
 *
 * @module
 */

import { parseCli } from "./cli/cli.ts";

/** Runs peerchat with the given arguments and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const command = parseCli(args, Deno.stdin.isTerminal());
  switch (command.command) {
    case "help":
    case "version":
      console.log(command.text);
      return 0;
    case "usage-error":
      console.error(command.message);
      return 2;
    // Each subcommand loads only its own modules: start-up time matters to a chat client.
    case "coordinator":
      return await (await import("./cli/run_coordinator.ts")).runCoordinator(command);
    case "peer":
      return await (await import("./cli/run_peer.ts")).runPeer(command);
    case "doctor":
      return await (await import("./cli/run_doctor.ts")).runDoctor(command);
    case "identity":
      return await (await import("./cli/identity.ts")).runIdentity(command);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
