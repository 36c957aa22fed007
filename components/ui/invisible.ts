// Characters that reorder or hide text: bidi embeddings, overrides and isolates, directional marks,
// zero-width characters and other C0/C1 controls. Shown as visible escapes, so a key like
// "invoice-\u202Efdp.exe" cannot pass for "invoice-exe.pdf" on screen.
export const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/g;

const names: Record<string, string> = {
  "\u200E": "LRM",
  "\u200F": "RLM",
  "\u202A": "LRE",
  "\u202B": "RLE",
  "\u202C": "PDF",
  "\u202D": "LRO",
  "\u202E": "RLO",
  "\u2066": "LRI",
  "\u2067": "RLI",
  "\u2068": "FSI",
  "\u2069": "PDI",
  "\u200B": "ZWSP",
  "\u200C": "ZWNJ",
  "\u200D": "ZWJ",
  "\u061C": "ALM",
  "\uFEFF": "BOM",
};

export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (c) => `⟨${names[c] ?? `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`}⟩`);
}

