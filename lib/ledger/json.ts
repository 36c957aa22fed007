import { hash } from "node:crypto";
import canonicalize from "canonicalize";
import { ValidationError } from "@/lib/errors";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const MAX_DEPTH = 64;

// A UTF-16 surrogate without its partner: JSON can spell it ("\ud800"), but it is not Unicode, and
// Postgres refuses it in jsonb (and replaces it in text).
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why Postgres cannot store this text as it is, or null: U+0000, or an unpaired surrogate. */
export function textProblem(text: string): string | null {
  if (text.includes("\u0000")) return "must not contain U+0000";
  if (UNPAIRED_SURROGATE.test(text)) return "must be valid Unicode (it has an unpaired surrogate)";
  return null;
}

const UNPAIRED_SURROGATES = new RegExp(UNPAIRED_SURROGATE.source, "g");

/**
 * Text with every lone UTF-16 surrogate replaced by U+FFFD. Postgres refuses a lone surrogate in
 * jsonb, and error messages can carry one (V8's JSON.parse quotes the offending code unit, so a
 * payload starting with an emoji yields half of it): an audit row must never fail on its message.
 */
export function wellFormed(text: string): string {
  return text.replace(UNPAIRED_SURROGATES, "\uFFFD");
}

/**
 * Text made storable for a record the ledger must write whatever it holds (an error's message or
 * stack): U+0000 and unpaired surrogates become U+FFFD, and text over `maxChars` is cut (never inside
 * a surrogate pair) with a note of how much was dropped.
 */
export function storableText(text: string, maxChars: number): string {
  let out = wellFormed(text.replaceAll("\u0000", "\uFFFD"));
  if (out.length > maxChars) {
    let cut = maxChars;
    if (/[\uD800-\uDBFF]/.test(out.charAt(cut - 1))) cut -= 1;
    out = `${out.slice(0, cut)}… [${out.length - cut} more characters cut]`;
  }
  return out;
}

/**
 * The first string or key in plain data (parsed JSON, a form as an object) that Postgres cannot store,
 * with its path (`lock.0.key`); null when there is none. Input at the boundary is checked with this, so
 * such text is a 400 naming the field instead of a driver error halfway through an operation.
 */
export function findUnstorableText(value: unknown, path: string[] = []): { path: string; message: string } | null {
  if (typeof value === "string") {
    const problem = textProblem(value);
    return problem ? { path: path.join("."), message: problem } : null;
  }
  if (value === null || typeof value !== "object") return null;
  if (path.length > MAX_DEPTH) return { path: path.join("."), message: `must not be nested deeper than ${MAX_DEPTH}` };
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorableText(item, [...path, String(index)]);
      if (found) return found;
    }
    return null;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return null;
  for (const [key, item] of Object.entries(value)) {
    const problem = textProblem(key);
    if (problem) return { path: [...path, key].join("."), message: `its name ${problem}` };
    const found = findUnstorableText(item, [...path, key]);
    if (found) return found;
  }
  return null;
}

/**
 * Checks that a value is plain JSON that survives a round trip through jsonb unchanged, so the stored
 * payload, the fingerprint and what the worker saw are the same thing. Rejects what JSON.stringify would
 * silently drop or change (undefined, functions, NaN, Dates, class instances) and what jsonb cannot store
 * (U+0000 and unpaired surrogates in strings). Undefined object properties are treated as absent, as JSON does.
 */
export function assertJson(field: string, value: unknown, path = "$", depth = 0, seen = new Set<object>()): asserts value is Json {
  // Runs on every payload and result, so the common case allocates nothing: no closure, no path
  // strings until an element is actually visited.
  if (depth > MAX_DEPTH) notJson(field, `nesting deeper than ${MAX_DEPTH}`, path);
  if (value === undefined) notJson(field, "undefined", path);
  if (value === null || typeof value === "boolean") return;
  if (typeof value === "string") {
    if (value.includes("\u0000")) notJson(field, "a string containing U+0000 (Postgres jsonb cannot store it)", path);
    if (UNPAIRED_SURROGATE.test(value)) notJson(field, "a string with an unpaired surrogate (not valid Unicode)", path);
    return;
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) notJson(field, `the number ${String(value)}`, path);
    return;
  }
  if (typeof value !== "object") notJson(field, `a ${typeof value}`, path);
  const object = value as object;
  if (seen.has(object)) notJson(field, "a circular reference", path);
  seen.add(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) assertJson(field, object[i], `${path}[${i}]`, depth + 1, seen);
  } else {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) notJson(field, `a ${object.constructor?.name ?? "non-plain"} object`, path);
    for (const key in object) {
      if (!Object.prototype.hasOwnProperty.call(object, key)) continue;
      if (key.includes("\u0000")) notJson(field, "a key containing U+0000", path);
      if (UNPAIRED_SURROGATE.test(key)) notJson(field, "a key with an unpaired surrogate (not valid Unicode)", path);
      const item: unknown = (object as Record<string, unknown>)[key];
      if (item === undefined) continue;
      assertJson(field, item, `${path}.${key}`, depth + 1, seen);
    }
  }
  seen.delete(object);
}

function notJson(field: string, what: string, path: string): never {
  throw new ValidationError(field, `must be plain JSON: ${what} at ${path}`);
}

/**
 * RFC 8785 (JSON Canonicalization Scheme): keys sorted by UTF-16 code units, numbers in ECMAScript
 * shortest round-trip form, no whitespace. Libraries exist for it in most languages, so a worker in
 * another language computes the same bytes.
 */
export function canonicalJson(value: Json): string {
  const text = canonicalize(value);
  if (text === undefined) throw new ValidationError("payload", "cannot be canonicalized");
  return text;
}

/** sha256 (hex) of the canonical JSON of the value: the identity of "the same logical operation". */
export function fingerprintOf(value: Json): string {
  return fingerprintOfCanonical(canonicalJson(value));
}

/** The fingerprint of text that is already canonical JSON (one-shot hash: no Hash object per run). */
export function fingerprintOfCanonical(canonical: string): string {
  return hash("sha256", canonical, "hex");
}

/** The fields of the payload that define the operation; the rest (trace ids, timestamps) may vary. */
export function pickFields(payload: Json, fields: readonly string[] | undefined): Json {
  if (!fields) return payload;
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new ValidationError("fingerprintFields", "needs the payload to be a JSON object");
  }
  const picked: { [key: string]: Json } = {};
  // Own fields only: `fingerprintFields: ["constructor"]` must not read Object.prototype.constructor.
  for (const field of fields) picked[field] = Object.hasOwn(payload, field) ? (payload[field] ?? null) : null;
  return picked;
}

export function jsonByteLength(value: Json): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}
