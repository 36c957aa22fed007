/**
 * Keyset cursor of the duplicates list, which is ordered newest first by (attempted_at, id). The
 * timestamp stays text with microseconds, as Postgres gave it (a JS Date would drop them and skip or
 * repeat attempts recorded in the same millisecond). Opaque to users: base64url of
 * `d|<direction>|<timestamp>|<id>`. Pure code, so proxy.ts can validate it too.
 */
export type DuplicateCursorDirection = "older" | "newer";

export interface DuplicateCursor {
  /** older: the page after this attempt (further back in time); newer: the page before it. */
  direction: DuplicateCursorDirection;
  /** UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
  at: string;
  id: number;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ID = /^[1-9]\d{0,15}$/;
const MAX_LENGTH = 120;

export function encodeDuplicateCursor(cursor: DuplicateCursor): string {
  const text = `d|${cursor.direction === "older" ? "o" : "n"}|${cursor.at}|${cursor.id}`;
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Null for anything this module did not make. */
export function decodeDuplicateCursor(value: string): DuplicateCursor | null {
  if (value.length === 0 || value.length > MAX_LENGTH || !/^[A-Za-z0-9_-]+$/.test(value)) return null;
  let text: string;
  try {
    text = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const parts = text.split("|");
  if (parts.length !== 4) return null;
  const [kind, direction, at, id] = parts as [string, string, string, string];
  if (kind !== "d" || (direction !== "o" && direction !== "n")) return null;
  if (!TIMESTAMP.test(at) || Number.isNaN(Date.parse(at)) || !ID.test(id)) return null;
  const numericId = Number(id);
  if (!Number.isSafeInteger(numericId)) return null;
  return { direction: direction === "o" ? "older" : "newer", at, id: numericId };
}
