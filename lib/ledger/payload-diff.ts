import { create, type ArrayDelta, type Delta, type ObjectDelta } from "jsondiffpatch";

/**
 * The differences between a run's stored payload and the payload a rejected duplicate carried
 * (payload_mismatch), as a flat list of paths, for the console to render as plain text. jsondiffpatch
 * computes the delta; this only walks it.
 */
export type PathSegment = string | number;

export type DiffEntry =
  | { kind: "added"; path: PathSegment[]; after: unknown }
  | { kind: "removed"; path: PathSegment[]; before: unknown }
  | { kind: "changed"; path: PathSegment[]; before: unknown; after: unknown }
  | { kind: "moved"; path: PathSegment[]; to: number; value: unknown };

export interface PayloadDiff {
  entries: DiffEntry[];
  /** More differences than the bound; the rest are not listed. */
  truncated: boolean;
  identical: boolean;
}

const differ = create({
  // Without an object hash a "move" is a guess; report reordered items as changes at each index.
  arrays: { detectMove: false },
});

export const DIFF_ENTRIES_LIMIT = 200;

export function diffPayloads(stored: unknown, incoming: unknown, limit = DIFF_ENTRIES_LIMIT): PayloadDiff {
  const delta = differ.diff(stored, incoming);
  const entries: DiffEntry[] = [];
  let truncated = false;
  const push = (entry: DiffEntry) => {
    if (entries.length >= limit) truncated = true;
    else entries.push(entry);
  };
  walk(delta, [], push);
  // jsonb stores object keys in its own order; list paths in a stable, readable one.
  entries.sort((a, b) => comparePaths(a.path, b.path));
  return { entries, truncated, identical: delta === undefined };
}

function comparePaths(a: PathSegment[], b: PathSegment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

function isArrayDelta(delta: Delta): delta is ArrayDelta {
  return typeof delta === "object" && delta !== null && !Array.isArray(delta) && (delta as { _t?: unknown })._t === "a";
}

function walk(delta: Delta, path: PathSegment[], push: (entry: DiffEntry) => void): void {
  if (delta === undefined) return;
  if (Array.isArray(delta)) {
    if (delta.length === 1) push({ kind: "added", path, after: delta[0] });
    else if (delta.length === 2) push({ kind: "changed", path, before: delta[0], after: delta[1] });
    else if (delta[2] === 0) push({ kind: "removed", path, before: delta[0] });
    else if (delta[2] === 3) push({ kind: "moved", path, to: Number(delta[1]), value: delta[0] });
    // [text, 0, 2] is a text diff, which this differ is not configured to produce.
    return;
  }
  if (isArrayDelta(delta)) {
    const entries = Object.entries(delta).filter(([key]) => key !== "_t");
    // Removals are keyed by the old index ("_3"), everything else by the new one ("3").
    const sorted = entries
      .map(([key, value]) => ({ index: Number(key.startsWith("_") ? key.slice(1) : key), value: value as Delta }))
      .sort((a, b) => a.index - b.index);
    for (const { index, value } of sorted) walk(value, [...path, index], push);
    return;
  }
  for (const [key, value] of Object.entries(delta as ObjectDelta)) walk(value, [...path, key], push);
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$.order.items[2]["odd key"]`: readable, and unambiguous for any key. */
export function formatPath(path: PathSegment[]): string {
  return `$${path
    .map((segment) => (typeof segment === "number" ? `[${segment}]` : IDENTIFIER.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`))
    .join("")}`;
}
