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
  /** The value as text (valid UTF-8); null for a binary, too long or non-string value. */
  value: string | null;
  preview: string;
  /** The key's and the value's exact bytes, base64: what a release sends back (see LockRef). */
  keyBase64: string;
  /** Null when the console cannot release it (not a string, or longer than it compares). */
  valueBase64: string | null;
  valueBytes: number | null;
  pttlMs: number;
  /** When the value and PTTL were read (ms since the epoch, server clock). */
  seenAt: number;
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
    keyBase64: entry.keyRaw.toString("base64"),
    valueBase64: entry.raw?.toString("base64") ?? null,
    valueBytes: entry.valueBytes,
    pttlMs: entry.pttlMs,
    seenAt: entry.seenAtMs,
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

/**
 * What a release sends back for one lock: key and value as base64 of their exact bytes, so nothing on
 * the way changes them (a browser rewrites "\n" in form fields to "\r\n"; binary is not text), plus the
 * class, PTTL and read time seen, so a lock set again with the same value is told apart by its TTL.
 */
export interface LockRef {
  key: string;
  value: string;
  class: LockClass;
  pttlMs: number;
  seenAt: number;
}

export function lockRefOf(row: LockRow & { valueBase64: string }): string {
  const ref: LockRef = { key: row.keyBase64, value: row.valueBase64, class: row.class, pttlMs: row.pttlMs, seenAt: row.seenAt };
  return JSON.stringify(ref);
}

/**
 * The key as an operator types it back to release a held lock: a text field cannot hold a line break or
 * a tab, so those are typed as \n, \r and \t. Every other key is typed as it is.
 */
export function typableKey(key: string): string {
  return key.replace(/[\r\n\t]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t"));
}

/** The screen's key filter: a case-insensitive substring. */
export function matchesQuery(row: Pick<LockRow, "key">, q: string | undefined): boolean {
  return !q || row.key.toLowerCase().includes(q.toLowerCase());
}
