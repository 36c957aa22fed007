import { describe, expect, it } from "vitest";
import { diffPayloads, formatPath } from "./payload-diff";

describe("diffPayloads", () => {
  it("lists added, removed and changed paths, nested and in arrays, in path order", () => {
    const stored = { a: 1, b: { c: [1, 2, 3], d: "x" }, gone: true };
    const incoming = { a: 2, b: { c: [1, 2], d: "x", e: null }, "odd key": "<b>" };
    expect(diffPayloads(stored, incoming)).toEqual({
      identical: false,
      truncated: false,
      entries: [
        { kind: "changed", path: ["a"], before: 1, after: 2 },
        { kind: "removed", path: ["b", "c", 2], before: 3 },
        { kind: "added", path: ["b", "e"], after: null },
        { kind: "removed", path: ["gone"], before: true },
        { kind: "added", path: ["odd key"], after: "<b>" },
      ],
    });
  });

  it("reports a change of type at the root and identical payloads", () => {
    expect(diffPayloads({ a: 1 }, [1]).entries).toEqual([{ kind: "changed", path: [], before: { a: 1 }, after: [1] }]);
    expect(diffPayloads({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual({ identical: true, truncated: false, entries: [] });
  });

  it("bounds the number of entries", () => {
    const stored = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const diff = diffPayloads(stored, {}, 10);
    expect(diff.entries).toHaveLength(10);
    expect(diff.truncated).toBe(true);
  });

  it("formats paths unambiguously", () => {
    expect(formatPath([])).toBe("$");
    expect(formatPath(["order", "items", 2, "odd key", 'q"uote'])).toBe('$.order.items[2]["odd key"]["q\\"uote"]');
  });
});
