import { describe, expect, it } from "vitest";
import { ValidationError } from "@/lib/errors";
import { assertJson, canonicalJson, findUnstorableText, fingerprintOf, pickFields, storableText, textProblem, wellFormed } from "./json";

describe("canonical JSON and fingerprints", () => {
  it("sorts keys at every depth and drops whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("formats numbers the same however they were written", () => {
    expect(canonicalJson({ n: 1.0, m: 1e21, k: 0.1 + 0.2, z: -0 })).toBe('{"k":0.30000000000000004,"m":1e+21,"n":1,"z":0}');
    expect(fingerprintOf({ amount: 10 })).toBe(fingerprintOf({ amount: 10.0 }));
  });

  it("is stable for the RFC 8785 test vector and differs for different operations", () => {
    // RFC 8785 section 3.2.3 (numbers and literals).
    expect(canonicalJson({ numbers: [333333333.3333333, 1e30, 4.5, 0.002, 1e-27], literals: [null, true, false] })).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}',
    );
    expect(fingerprintOf({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintOf({ a: 1 })).not.toBe(fingerprintOf({ a: 2 }));
  });

  it("picks only the fields that define the operation", () => {
    expect(pickFields({ to: "a", template: "w", traceId: "1" }, ["template", "to"])).toEqual({ template: "w", to: "a" });
    expect(pickFields({ to: "a" }, ["to", "missing"])).toEqual({ to: "a", missing: null });
    expect(() => pickFields([1, 2], ["to"])).toThrow(ValidationError);
  });

  it("accepts plain JSON and names the path of what is not", () => {
    expect(() => assertJson("payload", { a: [1, "x", null, { b: true }], c: undefined })).not.toThrow();
    expect(() => assertJson("payload", { a: [1, undefined] })).toThrow("payload: must be plain JSON: undefined at $.a[1]");
    expect(() => assertJson("payload", { when: new Date(0) })).toThrow("a Date object at $.when");
    expect(() => assertJson("payload", { m: new Map() })).toThrow("a Map object at $.m");
    expect(() => assertJson("payload", Infinity)).toThrow("the number Infinity at $");
    expect(() => assertJson("payload", Symbol("s"))).toThrow("a symbol at $");
  });
});

describe("text Postgres cannot store", () => {
  it("is U+0000 and unpaired surrogates; paired ones (emoji) and everything else are fine", () => {
    expect(textProblem("a\u0000b")).toBe("must not contain U+0000");
    expect(textProblem("\ud800")).toMatch(/unpaired surrogate/);
    expect(textProblem("x\udfffy")).toMatch(/unpaired surrogate/);
    expect(textProblem("🔥 \u202E <script>'; DROP TABLE x; --")).toBeNull();
  });

  it("is found anywhere in parsed JSON or a form, keys included, with its path", () => {
    expect(findUnstorableText({ reason: "ok", lock: [{ key: "k" }, { key: "a\u0000" }] })).toEqual({ path: "lock.1.key", message: "must not contain U+0000" });
    expect(findUnstorableText({ payload: { ["\ud800"]: 1 } }, ["body"])).toMatchObject({ path: "body.payload.\ud800" });
    expect(findUnstorableText({ at: new Date(), n: 1, ok: [true, null, "fine"] })).toBeNull();
    let deep: unknown = "x";
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(findUnstorableText(deep)?.message).toMatch(/nested deeper/);
  });

  it("is refused in payloads by assertJson", () => {
    expect(() => assertJson("payload", { note: "\ud800" })).toThrow(/unpaired surrogate \(not valid Unicode\) at \$\.note/);
    expect(() => assertJson("payload", { ["\udc00"]: 1 })).toThrow(/key with an unpaired surrogate/);
  });
});

describe("storableText", () => {
  it("replaces U+0000 and unpaired surrogates, keeps pairs, and cuts long text outside a pair", () => {
    expect(storableText("a\u0000b\ud800c\udfffd😀", 100)).toBe("a\uFFFDb\uFFFDc\uFFFDd😀");
    expect(textProblem(storableText("x\ud800", 100))).toBeNull();
    expect(storableText("abcdef", 3)).toBe("abc… [3 more characters cut]");
    // "ab😀": cutting at 3 would split the pair, so the cut moves before it.
    expect(storableText("ab😀cd", 3)).toBe("ab… [4 more characters cut]");
  });
});

describe("wellFormed", () => {
  it("replaces lone surrogates and keeps pairs", () => {
    expect(wellFormed("🔥 ok")).toBe("🔥 ok");
    expect(wellFormed("a\uD83Db")).toBe("a\uFFFDb");
    expect(wellFormed("\uDD25x\uD83D")).toBe("\uFFFDx\uFFFD");
    let message = "";
    try {
      JSON.parse("🔥💥✅");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(JSON.stringify(wellFormed(message))).not.toMatch(/\\ud8/i);
  });
});
