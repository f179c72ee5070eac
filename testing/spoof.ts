/**
 * A datagram with a forged source address, as an attacker on a LAN sends one: here on loopback,
 * through a raw IPv4 socket (Python's, since Deno has none), so a test can send a peer datagrams
 * "from" its coordinator's own address and port. It needs root and python3; {@linkcode canSpoof}
 * says whether this machine has them, and tests that need it say `SPOOF SKIPPED` otherwise.
 * Only 127.0.0.0/8 is ever a destination.
 *
 * @module
 */

import type { Endpoint } from "../protocol.ts";

const SCRIPT = `
import socket, struct, sys
src, sport, dst, dport, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), bytes.fromhex(sys.argv[5])
udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (dst, 0))
`;

let available: Promise<boolean> | undefined;

/** Whether this machine can send datagrams with a forged source (root and python3). */
export function canSpoof(): Promise<boolean> {
  available ??= (async () => {
    if (Deno.uid?.() !== 0) return false;
    try {
      const probe = await new Deno.Command("python3", {
        args: ["-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 255)"],
        stdout: "null",
        stderr: "null",
      }).output();
      return probe.success;
    } catch {
      return false;
    }
  })();
  return available;
}

/** Sends `payload` to `to` (on 127.0.0.0/8) as if it came from `from`. */
export async function spoofUdp(from: Endpoint, to: Endpoint, payload: Uint8Array): Promise<void> {
  if (!to.host.startsWith("127.")) throw new Error("Spoofed datagrams go to loopback only.");
  const hex = Array.from(payload, (b) => b.toString(16).padStart(2, "0")).join("");
  const sent = await new Deno.Command("python3", {
    args: ["-c", SCRIPT, from.host, String(from.port), to.host, String(to.port), hex],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!sent.success) throw new Error(new TextDecoder().decode(sent.stderr));
}
