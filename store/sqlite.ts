/**
 * The coordinator's SQLite (`node:sqlite`, built into Deno), imported here only: how a database
 * file is opened — WAL, a 5 s busy timeout, `synchronous = NORMAL` — for the name registry
 * (name_registry.ts) and the rooms (room_registry.ts), which share `registry.db`.
 *
 * @example
 * ```ts
 * import { openDatabase } from "./sqlite.ts";
 *
 * const db = openDatabase(":memory:", "CREATE TABLE IF NOT EXISTS t (a TEXT)", "a test table");
 * db.close();
 * ```
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { errorText } from "../core/errors.ts";

export { DatabaseSync, type StatementSync };

/**
 * Opens `path` (a file, or `:memory:`) and runs `schema` (its `CREATE … IF NOT EXISTS`).
 *
 * @throws {Error} naming `what`, the path and SQLite's reason when it cannot be opened.
 */
export function openDatabase(path: string, schema: string, what: string): DatabaseSync {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 5000");
    if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec(schema);
    return db;
  } catch (error) {
    try {
      db?.close();
    } catch {
      // Not open.
    }
    throw new Error(`Cannot open ${what} ${path}: ${errorText(error)}`);
  }
}
