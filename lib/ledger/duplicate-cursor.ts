import { decodeKeyset, encodeKeyset, type Keyset } from "./keyset";

/** Keyset cursor of the duplicates list, newest first by (attempted_at, id) (see ./keyset). */
export type DuplicateCursorDirection = "older" | "newer";

export interface DuplicateCursor extends Keyset {
  /** older: the page after this attempt (further back in time); newer: the page before it. */
  direction: DuplicateCursorDirection;
}

const tags = ["d|o", "d|n"] as const;

export function encodeDuplicateCursor(cursor: DuplicateCursor): string {
  return encodeKeyset(cursor.direction === "older" ? "d|o" : "d|n", cursor);
}

/** Null for anything this module did not make. */
export function decodeDuplicateCursor(value: string): DuplicateCursor | null {
  const decoded = decodeKeyset(value, tags);
  return decoded ? { direction: decoded.tag === "d|o" ? "older" : "newer", at: decoded.at, id: decoded.id } : null;
}
