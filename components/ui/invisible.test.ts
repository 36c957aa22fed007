import { describe, expect, it } from "vitest";
import { escapeInvisible } from "./invisible";

describe("escapeInvisible", () => {
  it("shows reordering and invisible characters instead of obeying them", () => {
    expect(escapeInvisible("invoice-\u202Efdp.exe")).toBe("invoice-⟨RLO⟩fdp.exe");
    expect(escapeInvisible("a\u200Bb\u2066c\u2069")).toBe("a⟨ZWSP⟩b⟨LRI⟩c⟨PDI⟩");
    expect(escapeInvisible("tab\tnewline\nbell\u0007")).toBe("tab\tnewline\nbell⟨U+0007⟩");
  });

  it("leaves ordinary text, emoji and right-to-left scripts alone", () => {
    expect(escapeInvisible("invoice-42 ✅ עברית العربية")).toBe("invoice-42 ✅ עברית العربية");
  });
});
