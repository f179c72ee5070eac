/**
 * The online list the coordinator writes over TCP after a login:
 * `NAME,IP:PORT;…;end` for seed clients, and the extended form with a third
 * field, the flavour, and for peerchat/2 users a fourth, their X25519 key, and
 * a fifth when they have further candidates (`CAND|CAND…`), for peerchat peers
 * that sent their ticket. (The C# client gets it framed as a
 * `BinaryWriter` string: binary_writer.ts.)
 *
 * @module
 */

import {
  type Endpoint,
  formatCandidates,
  formatEndpoint,
  parseCandidates,
  parseEndpoint,
} from "./endpoint.ts";
import { checkedKey } from "./auth.ts";
import { checkedName, FLAVOR_PATTERN } from "./fields.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";
import { stripNewline } from "./text.ts";

/** One entry of the online list. */
export interface ListEntry {
  /** Who is online. */
  name: string;
  /** Where they receive datagrams. */
  endpoint: Endpoint;
  /** Only in the extended list: `peerchat/2`, `seed/utf16`, or empty for a plain seed client. */
  flavor?: string;
  /** Only in the extended list, for peerchat/2 users: their X25519 public key (base64url). */
  key?: string;
  /** Only in the extended list, after a key: further endpoints (1–4, never `endpoint`). */
  candidates?: Endpoint[];
}

/** The last item of every online list. */
export const LIST_END = "end";

/**
 * Formats the online list: `n1,ep1;n2,ep2;…;end` (an empty list is `end`).
 * With `extended`, each entry carries its flavour, key and candidates:
 * `n1,ep1,peerchat/2,KEY[,CAND|CAND];n2,ep2,;…;end`.
 */
export function formatList(entries: Iterable<ListEntry>, extended = false): string {
  let text = "";
  for (const entry of entries) {
    const endpoint = formatEndpoint(entry.endpoint);
    const candidates = entry.candidates && entry.candidates.length > 0
      ? formatCandidates(entry.candidates)
      : undefined;
    text += extended
      ? formatListEntry(entry.name, endpoint, entry.flavor ?? "", entry.key, candidates)
      : formatListEntry(entry.name, endpoint);
  }
  return text + LIST_END;
}

/**
 * One online-list entry with its `;`: `NAME,IP:PORT;`, or with a `flavor` (the extended list)
 * `NAME,IP:PORT,FLAVOUR;`, with a `key` too `NAME,IP:PORT,FLAVOUR,KEY;`, and with `candidates`
 * (already a candidates field, see `formatCandidates`) after the key
 * `NAME,IP:PORT,FLAVOUR,KEY,CAND|CAND;`.
 */
export function formatListEntry(
  name: string,
  endpoint: string,
  flavor?: string,
  key?: string,
  candidates?: string,
): string {
  if (flavor === undefined) return `${name},${endpoint};`;
  if (!key) return `${name},${endpoint},${flavor};`;
  return candidates
    ? `${name},${endpoint},${flavor},${key},${candidates};`
    : `${name},${endpoint},${flavor},${key};`;
}

/** Parses the online list in either form; the text must end with `end`. */
export function parseList(text: string): ParseResult<ListEntry[]> {
  const body = stripNewline(text);
  if (body.length === 0) return fail("empty", "The online list is empty; it must end with end.");
  const items = body.split(";");
  if (items[items.length - 1].trim() !== LIST_END) {
    return fail("bad-list", "The online list does not end with ;end — it may be cut short.");
  }
  const entries: ListEntry[] = [];
  for (const item of items.slice(0, -1)) {
    const fields = item.split(",");
    if (fields.length < 2 || fields.length > 5) {
      return fail("bad-list", `List entry "${clip(item)}" is not NAME,IP:PORT.`);
    }
    const name = checkedName(fields[0]);
    if (!name.ok) return name;
    const endpoint = parseEndpoint(fields[1].trim());
    if (!endpoint.ok) return endpoint;
    const entry: ListEntry = { name: name.value, endpoint: endpoint.value };
    if (fields.length >= 3) {
      // The extended list: a flavour for every entry, empty for plain seed clients.
      const flavor = fields[2].trim();
      if (flavor && !FLAVOR_PATTERN.test(flavor)) {
        return fail("bad-flavor", `"${clip(flavor)}" is not a flavour such as peerchat/2.`);
      }
      entry.flavor = flavor;
    }
    if (fields.length >= 4) {
      // A key only after a flavour: a peerchat/2 user's.
      const key = checkedKey(fields[3]);
      if (!entry.flavor || !key.ok) {
        return fail("bad-list", `List entry "${clip(item)}" has a key that is not one.`);
      }
      entry.key = key.value;
    }
    if (fields.length === 5) {
      const candidates = parseCandidates(fields[4], entry.endpoint);
      if (!candidates.ok) {
        return fail("bad-list", `List entry "${clip(item)}": ${candidates.error.message}`);
      }
      entry.candidates = candidates.value;
    }
    entries.push(entry);
  }
  return ok(entries);
}
