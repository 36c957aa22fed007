import { describe, expect, it } from "vitest";
import { csvField, csvLine } from "./csv";

describe("CSV export fields", () => {
  it("quotes every field and doubles quotes inside", () => {
    expect(csvField("plain")).toBe('"plain"');
    expect(csvField('say "hi", then go')).toBe('"say ""hi"", then go"');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField(null)).toBe('""');
    expect(csvField(42)).toBe('"42"');
    expect(csvField(true)).toBe('"true"');
  });

  it("defuses values a spreadsheet would run as a formula", () => {
    for (const value of ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]) {
      expect(csvField(value).startsWith(`"'`)).toBe(true);
    }
    expect(csvField("a=b")).toBe('"a=b"');
    expect(csvField(-3)).toBe('"-3"');
  });

  it("ends lines with CRLF", () => {
    expect(csvLine(["a", 1, null])).toBe('"a","1",""\r\n');
  });
});
