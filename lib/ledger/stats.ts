import "server-only";
import type postgres from "postgres";
import type { DuplicateOutcome, RunStatus } from "./schema";
import type { StatsRange } from "./stats-window";

/**
 * The overview's numbers, read from the maintained rollups (lib/ledger/stats-schema.ts). Every read
 * adds the rollup and its unfolded journal in one statement, so it is exact at that statement's
 * snapshot whether or not idem.fold_stats() has run: a delta is in exactly one of the two.
 *
 * A run counts in the bucket of its created_at, under its current status. Finished runs are in the
 * rollups; pending and running ones are counted live (see runRows).
 */

export type StatusCounts = Record<RunStatus, number>;
export type OutcomeCounts = Record<DuplicateOutcome, number>;

export interface SeriesPoint extends StatusCounts {
  /** The bucket's start, ISO 8601 UTC. */
  at: string;
}

export interface TaskFailures {
  task: string;
  failed: number;
  total: number;
}

export interface TaskDuplicates {
  task: string;
  attempts: number;
  payloadMismatches: number;
}

type Sql = postgres.Sql;

// Origin for date_bin: a UTC midnight, so 5-minute and 6-hour bars align to UTC like statsRange's.
const BIN_ORIGIN = "2000-01-01T00:00:00Z";

/**
 * Finished runs come from the rollup plus its journal; pending and running runs are counted live,
 * from the partial indexes that hold only them (the rollup leaves them out so that a claim writes no
 * journal row). A run leaves the live part in the same transaction that journals it, so every run is
 * counted once at any snapshot.
 */
function runRows(sql: Sql, range: StatsRange) {
  const start = range.start.toISOString();
  const rollup = range.resolution === "minute" ? sql`idem.run_stats_minute` : sql`idem.run_stats_hour`;
  return sql`
    SELECT bucket, task_name, status, runs AS n FROM ${rollup} WHERE bucket >= ${start}::timestamptz
    UNION ALL
    SELECT bucket, task_name, status, delta FROM idem.run_stats_journal WHERE bucket >= ${start}::timestamptz
    UNION ALL
    SELECT date_trunc('minute', created_at, 'UTC'), task_name, status, 1 FROM idem.task_runs
    WHERE status = 'running' AND created_at >= ${start}::timestamptz
    UNION ALL
    SELECT date_trunc('minute', created_at, 'UTC'), task_name, status, 1 FROM idem.task_runs
    WHERE status = 'pending' AND created_at >= ${start}::timestamptz`;
}

function duplicateRows(sql: Sql, range: StatsRange) {
  const start = range.start.toISOString();
  const rollup = range.resolution === "minute" ? sql`idem.duplicate_stats_minute` : sql`idem.duplicate_stats_hour`;
  return sql`
    SELECT bucket, task_name, outcome, attempts AS n FROM ${rollup} WHERE bucket >= ${start}::timestamptz
    UNION ALL
    SELECT bucket, task_name, outcome, delta FROM idem.duplicate_stats_journal WHERE bucket >= ${start}::timestamptz`;
}

const zeroStatuses = (): StatusCounts => ({ pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 });
const zeroOutcomes = (): OutcomeCounts => ({ replayed: 0, in_progress: 0, payload_mismatch: 0, lock_contended: 0 });

/** Whether the ledger has any run at all: the overview of a fresh install says what to do first. */
export async function hasAnyRuns(sql: Sql): Promise<boolean> {
  const [row] = await sql<Array<{ any: boolean }>>`SELECT EXISTS (SELECT 1 FROM idem.task_runs) AS any`;
  return row?.any === true;
}

/** Runs created in the window, by their status now. */
export async function countRunsByStatus(sql: Sql, range: StatsRange): Promise<StatusCounts> {
  const rows = await sql<Array<{ status: RunStatus; runs: string }>>`
    SELECT s.status, sum(s.n)::text AS runs FROM (${runRows(sql, range)}) s GROUP BY s.status`;
  const counts = zeroStatuses();
  for (const row of rows) counts[row.status] = Number(row.runs);
  return counts;
}

