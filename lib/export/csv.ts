/**
 * CSV as RFC 4180 with every field quoted, and a guard against formula injection: a spreadsheet runs
 * a cell that starts with = + - @ (or a tab / carriage return before one) as a formula, so such a value
 * gets a leading apostrophe. Keys and error messages come from workers and are never trusted.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '""';
  let text = value instanceof Date ? value.toISOString() : typeof value === "object" ? JSON.stringify(value) : String(value);
  // Numbers are data, not formulas: -3 stays -3.
  if (typeof value !== "number" && FORMULA_START.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}
