/**
 * Making the kernel fail a socket's receives, for tests of what a loop does
 * when `recvfrom` keeps failing (out of file descriptors, say), without a
 * mock: the socket's file descriptor is pointed at `/dev/null` for a while
 * with `dup2(2)` (through FFI and the C library), so every `recvfrom` on it
 * fails with `ENOTSOCK` at once, and is pointed back at the socket afterwards,
 * which then works as before. Linux only (it finds the descriptor through
 * `/proc/self`); needs `--allow-ffi` and `--allow-read`.
 *
 * Why this works: Deno's receive tries the system call at once while the
 * socket is marked readable, and keeps that mark on any error but "would
 * block" — so after one datagram, a broken descriptor fails every receive at
 * once, exactly as a persistent kernel error would. The epoll registration
 * stays with the socket itself (a saved duplicate keeps it open), so putting
 * the descriptor back restores delivery.
 *
 * @module
 */

/** Whether {@linkcode breakReceives} can work here. */
export const canBreakReceives: boolean = Deno.build.os === "linux";

/** A socket whose receives fail until {@linkcode BrokenSocket.repair} is called. */
export interface BrokenSocket {
  /** Points the descriptor back at the socket and releases everything. Safe to call twice. */
  repair(): void;
}

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  dup: { parameters: ["i32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/** The file descriptor of this process's IPv4 UDP socket bound to `port`. */
function udpSocketFd(port: number): number {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const inodes = new Set<string>();
  for (const line of Deno.readTextFileSync("/proc/self/net/udp").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(hexPort)) inodes.add(`socket:[${fields[9]}]`);
  }
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (inodes.has(Deno.readLinkSync(`/proc/self/fd/${entry.name}`))) return Number(entry.name);
    } catch {
      // Closed meanwhile (the directory's own descriptor, say).
    }
  }
  throw new Error(`No UDP socket of this process is bound to port ${port}.`);
}

/**
 * Makes every receive on this process's UDP socket bound to `port` fail with
 * `ENOTSOCK` until `repair()`. The socket must have received a datagram since
 * it was last idle, so that Deno tries the call at once (see the module doc).
 */
export function breakReceives(port: number): BrokenSocket {
  const libc = Deno.dlopen("libc.so.6", SYMBOLS);
  const { open, dup, dup2, close } = libc.symbols;
  let saved = -1;
  let devNull = -1;
  let fd = -1;
  const release = () => {
    if (saved >= 0) {
      dup2(saved, fd);
      close(saved);
      saved = -1;
    }
    if (devNull >= 0) close(devNull);
    devNull = -1;
  };
  try {
    fd = udpSocketFd(port);
    saved = dup(fd);
    devNull = open(new TextEncoder().encode("/dev/null\0"), 0);
    if (saved < 0 || devNull < 0 || dup2(devNull, fd) < 0) {
      throw new Error("dup/open/dup2 failed");
    }
  } catch (error) {
    release();
    libc.close();
    throw error;
  }
  let repaired = false;
  return {
    repair() {
      if (repaired) return;
      repaired = true;
      release();
      libc.close();
    },
  };
}
