import "server-only";
import type postgres from "postgres";
import type { DuplicateCursor } from "./duplicate-cursor";
import { toDuplicateAttempt, type DuplicateAttempt } from "./rows";
import type { DuplicateOutcome } from "./schema";

/**
 * The duplicates screen: every attempt turned away by the ledger (replayed, in progress, payload
 * mismatch) or by the Redis lock, across all runs. Each filter has an index that leads with it and
 * ends in (attempted_at, id), so a page is a short backward index scan whatever the filter.
 */

export interface DuplicateFilters {
  outcome?: DuplicateOutcome;
  task?: string;
  source?: string;
  worker?: string;
  runId?: number;
  /** attempted_at bounds: from inclusive, to exclusive. */
  from?: Date;
  to?: Date;
}

export interface DuplicateListQuery extends DuplicateFilters {
  cursor?: DuplicateCursor;
  pageSize: number;
}

export type DuplicateListItem = DuplicateAttempt & {
  /** attempted_at with microseconds, for the page cursors. */
  attemptedAtText: string;
};

export interface DuplicatePage {
  attempts: DuplicateListItem[];
  /** The page further back in time, if there is one. */
  olderCursor: DuplicateCursor | null;
  /** The page closer to now, if this is not the first. */
  newerCursor: DuplicateCursor | null;
}

/** Grouped views read at most this many of the newest matching attempts, so they stay fast at any size. */
export const GROUP_SCAN_LIMIT = 10_000;

export interface GroupScan {
  /** Attempts the grouping read; equal to GROUP_SCAN_LIMIT when there were more. */
  scanned: number;
  capped: boolean;
  /** The oldest attempt read, when capped: the groups cover attempts since then. */
  oldestAt: Date | null;
}

export interface KeyGroup {
  task: string;
  key: string;
  /** Null when every attempt was turned away by the lock before the run existed. */
  runId: number | null;
  attempts: number;
  byOutcome: Record<DuplicateOutcome, number>;
  lastAt: Date;
}

export interface NamedGroup {
  name: string;
  attempts: number;
  byOutcome: Record<DuplicateOutcome, number>;
  lastAt: Date;
}

type Sql = postgres.Sql;
type RawRow = Record<string, unknown>;

function whereFilters(sql: Sql, filters: DuplicateFilters) {
  const conditions = [sql`true`];
  if (filters.outcome) conditions.push(sql`d.outcome = ${filters.outcome}::idem.duplicate_outcome`);
  if (filters.task) conditions.push(sql`d.task_name = ${filters.task}`);
  if (filters.source) conditions.push(sql`d.source = ${filters.source}`);
  if (filters.worker) conditions.push(sql`d.worker_id = ${filters.worker}`);
  if (filters.runId !== undefined) conditions.push(sql`d.run_id = ${filters.runId}::bigint`);
  if (filters.from) conditions.push(sql`d.attempted_at >= ${filters.from.toISOString()}::timestamptz`);
  if (filters.to) conditions.push(sql`d.attempted_at < ${filters.to.toISOString()}::timestamptz`);
  return conditions.reduce((all, condition) => sql`${all} AND ${condition}`);
}

const outcomeCounts = (row: RawRow): Record<DuplicateOutcome, number> => ({
  replayed: Number(row.replayed ?? 0),
  in_progress: Number(row.in_progress ?? 0),
  payload_mismatch: Number(row.payload_mismatch ?? 0),
  lock_contended: Number(row.lock_contended ?? 0),
});

/** One page of attempts, newest first, by keyset on (attempted_at, id). */
export async function listDuplicateAttempts(sql: Sql, query: DuplicateListQuery): Promise<DuplicatePage> {
  const cursor = query.cursor;
  const newer = cursor?.direction === "newer";
  // The cursor's timestamp goes in as text: postgres.js would send a timestamptz parameter through a JS
  // Date and drop its microseconds.
  const keyset = !cursor
    ? sql`true`
    : newer
      ? sql`(d.attempted_at, d.id) > (${cursor.at}::text::timestamptz, ${cursor.id}::bigint)`
      : sql`(d.attempted_at, d.id) < (${cursor.at}::text::timestamptz, ${cursor.id}::bigint)`;
  const order = newer ? sql`d.attempted_at ASC, d.id ASC` : sql`d.attempted_at DESC, d.id DESC`;
  const rows = await sql<RawRow[]>`
    SELECT d.id, d.run_id, d.task_name, d.idempotency_key, d.fingerprint, d.outcome, d.run_status, d.worker_id, d.source,
           d.attempted_at, to_char(d.attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS attempted_at_text
    FROM idem.duplicate_attempts d
    WHERE ${whereFilters(sql, query)} AND ${keyset}
    ORDER BY ${order}
    LIMIT ${query.pageSize + 1}`;
  const more = rows.length > query.pageSize;
  const page = rows.slice(0, query.pageSize);
  if (newer) page.reverse();
  const attempts = page.map((row) => ({ ...toDuplicateAttempt(row), attemptedAtText: String(row.attempted_at_text) }));
  const first = attempts[0];
  const last = attempts[attempts.length - 1];
  // Going older, there is a newer page whenever we came from a cursor; going newer, only if rows were left over.
  const hasNewer = newer ? more : cursor !== undefined;
  const hasOlder = newer ? true : more;
  return {
    attempts,
    olderCursor: hasOlder && last ? { direction: "older", at: last.attemptedAtText, id: last.id } : null,
    newerCursor: hasNewer && first ? { direction: "newer", at: first.attemptedAtText, id: first.id } : null,
  };
}