/** Runs created per bucket of the window, by their status now; every bucket present, oldest first. */
export async function runSeries(sql: Sql, range: StatsRange): Promise<SeriesPoint[]> {
  const step = `${range.stepMs / 1000} seconds`;
  const rows = await sql<Array<{ at: string; status: RunStatus; runs: string }>>`
    SELECT to_char(date_bin(${step}::interval, s.bucket, ${BIN_ORIGIN}::timestamptz) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at,
           s.status, sum(s.n)::text AS runs
    FROM (${runRows(sql, range)}) s
    GROUP BY 1, 2`;
  const byBucket = new Map(range.buckets.map((bucket) => [bucket.getTime(), { at: bucket.toISOString(), ...zeroStatuses() }]));
  for (const row of rows) {
    const point = byBucket.get(Date.parse(row.at));
    if (point) point[row.status] += Number(row.runs);
  }
  return [...byBucket.values()];
}

/** Duplicate attempts recorded in the window, by outcome. */
export async function countDuplicatesByOutcome(sql: Sql, range: StatsRange): Promise<OutcomeCounts> {
  const rows = await sql<Array<{ outcome: DuplicateOutcome; attempts: string }>>`
    SELECT s.outcome, sum(s.n)::text AS attempts FROM (${duplicateRows(sql, range)}) s GROUP BY s.outcome`;
  const counts = zeroOutcomes();
  for (const row of rows) counts[row.outcome] = Number(row.attempts);
  return counts;
}

/** Tasks with the most failed runs created in the window (ties by name), with their run totals. */
export async function topTasksByFailures(sql: Sql, range: StatsRange, limit = 5): Promise<TaskFailures[]> {
  const rows = await sql<Array<{ task_name: string; failed: string; total: string }>>`
    SELECT s.task_name, sum(s.n) FILTER (WHERE s.status = 'failed')::text AS failed, sum(s.n)::text AS total
    FROM (${runRows(sql, range)}) s
    GROUP BY s.task_name
    HAVING sum(s.n) FILTER (WHERE s.status = 'failed') > 0
    ORDER BY sum(s.n) FILTER (WHERE s.status = 'failed') DESC, s.task_name
    LIMIT ${limit}`;
  return rows.map((row) => ({ task: row.task_name, failed: Number(row.failed), total: Number(row.total) }));
}

/** Tasks with the most duplicate attempts in the window, with how many were payload mismatches. */
export async function topTasksByDuplicates(sql: Sql, range: StatsRange, limit = 5): Promise<TaskDuplicates[]> {
  const rows = await sql<Array<{ task_name: string; attempts: string; mismatches: string }>>`
    SELECT s.task_name, sum(s.n)::text AS attempts,
           coalesce(sum(s.n) FILTER (WHERE s.outcome = 'payload_mismatch'), 0)::text AS mismatches
    FROM (${duplicateRows(sql, range)}) s
    GROUP BY s.task_name
    HAVING sum(s.n) > 0
    ORDER BY sum(s.n) DESC, s.task_name
    LIMIT ${limit}`;
  return rows.map((row) => ({ task: row.task_name, attempts: Number(row.attempts), payloadMismatches: Number(row.mismatches) }));
}

/**
 * Runs whose worker is gone: still running, lease expired, nobody has taken them over. Whenever they
 * were created, since a stuck run from last week is still stuck. The partial lease-expiry index holds
 * only running runs, so this stays a short index scan.
 */
export async function countStuckRuns(sql: Sql): Promise<number> {
  const [row] = await sql<Array<{ stuck: string }>>`
    SELECT count(*)::text AS stuck FROM idem.task_runs WHERE status = 'running' AND lease_expires_at < now()`;
  return Number(row?.stuck ?? 0);
}
