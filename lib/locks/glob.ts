/**
 * Redis's glob (`SCAN ... MATCH`, `KEYS`), reimplemented so the console can decide whether a key
 * belongs to a configured pattern without asking Redis: a release request for a key outside every
 * pattern is refused, so the Locks screen can never be used to delete arbitrary keys.
 *
 * Matches on UTF-8 bytes, as Redis does (`?` is one byte, not one character), with Redis's rules:
 * `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` (reversed ranges allowed), `\` escapes the next byte, and a
 * trailing `\` or an unterminated `[` are taken literally the way Redis's stringmatchlen takes them.
 */
const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const DASH = 0x2d;

function toBytes(text: string | Uint8Array): Uint8Array {
  return typeof text === "string" ? new TextEncoder().encode(text) : text;
}

/** Matches one pattern element at `p` against byte `c`: the next pattern index, or -1. */
function matchOne(pattern: Uint8Array, p: number, c: number): number {
  const m = pattern.length;
  const head = pattern[p]!;
  if (head === QUESTION) return p + 1;
  if (head === BACKSLASH && p + 1 < m) return pattern[p + 1] === c ? p + 2 : -1;
  if (head !== OPEN) return head === c ? p + 1 : -1;

  let i = p + 1;
  const negate = pattern[i] === CARET;
  if (negate) i++;
  let matched = false;
  for (;;) {
    if (i >= m) {
      // Unterminated class: Redis stops at the end of the pattern and uses what it read.
      break;
    }
    const b = pattern[i]!;
    if (b === CLOSE) {
      i++;
      break;
    }
    if (b === BACKSLASH && i + 1 < m) {
      if (pattern[i + 1] === c) matched = true;
      i += 2;
      continue;
    }
    if (i + 2 < m && pattern[i + 1] === DASH) {
      let start = b;
      let end = pattern[i + 2]!;
      if (start > end) [start, end] = [end, start];
      if (c >= start && c <= end) matched = true;
      i += 3;
      continue;
    }
    if (b === c) matched = true;
    i++;
  }
  return matched !== negate ? i : -1;
}

/** `text` as a string is matched on its UTF-8 bytes; a key read as bytes (binary) is matched as it is. */
export function globMatch(pattern: string, text: string | Uint8Array): boolean {
  const pat = toBytes(pattern);
  const str = toBytes(text);
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = -1;
  while (s < str.length) {
    if (p < pat.length && pat[p] === STAR) {
      while (p < pat.length && pat[p] === STAR) p++;
      if (p === pat.length) return true;
      starP = p;
      starS = s;
      continue;
    }
    const next = p < pat.length ? matchOne(pat, p, str[s]!) : -1;
    if (next !== -1) {
      p = next;
      s++;
      continue;
    }
    if (starP === -1) return false;
    // Let the last star swallow one more byte and try again from there.
    starS++;
    s = starS;
    p = starP;
  }
  while (p < pat.length && pat[p] === STAR) p++;
  return p === pat.length;
}

/** A literal string as a glob that matches only itself (for building patterns from prefixes). */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** The fixed text a pattern starts with, up to its first wildcard (escapes resolved). */
export function literalPrefix(pattern: string): string {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" || c === "?" || c === "[") break;
    if (c === "\\" && i + 1 < pattern.length) {
      out += pattern[++i];
      continue;
    }
    out += c;
  }
  return out;
}

/**
 * True when every key `pattern` matches is also matched by `wider`, judged only for the common case
 * of a plain prefix pattern (`lock:*` covers `lock:order:*`): then scanning `pattern` again is a second
 * pass over the whole keyspace for nothing. Anything else is reported as not covered.
 */
export function coveredBy(pattern: string, wider: string): boolean {
  const prefix = literalPrefix(wider);
  if (wider !== `${escapeGlob(prefix)}*`) return false;
  return literalPrefix(pattern).startsWith(prefix);
}

/**
 * Why a configured lock pattern is refused, or null. A pattern must start with a literal prefix
 * (`lock:*`, `task:*`): `*`, `?x` or `[a-z]*` match keys of any kind (sessions, caches, queues), and
 * every key a pattern matches is one the console lists as a lock and lets an operator delete.
 */
export function lockPatternProblem(pattern: string): string | null {
  const first = toBytes(pattern)[0];
  if (first === undefined) return "a pattern cannot be empty";
  if (first === STAR || first === QUESTION || first === OPEN) {
    return `${JSON.stringify(pattern)} does not start with a fixed prefix (like lock:*): it would match every kind of key in Redis, and the console lets operators delete what its patterns match`;
  }
  return null;
}
