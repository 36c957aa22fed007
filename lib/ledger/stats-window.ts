/**
 * The overview's time windows: pure definitions shared by the page, the chart and the queries.
 *
 * A window is a whole number of buckets ending with the current (partial) one, aligned to UTC:
 * "24h" is the 24 hourly buckets ending with this hour. Counts and the chart therefore always agree,
 * and each bucket is one row per task and status in the rollup (lib/ledger/stats-schema.ts).
 */
export const overviewWindows = ["1h", "6h", "24h", "7d", "30d"] as const;
export type OverviewWindow = (typeof overviewWindows)[number];

export type StatsResolution = "minute" | "hour";

export interface WindowSpec {
  /** Which rollup answers it: minute buckets are kept for two days, hour buckets for good. */
  resolution: StatsResolution;
  /** The chart's bar width. */
  stepMs: number;
  buckets: number;
  /** "the last hour", for sentences. */
  label: string;
  /** "per minute", for the chart's title. */
  stepLabel: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const windowSpecs: Record<OverviewWindow, WindowSpec> = {
  "1h": { resolution: "minute", stepMs: MINUTE, buckets: 60, label: "the last hour", stepLabel: "per minute" },
  "6h": { resolution: "minute", stepMs: 5 * MINUTE, buckets: 72, label: "the last 6 hours", stepLabel: "per 5 minutes" },
  "24h": { resolution: "hour", stepMs: HOUR, buckets: 24, label: "the last 24 hours", stepLabel: "per hour" },
  "7d": { resolution: "hour", stepMs: HOUR, buckets: 168, label: "the last 7 days", stepLabel: "per hour" },
  "30d": { resolution: "hour", stepMs: 6 * HOUR, buckets: 120, label: "the last 30 days", stepLabel: "per 6 hours" },
};

export interface StatsRange {
  window: OverviewWindow;
  resolution: StatsResolution;
  stepMs: number;
  /** The first bucket's start, inclusive. Nothing is created after now, so there is no end. */
  start: Date;
  /** Every bucket's start, oldest first. */
  buckets: Date[];
}

/** Epoch milliseconds are UTC without leap seconds, so flooring them aligns to UTC minutes and hours. */
export function statsRange(window: OverviewWindow, now: Date = new Date()): StatsRange {
  const spec = windowSpecs[window];
  const current = Math.floor(now.getTime() / spec.stepMs) * spec.stepMs;
  const first = current - (spec.buckets - 1) * spec.stepMs;
  return {
    window,
    resolution: spec.resolution,
    stepMs: spec.stepMs,
    start: new Date(first),
    buckets: Array.from({ length: spec.buckets }, (_, i) => new Date(first + i * spec.stepMs)),
  };
}
