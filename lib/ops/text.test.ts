import { describe, expect, it } from "vitest";
import { wellFormed } from "./text";

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
