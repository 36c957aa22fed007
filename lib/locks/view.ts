import type { RunStatus } from "@/lib/ledger/schema";
import type { LockClass, LockWarning } from "./classify";
import type { LockEntry } from "./inventory";

/**
 * A lock as the screen shows it: plain JSON (strings and numbers only) so it crosses from the server
 * page into the client table unchanged.
 */
export interface LockRow {
  key: string;
  type: string;
  /** The exact value, for compare-and-delete; null when the console cannot release it. */
  value: string | null;
  preview: string;
  pttlMs: number;
  idleSeconds: number | null;
  class: LockClass;
  flags: LockClass[];
  warnings: LockWarning[];
  notReleasable: string | null;
  /** "SDK", or the template that mapped the key, or null when nothing maps it. */
  mappedBy: string | null;
  /** The (task, key) or run id the key points at, even when no such run exists. */
  points: string | null;
  run: {
    id: number;
    taskName: string;
    status: RunStatus;
    leaseLive: boolean;
    leaseToken: string | null;
    leaseOwner: string | null;
    leaseExpiresAt: string | null;
  } | null;
  taskP99Ms: number | null;
}

export function toLockRow(entry: LockEntry): LockRow {
  const mapping = entry.mapping;
  return {
    key: entry.key,
    type: entry.type,
    value: entry.value,
    preview: entry.preview,
    pttlMs: entry.pttlMs,
    idleSeconds: entry.idleSeconds,
    class: entry.classification.class,
    flags: entry.classification.flags,
    warnings: entry.classification.warnings,
    notReleasable: entry.notReleasable,
    mappedBy: !mapping ? null : mapping.source === "sdk" ? "SDK" : mapping.template,
    points: !mapping ? null : mapping.by === "id" ? `run #${mapping.runId}` : `${mapping.task} / ${mapping.key}`,
    run: entry.run
      ? {
          id: entry.run.id,
          taskName: entry.run.taskName,
          status: entry.run.status,
          leaseLive: entry.run.leaseLive,
          leaseToken: entry.run.leaseToken,
          leaseOwner: entry.run.leaseOwner,
          leaseExpiresAt: entry.run.leaseExpiresAt?.toISOString() ?? null,
        }
      : null,
    taskP99Ms: entry.taskP99Ms,
  };
}

/** The screen's key filter: a case-insensitive substring. */
export function matchesQuery(row: Pick<LockRow, "key">, q: string | undefined): boolean {
  return !q || row.key.toLowerCase().includes(q.toLowerCase());
}
