/**
 * Keyset-pagination cursors, one format for every list: a row named by its sort timestamp, kept as
 * text with microseconds (a JS Date would drop them and make ties at the same millisecond skip or
 * repeat rows), the id that breaks ties, and a tag saying which list and direction it belongs to.
 * Opaque to users: base64url of `<tag>|<timestamp>|<id>`. Pure code, so proxy.ts can validate cursors.
 */
export interface Keyset {
  /** UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, exactly as Postgres gave it. */
  at: string;
  id: number;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ID = /^[1-9]\d{0,15}$/;
const MAX_LENGTH = 200;

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

export function encodeKeyset(tag: string, key: Keyset): string {
  return toBase64Url(`${tag}|${key.at}|${key.id}`);
}

/** The tag and key of a cursor made by encodeKeyset with one of `tags`; null for anything else. */
export function decodeKeyset<T extends string>(value: string, tags: readonly T[]): ({ tag: T } & Keyset) | null {
  if (value.length === 0 || value.length > MAX_LENGTH) return null;
  const text = fromBase64Url(value);
  if (!text) return null;
  const parts = text.split("|");
  if (parts.length < 3) return null;
  const id = parts.pop()!;
  const at = parts.pop()!;
  const tag = parts.join("|");
  if (!(tags as readonly string[]).includes(tag)) return null;
  if (!TIMESTAMP.test(at) || Number.isNaN(Date.parse(at)) || !ID.test(id)) return null;
  const numericId = Number(id);
  return Number.isSafeInteger(numericId) ? { tag: tag as T, at, id: numericId } : null;
}
