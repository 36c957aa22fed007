/**
 * Keyset-pagination cursors for the runs list. A cursor names one row by its sort key, the timestamp
 * kept as text with microseconds (a JS Date would drop them and make ties at the same millisecond skip
 * or repeat rows), plus the row id that breaks ties. It is opaque to users: base64url of
 * `<sort>|<direction>|<timestamp>|<id>`. Pure code with no Node APIs, so proxy.ts can validate it too.
 */
export type RunSort = "created" | "finished";
export type CursorDirection = "next" | "prev";

export interface RunCursor {
  sort: RunSort;
  /** next: rows after this one in display order; prev: rows before it. */
  direction: CursorDirection;
  /** UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, exactly as Postgres gave it. */
  at: string;
  id: number;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ID = /^[1-9]\d{0,15}$/;
const MAX_CURSOR_LENGTH = 200;

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(value: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) return null;
  try {
    const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

export function encodeCursor(cursor: RunCursor): string {
  return toBase64Url(`${cursor.sort === "created" ? "c" : "f"}|${cursor.direction === "next" ? "n" : "p"}|${cursor.at}|${cursor.id}`);
}

/** Null for anything that is not a cursor this module made (and that still names a valid row key). */
export function decodeCursor(value: string): RunCursor | null {
  if (value.length === 0 || value.length > MAX_CURSOR_LENGTH) return null;
  const text = fromBase64Url(value);
  if (!text) return null;
  const parts = text.split("|");
  if (parts.length !== 4) return null;
  const [sort, direction, at, id] = parts as [string, string, string, string];
  if ((sort !== "c" && sort !== "f") || (direction !== "n" && direction !== "p")) return null;
  if (!TIMESTAMP.test(at) || Number.isNaN(Date.parse(at)) || !ID.test(id)) return null;
  const numericId = Number(id);
  if (!Number.isSafeInteger(numericId)) return null;
  return { sort: sort === "c" ? "created" : "finished", direction: direction === "n" ? "next" : "prev", at, id: numericId };
}
