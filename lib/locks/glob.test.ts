import { describe, expect, it } from "vitest";
import { coveredBy, literalPrefix } from "./glob";

describe("literalPrefix / coveredBy", () => {
  it("reads the fixed start of a pattern", () => {
    expect(literalPrefix("lock:order:*")).toBe("lock:order:");
    expect(literalPrefix("a\\*b?c")).toBe("a*b");
    expect(literalPrefix("[ab]x")).toBe("");
  });
  it("a plain prefix pattern covers the patterns that start with its prefix", () => {
    expect(coveredBy("lock:order:*", "lock:*")).toBe(true);
    expect(coveredBy("lock:?x", "lock:*")).toBe(true);
    expect(coveredBy("lock:*", "lock:*")).toBe(true);
    expect(coveredBy("locks:*", "lock:*")).toBe(false);
    expect(coveredBy("task:*", "lock:*")).toBe(false);
    expect(coveredBy("lock:order:*", "lock:*:x")).toBe(false);
    expect(coveredBy("lock:order:*", "l?ck:*")).toBe(false);
    expect(coveredBy("*", "lock:*")).toBe(false);
  });
});
