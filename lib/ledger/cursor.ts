import { decodeKeyset, encodeKeyset, type Keyset } from "./keyset";

/** Keyset-pagination cursors of the runs list (see ./keyset): by created_at or finished_at, either way. */
export type RunSort = "created" | "finished";
export type CursorDirection = "next" | "prev";

export interface RunCursor extends Keyset {
  sort: RunSort;
  /** next: rows after this one in display order; prev: rows before it. */
  direction: CursorDirection;
}

const tags = ["c|n", "c|p", "f|n", "f|p"] as const;

export function encodeCursor(cursor: RunCursor): string {
  return encodeKeyset(`${cursor.sort === "created" ? "c" : "f"}|${cursor.direction === "next" ? "n" : "p"}`, cursor);
}

/** Null for anything that is not a cursor this module made (and that still names a valid row key). */
export function decodeCursor(value: string): RunCursor | null {
  const decoded = decodeKeyset(value, tags);
  if (!decoded) return null;
  const [sort, direction] = decoded.tag.split("|");
  return { sort: sort === "c" ? "created" : "finished", direction: direction === "n" ? "next" : "prev", at: decoded.at, id: decoded.id };
}
