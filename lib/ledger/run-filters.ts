import type { RunCursor, RunSort } from "./cursor";
import type { RunStatus } from "./schema";

/**
 * What the runs list, and its export, can be asked for. Produced by the page's params schema
 * (lib/params/runs.ts) and consumed by lib/ledger/queries.ts; pure types and constants, no SQL.
 */
export const runStatuses = ["pending", "running", "succeeded", "failed", "cancelled"] as const satisfies readonly RunStatus[];
/** `stuck`: running, but the lease has expired (the worker died or paused). */
export const runStatusFilters = [...runStatuses, "stuck"] as const;
export type RunStatusFilter = (typeof runStatusFilters)[number];

export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 200;
export const pageSizeChoices = [25, 50, 100, 200] as const;

export const EXPORT_LIMIT_DEFAULT = 10_000;
export const EXPORT_LIMIT_MAX = 100_000;

export type KeyMatch = "exact" | "prefix";
export type SortOrder = "desc" | "asc";

export interface RunFilters {
  /** A run id or a key (a numeric string matches either); anything else matches the key exactly. */
  q?: string;
  status?: RunStatusFilter;
  task?: string;
  key?: string;
  keyMatch: KeyMatch;
  /** The last lease holder (lease_owner). */
  worker?: string;
  /** Bounds on the sort column (created_at, or finished_at when sorting by finished): from inclusive, to exclusive. */
  from?: Date;
  to?: Date;
  hasDuplicates: boolean;
  isRetry: boolean;
  sort: RunSort;
  order: SortOrder;
}

export interface RunListQuery extends RunFilters {
  cursor?: RunCursor;
  pageSize: number;
}
