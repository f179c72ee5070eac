/**
 * File events as line-mode output: {@linkcode filePrinter} remembers from each offer who the
 * other side is and which way the data goes (later events carry only the id), and prints
 * progress once per tenth of the way rather than four times a second.
 *
 * @example
 * ```ts
 * import { filePrinter } from "./file_printer.ts";
 * import { painter } from "./format.ts";
 * const print = filePrinter(painter(false));
 * print({ event: "file-resuming", id: "k3f9", bytes: 63, total: 100 }); // "↻ offer k3f9 resuming at 63% (…)"
 * ```
 *
 * @module
 */

import type { Painter } from "./format.ts";
import {
  type FileEvent,
  fileEventText,
  progressStep,
  progressText,
  type TransferSide,
} from "./file_text.ts";

/** The most transfers remembered (the oldest is forgotten first). */
export const REMEMBERED = 1000;

/** Returns a function giving the line-mode text of each file event, or `undefined` for none. */
export function filePrinter(
  paint: Painter,
  now: () => number = Date.now,
): (event: FileEvent) => string | undefined {
  const sides = new Map<string, TransferSide>();
  const tenths = new Map<string, number>();
  const remember = (id: string, side: TransferSide) => {
    sides.delete(id);
    sides.set(id, side);
    if (sides.size > REMEMBERED) {
      const oldest = sides.keys().next().value!;
      sides.delete(oldest);
      tenths.delete(oldest);
    }
  };
  return (event) => {
    const side = sides.get(event.id);
    switch (event.event) {
      case "file-offer":
      case "file-accepted": {
        const peer = event.from ?? event.to;
        if (peer !== undefined) remember(event.id, { direction: event.from ? "in" : "out", peer });
        const text = fileEventText(event, undefined, now());
        return event.event === "file-offer" && event.from ? paint("bold", text!) : text;
      }
      case "file-progress": {
        const tenth = progressStep(tenths.get(event.id), event.bytes, event.total);
        if (tenth === undefined) return undefined;
        tenths.set(event.id, tenth);
        return paint("dim", progressText(event));
      }
      case "file-resuming":
        tenths.set(event.id, Math.floor((event.bytes / Math.max(1, event.total)) * 10));
        return paint("yellow", fileEventText(event, side)!);
      case "file-done":
      case "file-failed":
        tenths.delete(event.id);
        return paint(
          event.event === "file-done" ? "green" : "red",
          fileEventText(event, side, now())!,
        );
      case "file-refused":
        return paint("yellow", fileEventText(event, side)!);
    }
  };
}
