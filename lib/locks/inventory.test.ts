import { describe, expect, it } from "vitest";
import { displayBytes, utf8OrNull } from "./inventory";

describe("utf8OrNull / displayBytes (one shared decoder)", () => {
  it("keeps nothing from a failed decode for the next one", () => {
    // A cut sequence (€ is E2 82 AC): a decoder that kept state would finish it with the next call's AC.
    expect(utf8OrNull(Buffer.from([0xe2, 0x82]))).toBeNull();
    expect(utf8OrNull(Buffer.from([0xac]))).toBeNull();
    expect(utf8OrNull(Buffer.from("€", "utf8"))).toBe("€");
  });

  it("keeps a leading BOM, and escapes binary and U+0000", () => {
    expect(utf8OrNull(Buffer.from("\ufeffa", "utf8"))).toBe("\ufeffa");
    expect(utf8OrNull(Buffer.from("\ufeffa", "utf8"))).toBe("\ufeffa");
    expect(displayBytes(Buffer.from([0x61, 0xff, 0x5c]))).toBe("a\\xff\\x5c");
    expect(displayBytes(Buffer.from("a\u0000b", "utf8"))).toBe("a\\x00b");
    expect(displayBytes(Buffer.from("lock:é", "utf8"))).toBe("lock:é");
  });
});