function recentAttempts(sql: Sql, filters: DuplicateFilters) {
  return sql`
    SELECT d.task_name, d.idempotency_key, d.run_id, d.outcome, d.source, d.worker_id, d.attempted_at
    FROM idem.duplicate_attempts d
    WHERE ${whereFilters(sql, filters)}
    ORDER BY d.attempted_at DESC, d.id DESC
    LIMIT ${GROUP_SCAN_LIMIT}`;
}

const outcomeColumns = (sql: Sql) => sql`
  count(*) FILTER (WHERE r.outcome = 'replayed') AS replayed,
  count(*) FILTER (WHERE r.outcome = 'in_progress') AS in_progress,
  count(*) FILTER (WHERE r.outcome = 'payload_mismatch') AS payload_mismatch,
  count(*) FILTER (WHERE r.outcome = 'lock_contended') AS lock_contended`;

function scanOf(row: RawRow | undefined): GroupScan {
  const scanned = Number(row?.scanned ?? 0);
  const capped = scanned >= GROUP_SCAN_LIMIT;
  return { scanned, capped, oldestAt: capped && row?.oldest_at ? new Date(row.oldest_at as string | Date) : null };
}

/** The keys retried most among the newest matching attempts (at most GROUP_SCAN_LIMIT of them). */
export async function topDuplicateKeys(sql: Sql, filters: DuplicateFilters, limit = 25): Promise<{ groups: KeyGroup[]; scan: GroupScan }> {
  const rows = await sql<RawRow[]>`
    WITH r AS (${recentAttempts(sql, filters)}),
    totals AS (SELECT count(*) AS scanned, min(attempted_at) AS oldest_at FROM r)
    SELECT g.*, totals.scanned, totals.oldest_at
    FROM totals LEFT JOIN LATERAL (
      SELECT r.task_name, r.idempotency_key, max(r.run_id) AS run_id, count(*) AS attempts, max(r.attempted_at) AS last_at, ${outcomeColumns(sql)}
      FROM r GROUP BY r.task_name, r.idempotency_key
      ORDER BY count(*) DESC, max(r.attempted_at) DESC, r.task_name, r.idempotency_key
      LIMIT ${limit}
    ) g ON true`;
  const groups = rows
    .filter((row) => row.task_name !== null)
    .map((row) => ({
      task: String(row.task_name),
      key: String(row.idempotency_key),
      runId: row.run_id === null ? null : Number(row.run_id),
      attempts: Number(row.attempts),
      byOutcome: outcomeCounts(row),
      lastAt: new Date(row.last_at as string | Date),
    }));
  return { groups, scan: scanOf(rows[0]) };
}

/** Which sources and which workers send the most duplicates, among the newest matching attempts. */
export async function topDuplicateSources(
  sql: Sql,
  filters: DuplicateFilters,
  limit = 25,
): Promise<{ sources: NamedGroup[]; workers: NamedGroup[]; scan: GroupScan }> {
  const rows = await sql<RawRow[]>`
    WITH r AS (${recentAttempts(sql, filters)}),
    totals AS (SELECT count(*) AS scanned, min(attempted_at) AS oldest_at FROM r),
    grouped AS (
      SELECT CASE WHEN GROUPING(r.source) = 0 THEN 'source' ELSE 'worker' END AS kind,
             coalesce(CASE WHEN GROUPING(r.source) = 0 THEN r.source ELSE r.worker_id END, '') AS name,
             count(*) AS attempts, max(r.attempted_at) AS last_at, ${outcomeColumns(sql)}
      FROM r GROUP BY GROUPING SETS ((r.source), (r.worker_id))
    ), ranked AS (
      SELECT grouped.*, row_number() OVER (PARTITION BY kind ORDER BY attempts DESC, last_at DESC, name) AS rank FROM grouped
    )
    SELECT ranked.*, totals.scanned, totals.oldest_at
    FROM totals LEFT JOIN ranked ON ranked.rank <= ${limit}
    ORDER BY ranked.kind, ranked.rank`;
  const toGroup = (row: RawRow): NamedGroup => ({
    name: String(row.name),
    attempts: Number(row.attempts),
    byOutcome: outcomeCounts(row),
    lastAt: new Date(row.last_at as string | Date),
  });
  return {
    sources: rows.filter((row) => row.kind === "source").map(toGroup),
    workers: rows.filter((row) => row.kind === "worker").map(toGroup),
    scan: scanOf(rows[0]),
  };
}

/** Distinct task names and sources seen in attempts, for the filter menus (bounded, index-backed skip scans). */
export async function duplicateFilterChoices(sql: Sql): Promise<{ tasks: string[]; sources: string[] }> {
  const [tasks, sources] = await Promise.all([distinctValues(sql, "task_name"), distinctValues(sql, "source")]);
  return { tasks, sources };
}

const DISTINCT_LIMIT = 200;

/**
 * Distinct values of an indexed leading column by a recursive "loose index scan": one index probe per
 * value rather than reading every attempt.
 */
async function distinctValues(sql: Sql, column: "task_name" | "source"): Promise<string[]> {
  const col = sql(column);
  const rows = await sql<Array<{ value: string }>>`
    WITH RECURSIVE v AS (
      (SELECT ${col} AS value FROM idem.duplicate_attempts ORDER BY ${col} LIMIT 1)
      UNION ALL
      SELECT (SELECT ${col} FROM idem.duplicate_attempts WHERE ${col} > v.value ORDER BY ${col} LIMIT 1)
      FROM v WHERE v.value IS NOT NULL
    )
    SELECT value FROM v WHERE value IS NOT NULL LIMIT ${DISTINCT_LIMIT}`;
  return rows.map((row) => row.value);
}
