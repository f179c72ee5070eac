/**
 * Choosing the coordinator when none was named: discover, then use the one
 * that answered, let the user pick among several, or — on a terminal, when
 * none answered — offer to start one on this machine.
 *
 * @module
 */

import { parseHostPort } from "./cli.ts";
import type { Coordinator } from "../coordinator.ts";
import { loadPrompts } from "../deps.ts";
import { discoverCoordinators, type FoundCoordinator } from "../net/discovery.ts";
import { startWithFallback } from "./run_coordinator.ts";
import { DEFAULT_COORDINATOR_PORT, type Endpoint, formatEndpoint } from "../protocol.ts";
import type { TraceSink } from "../net/udp.ts";
import { visible } from "../ui/visible.ts";

/**
 * Describes a found coordinator for people: `10.0.0.5:8888 (lab-pc, 12 online)`. The label is
 * free text from the network: anything a terminal would execute in it is shown escaped.
 */
export function describeCoordinator(found: FoundCoordinator): string {
  const label = found.label ? `${visible(found.label)}, ` : "";
  return `${formatEndpoint(found.address)} (${label}${found.users} online)`;
}

/** What to do with the discovery results. Pure, for tests. */
export type Decision =
  | { kind: "use"; coordinator: FoundCoordinator }
  | { kind: "choose"; coordinators: FoundCoordinator[] }
  | { kind: "none" }
  | { kind: "error"; message: string };

/** Decides from what discovery found, and whether a person can be asked. */
export function decide(found: FoundCoordinator[], interactive: boolean, port: number): Decision {
  if (found.length === 1) return { kind: "use", coordinator: found[0] };
  if (found.length > 1) {
    if (interactive) return { kind: "choose", coordinators: found };
    return {
      kind: "error",
      message: `Several coordinators answered: ${
        found.map(describeCoordinator).join("; ")
      }. Choose one with --coordinator HOST[:PORT].`,
    };
  }
  if (interactive) return { kind: "none" };
  return {
    kind: "error",
    message:
      `No coordinator answered on this LAN (discovery broadcast to UDP port ${port}). Start one with "peerchat coordinator", or name it with --coordinator HOST[:PORT]; "peerchat doctor" checks the network.`,
  };
}

/** The chosen coordinator, and the one this process started, if it did. */
export interface Chosen {
  address: Endpoint;
  started?: Coordinator;
}

/** Options for {@linkcode findCoordinator}. */
export interface FindOptions {
  interactive: boolean;
  bindHost: string;
  discoveryPort: number;
  trace?: TraceSink;
  /** Tells the user something (non-interactive, human mode). */
  say: (text: string) => void;
}

/** Discovers and decides; returns the coordinator, or an error message, or `"cancelled"`. */
export async function findCoordinator(
  options: FindOptions,
): Promise<Chosen | { error: string } | "cancelled"> {
  const prompts = options.interactive ? await loadPrompts() : undefined;
  const spinner = prompts?.spinner();
  spinner?.start("Looking for a coordinator on this LAN");
  const found = await discoverCoordinators({
    bindHost: options.bindHost,
    port: options.discoveryPort,
    trace: options.trace,
  });
  spinner?.stop(
    found.length === 0
      ? "No coordinator answered"
      : `Found ${found.map(describeCoordinator).join(", ")}`,
  );
  const decision = decide(found, options.interactive, options.discoveryPort);
  switch (decision.kind) {
    case "use":
      if (!options.interactive) {
        options.say(`Found the coordinator ${describeCoordinator(decision.coordinator)}.`);
      }
      return { address: decision.coordinator.address };
    case "error":
      return { error: decision.message };
    // decide() asks a person (choose, none) only when interactive: the prompts are loaded then.
    case "choose": {
      const answer = await prompts!.select({
        message: "Several coordinators answered. Which one?",
        options: decision.coordinators.map((c) => ({ value: c, label: describeCoordinator(c) })),
      });
      if (prompts!.isCancel(answer)) return "cancelled";
      return { address: answer.address };
    }
    case "none":
      return await offerToStart(options, prompts!);
  }
}

async function offerToStart(
  options: FindOptions,
  prompts: Awaited<ReturnType<typeof loadPrompts>>,
): Promise<Chosen | "cancelled"> {
  const start = await prompts.confirm({
    message: "No coordinator answered on this LAN. Start one on this machine?",
    initialValue: true,
  });
  if (prompts.isCancel(start)) return "cancelled";
  if (start) {
    const coordinator = startWithFallback({
      host: "0.0.0.0",
      port: DEFAULT_COORDINATOR_PORT,
      discoveryPort: options.discoveryPort,
    }, false);
    prompts.log.success(
      `Started a coordinator here on UDP ${coordinator.udpAddress.port}; others on the LAN find it by themselves. It stops when you quit.`,
    );
    return {
      address: { host: "127.0.0.1", port: coordinator.udpAddress.port },
      started: coordinator,
    };
  }
  const typed = await prompts.text({
    message: "Coordinator address (ask your teacher)",
    placeholder: "192.168.1.5:8888",
    validate: (value) => {
      const parsed = parseHostPort(value ?? "");
      return "error" in parsed ? parsed.error : undefined;
    },
  });
  if (prompts.isCancel(typed)) return "cancelled";
  const parsed = parseHostPort(typed.trim());
  if ("error" in parsed) return "cancelled";
  return { address: { host: parsed.host, port: parsed.port } };
}
