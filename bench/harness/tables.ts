import { formatMs, formatRate, formatRatio, formatSpread, roundSpread, type Measurement } from "./measure";
import type { ResultTable } from "./types";

export interface RatioColumn {
  header: string;
  /** The contender every row is compared with (its own row shows 1.00x). */
  reference: string;
  /** Throughput ratios are reference ÷ this or this ÷ reference; so are latency ratios. */
  metric: "opsPerSec" | "p50Ms" | "p99Ms";
  order: "referenceOverThis" | "thisOverReference";
}

export interface ResultRow {
  label: string;
  m: Measurement;
  /** Free text for the last column (a correctness check, a target met or missed). */
  note?: string;
}

export interface CellGroup {
  cell: string[];
  rows: ResultRow[];
}

export function ratioOf(column: RatioColumn, row: Measurement, reference: Measurement): number {
  const a = reference[column.metric];
  const b = row[column.metric];
  return column.order === "referenceOverThis" ? a / b : b / a;
}

/** One row per contender per cell: ops/s, p50, p99, the spread over rounds, then the ratios. */
export function comparisonTable(options: {
  title: string;
  cellColumns: string[];
  groups: CellGroup[];
  ratios: RatioColumn[];
  noteHeader?: string;
}): ResultTable {
  const { cellColumns, ratios } = options;
  const hasNotes = options.groups.some((g) => g.rows.some((r) => r.note));
  const columns = [
    ...cellColumns,
    "contender",
    "ops/s",
    "p50 ms",
    "p99 ms",
    "round spread",
    "client CPU µs/op",
    ...ratios.map((r) => r.header),
    ...(hasNotes ? [options.noteHeader ?? "note"] : []),
  ];
  const first = cellColumns.length + 1;
  const numeric = [first, first + 1, first + 2, first + 3, first + 4, ...ratios.map((_, i) => first + 5 + i)];
  const rows: string[][] = [];
  for (const group of options.groups) {
    group.rows.forEach((row, i) => {
      const cells = i === 0 ? group.cell : group.cell.map(() => "");
      const ratioCells = ratios.map((column) => {
        const reference = group.rows.find((r) => r.label === column.reference);
        return reference ? formatRatio(ratioOf(column, row.m, reference.m)) : "-";
      });
      rows.push([
        ...cells,
        row.label,
        formatRate(row.m.opsPerSec),
        formatMs(row.m.p50Ms),
        formatMs(row.m.p99Ms),
        formatSpread(row.m.roundOpsPerSec),
        Number.isFinite(row.m.clientCpuUsPerOp) ? Math.round(row.m.clientCpuUsPerOp).toLocaleString("en-US") : "-",
        ...ratioCells,
        ...(hasNotes ? [row.note ?? ""] : []),
      ]);
    });
  }
  return { title: options.title, columns, numeric, rows };
}

export const thousands = (n: number): string => Math.round(n).toLocaleString("en-US");

/**
 * Whether a ratio between two measurements is larger than this run's noise: the gap from 1.00x must
 * exceed the larger of the two round spreads. Returns a caveat to append to a finding, or "".
 */
export function noiseCaveat(ratio: number, a: Measurement, b: Measurement): string {
  const spread = Math.max(roundSpread(a.roundOpsPerSec), roundSpread(b.roundOpsPerSec));
  if (!Number.isFinite(spread) || Math.abs(1 - ratio) > spread) return "";
  return ` (within this run's noise: round spread up to ±${(spread * 100).toFixed(0)}%)`;
}
