import type { DuplicateOutcome, RunStatus } from "@/lib/ledger/schema";

/**
 * Chart and bar colours (Tailwind's palette as hex, since SVG fills take colours, not classes), the
 * same families as the badges in components/runs/status-badge.tsx: pending slate, running blue,
 * succeeded emerald, failed red, cancelled zinc; outcomes sky, amber, red, violet.
 */
export const statusColors: Record<RunStatus, string> = {
  pending: "#94a3b8",
  running: "#3b82f6",
  succeeded: "#10b981",
  failed: "#ef4444",
  cancelled: "#52525b",
};

export const outcomeColors: Record<DuplicateOutcome, string> = {
  replayed: "#0ea5e9",
  in_progress: "#f59e0b",
  payload_mismatch: "#ef4444",
  lock_contended: "#8b5cf6",
};

/** Bottom to top in a stacked bar: what finished, then what is still open. */
export const statusOrder: RunStatus[] = ["succeeded", "failed", "cancelled", "running", "pending"];
export const outcomeOrder: DuplicateOutcome[] = ["replayed", "in_progress", "payload_mismatch", "lock_contended"];

export const outcomeLabels: Record<DuplicateOutcome, string> = {
  replayed: "replayed",
  in_progress: "in progress",
  payload_mismatch: "payload mismatch",
  lock_contended: "lock contended",
};
