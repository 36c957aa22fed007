import "server-only";
import type postgres from "postgres";
import type { RunCursor, RunSort } from "./cursor";
import type { RunFilters, RunListQuery } from "./run-filters";
import { toDuplicateAttempt, toRun, toRunEvent, type DuplicateAttempt, type Run, type RunEvent } from "./rows";
import type { DuplicateOutcome, RunStatus } from "./schema";

/**
 * The console's reads of the ledger: the runs list (keyset pages, never OFFSET), its export, and what
 * the run detail shows. Every statement is written for an index in lib/ledger/schema.ts; check the
 * plans with `tsx --conditions=react-server scripts/explain-runs.ts`, which loads a scratch ledger and
 * prints each query's custom and generic plan.
 */
type Sql = postgres.Sql;
type Fragment = postgres.PendingQuery<postgres.Row[]>;
type RawRow = Record<string, unknown>;

export interface RunListItem {
  id: number;
  taskName: string;
  idempotencyKey: string;
  status: RunStatus;
  /** Running with an expired lease: nobody is working on it until another worker takes it over. */
  leaseExpired: boolean;
  attempt: number;
  maxAttempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  fencingToken: number;
  retryOf: number | null;
  rootRunId: number;
  duplicateCount: number;
  source: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Of the latest attempt: finished (or now, while running) minus started. */
  durationMs: number | null;
  errorMessage: string | null;
  /** The sort column as Postgres text, microseconds included: what a cursor holds. */
  sortAt: string;
}

export interface RunPage {
  runs: RunListItem[];
  /** Rows after this page in display order, or null when this is the last page. */
  nextCursor: RunCursor | null;
  /** Rows before this page, or null on the first page. */
  prevCursor: RunCursor | null;
}

const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const date = (value: unknown): Date | null => (value === null || value === undefined ? null : value instanceof Date ? value : new Date(String(value)));

function toListItem(row: RawRow): RunListItem {
  const startedAt = date(row.started_at);
  const finishedAt = date(row.finished_at);
  const end = finishedAt ?? (row.status === "running" ? date(row.db_now) : null);
  return {
    id: Number(row.id),
    taskName: String(row.task_name),
    idempotencyKey: String(row.idempotency_key),
    status: row.status as RunStatus,
    leaseExpired: row.lease_expired === true,
    attempt: Number(row.attempt),
    maxAttempts: Number(row.max_attempts),
    leaseOwner: (row.lease_owner as string | null) ?? null,
    leaseExpiresAt: date(row.lease_expires_at),
    fencingToken: Number(row.fencing_token),
    retryOf: num(row.retry_of),
    rootRunId: Number(row.root_run_id),
    duplicateCount: Number(row.duplicate_count),
    source: String(row.source),
    createdAt: date(row.created_at)!,
    startedAt,
    finishedAt,
    durationMs: startedAt && end ? Math.max(0, end.getTime() - startedAt.getTime()) : null,
    errorMessage: (row.error_message as string | null) ?? null,
    sortAt: String(row.sort_at),
  };
}

/** `\`, `%` and `_` are literal in a key; LIKE's default escape character is the backslash. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The smallest string greater than every string that starts with `prefix`, in byte order (which is
 * code point order in UTF-8): the prefix with its last code point incremented. Null when there is
 * none (every code point is U+10FFFF). Gives the key-prefix filter a range the key index (byte order:
 * the column has the "C" collation) can use even in a generic plan, where `LIKE $1` is not a constant
 * the planner can read.
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (points.length > 0) {
    let last = points.pop()! + 1;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    if (last <= 0x10ffff) return String.fromCodePoint(...points, last);
  }
  return null;
}

const SAFE_ID = /^[1-9]\d{0,15}$/;

/**
 * The status filter as a literal, never a parameter: failed and cancelled runs have partial indexes
 * (WHERE status = 'failed' ...), which the planner can only use when it can read the value, and a
 * prepared statement's generic plan cannot read a parameter.
 */
function statusCondition(sql: Sql, status: RunStatus): Fragment {
  switch (status) {
    case "pending":
      return sql`status = 'pending'`;
    case "running":
      return sql`status = 'running'`;
    case "succeeded":
      return sql`status = 'succeeded'`;
    case "failed":
      return sql`status = 'failed'`;
    case "cancelled":
      return sql`status = 'cancelled'`;
  }
}

const isPrefixSearch = (filters: RunFilters): boolean => filters.keyMatch === "prefix" && filters.key !== undefined && filters.key !== "";

/** The WHERE conditions for the filters (never the cursor). Each maps onto an index's leading columns or partial predicate. */
function filterConditions(sql: Sql, filters: RunFilters): Fragment[] {
  const conditions: Fragment[] = [];
  const column = filters.sort === "finished" ? sql`finished_at` : sql`created_at`;
  if (filters.sort === "finished") conditions.push(sql`finished_at IS NOT NULL`);
  if (filters.status === "stuck") conditions.push(sql`status = 'running' AND lease_expires_at < now()`);
  else if (filters.status) conditions.push(statusCondition(sql, filters.status));
  if (filters.task) conditions.push(sql`task_name = ${filters.task}`);
  if (filters.key !== undefined && filters.key !== "") {
    if (filters.keyMatch === "prefix") {
      conditions.push(sql`idempotency_key LIKE ${escapeLike(filters.key)} || '%'`);
      conditions.push(sql`idempotency_key >= ${filters.key}`);
      const upper = prefixUpperBound(filters.key);
      if (upper !== null) conditions.push(sql`idempotency_key < ${upper}`);
    } else {
      conditions.push(sql`idempotency_key = ${filters.key}`);
    }
  }
  if (filters.q) {
    const q = filters.q;
    if (SAFE_ID.test(q) && Number.isSafeInteger(Number(q))) conditions.push(sql`(id = ${Number(q)}::bigint OR idempotency_key = ${q})`);
    else conditions.push(sql`idempotency_key = ${q}`);
  }
  if (filters.worker) conditions.push(sql`lease_owner = ${filters.worker}`);
  if (filters.from) conditions.push(sql`${column} >= ${filters.from.toISOString()}::timestamptz`);
  if (filters.to) conditions.push(sql`${column} < ${filters.to.toISOString()}::timestamptz`);
  // Written exactly as the partial indexes' predicates, so the planner can use them.
  if (filters.hasDuplicates) conditions.push(sql`duplicate_count > 0`);
  if (filters.isRetry) conditions.push(sql`retry_of IS NOT NULL`);
  return conditions;
}

function and(sql: Sql, conditions: Fragment[]): Fragment {
  if (conditions.length === 0) return sql`TRUE`;
  return conditions.reduce((all, condition) => sql`${all} AND ${condition}`);
}

/** ORDER BY the sort column and id, both in one direction, so a (column, id) index can be walked without a sort. */
function orderBy(sql: Sql, sort: RunSort, descending: boolean): Fragment {
  if (sort === "finished") return descending ? sql`ORDER BY finished_at DESC, id DESC` : sql`ORDER BY finished_at ASC, id ASC`;
  return descending ? sql`ORDER BY created_at DESC, id DESC` : sql`ORDER BY created_at ASC, id ASC`;
}

function afterCursor(sql: Sql, sort: RunSort, descending: boolean, cursor: RunCursor): Fragment {
  const at = cursor.at;
  // A row comparison, so Postgres turns it into one index range condition on (column, id). The time
  // goes in as text: postgres.js would send a timestamptz parameter through a JS Date, dropping microseconds.
  if (sort === "finished") {
    return descending
      ? sql`(finished_at, id) < (${at}::text::timestamptz, ${cursor.id}::bigint)`
      : sql`(finished_at, id) > (${at}::text::timestamptz, ${cursor.id}::bigint)`;
  }
  return descending
    ? sql`(created_at, id) < (${at}::text::timestamptz, ${cursor.id}::bigint)`
    : sql`(created_at, id) > (${at}::text::timestamptz, ${cursor.id}::bigint)`;
}

function listColumns(sql: Sql, sort: RunSort): Fragment {
  const sortColumn = sort === "finished" ? sql`finished_at` : sql`created_at`;
  return sql`
    id, task_name, idempotency_key, status, attempt, max_attempts, lease_owner, lease_expires_at, fencing_token,
    retry_of, root_run_id, duplicate_count, source, created_at, started_at, finished_at,
    left(error->>'message', 300) AS error_message,
    (status = 'running' AND lease_expires_at < now()) AS lease_expired,
    now() AS db_now,
    to_char(${sortColumn} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS sort_at`;
}

async function selectPage(sql: Sql, query: RunListQuery, cursor: RunCursor | undefined, limit: number): Promise<RunListItem[]> {
  const backwards = cursor?.direction === "prev";
  const descending = (query.order === "desc") !== backwards;
  const conditions = filterConditions(sql, query);
  if (cursor) conditions.push(afterCursor(sql, query.sort, descending, cursor));
  const order = orderBy(sql, query.sort, descending);
  // A key prefix matches rows scattered over the whole heap. Choosing the page's ids in a subquery lets
  // Postgres pick them from task_runs_key_task_uq, which carries (created_at, id), without visiting
  // thousands of rows to learn their created_at; only the page's rows are read.
  const where = isPrefixSearch(query)
    ? sql`id IN (SELECT id FROM idem.task_runs WHERE ${and(sql, conditions)} ${order} LIMIT ${limit})`
    : and(sql, conditions);
  const rows = await sql<RawRow[]>`
    SELECT ${listColumns(sql, query.sort)}
    FROM idem.task_runs
    WHERE ${where}
    ${order}
    LIMIT ${limit}`;
  const items = rows.map(toListItem);
  return backwards ? items.reverse() : items;
}

function cursorAt(sort: RunSort, item: RunListItem, direction: "next" | "prev"): RunCursor {
  return { sort, direction, at: item.sortAt, id: item.id };
}

/**
 * One page of runs. Keyset pagination on (created_at, id) or (finished_at, id): a cursor names the
 * row the page continues from, so every page costs one index range scan however deep it is, and rows
 * inserted meanwhile never shift a page. A `prev` cursor walks the index the other way; when it
 * reaches the start, the first page is returned whole.
 */
export async function listRuns(sql: Sql, query: RunListQuery): Promise<RunPage> {
  const cursor = query.cursor?.sort === query.sort ? query.cursor : undefined;
  const rows = await selectPage(sql, query, cursor, query.pageSize + 1);
  const more = rows.length > query.pageSize;
  if (cursor?.direction === "prev") {
    if (!more) return listRuns(sql, { ...query, cursor: undefined });
    const runs = rows.slice(rows.length - query.pageSize);
    return { runs, prevCursor: cursorAt(query.sort, runs[0]!, "prev"), nextCursor: cursorAt(query.sort, runs.at(-1)!, "next") };
  }
  const runs = rows.slice(0, query.pageSize);
  return {
    runs,
    nextCursor: more ? cursorAt(query.sort, runs.at(-1)!, "next") : null,
    prevCursor: cursor && runs[0] ? cursorAt(query.sort, runs[0], "prev") : null,
  };
}

export interface ExportRow {
  id: number;
  task: string;
  key: string;
  status: RunStatus;
  stuck: boolean;
  attempt: number;
  max_attempts: number;
  worker: string | null;
  fencing_token: number;
  duplicates: number;
  retry_of: number | null;
  root_run_id: number;
  source: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  error_message: string | null;
}

export const exportColumns = [
  "id",
  "task",
  "key",
  "status",
  "stuck",
  "attempt",
  "max_attempts",
  "worker",
  "fencing_token",
  "duplicates",
  "retry_of",
  "root_run_id",
  "source",
  "created_at",
  "started_at",
  "finished_at",
  "duration_ms",
  "error_message",
] as const satisfies ReadonlyArray<keyof ExportRow>;

const utcText = (sql: Sql, column: Fragment): Fragment => sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The runs matching the filters, in list order, at most `limit`, read through a server-side cursor
 * in batches so an export never holds more than one batch in memory. Stop iterating to close it.
 */
export async function* streamRuns(sql: Sql, filters: RunFilters, limit: number, batchSize = 500): AsyncGenerator<ExportRow[]> {
  const query = sql<RawRow[]>`
    SELECT id, task_name, idempotency_key, status, (status = 'running' AND lease_expires_at < now()) AS stuck,
           attempt, max_attempts, lease_owner, fencing_token, duplicate_count, retry_of, root_run_id, source,
           ${utcText(sql, sql`created_at`)} AS created_text, ${utcText(sql, sql`started_at`)} AS started_text,
           ${utcText(sql, sql`finished_at`)} AS finished_text,
           round(extract(epoch FROM (finished_at - started_at)) * 1000)::bigint AS duration_ms,
           left(error->>'message', 1000) AS error_message
    FROM idem.task_runs
    WHERE ${and(sql, filterConditions(sql, filters))}
    ${orderBy(sql, filters.sort, filters.order === "desc")}
    LIMIT ${limit}`;
  for await (const rows of query.cursor(batchSize)) {
    yield rows.map(
      (row): ExportRow => ({
        id: Number(row.id),
        task: String(row.task_name),
        key: String(row.idempotency_key),
        status: row.status as RunStatus,
        stuck: row.stuck === true,
        attempt: Number(row.attempt),
        max_attempts: Number(row.max_attempts),
        worker: (row.lease_owner as string | null) ?? null,
        fencing_token: Number(row.fencing_token),
        duplicates: Number(row.duplicate_count),
        retry_of: num(row.retry_of),
        root_run_id: Number(row.root_run_id),
        source: String(row.source),
        created_at: String(row.created_text),
        started_at: (row.started_text as string | null) ?? null,
        finished_at: (row.finished_text as string | null) ?? null,
        duration_ms: num(row.duration_ms),
        error_message: (row.error_message as string | null) ?? null,
      }),
    );
  }
}

export interface RunDetail extends Run {
  leaseExpired: boolean;
  /** The database's clock when the run was read: lease expiry and durations are measured against it. */
  dbNow: Date;
  /** Retries in this run's lineage, read with the run: the retry action's "seen" state (lib/ops/retry.ts). */
  lineageRetries: number;
}

export async function getRun(sql: Sql, id: number): Promise<RunDetail | null> {
  if (!Number.isSafeInteger(id) || id < 1) return null;
  const rows = await sql<RawRow[]>`
    SELECT r.*, (r.status = 'running' AND r.lease_expires_at < now()) AS lease_expired, now() AS db_now,
           (SELECT count(*) FROM idem.task_runs o WHERE o.root_run_id = r.root_run_id AND o.retry_of IS NOT NULL)::int AS lineage_retries
    FROM idem.task_runs r WHERE r.id = ${id}::bigint`;
  const row = rows[0];
  if (!row) return null;
  return { ...toRun(row), leaseExpired: row.lease_expired === true, dbNow: date(row.db_now)!, lineageRetries: Number(row.lineage_retries) };
}

export const EVENTS_LIMIT = 1000;
export const HEARTBEATS_LIMIT = 500;
/**
 * Heartbeats counted per lease at most: counting reads the lease's index range, which for a task that
 * heartbeats every second for a day is 86,400 entries (250 ms at 10M runs, docs/BENCHMARKS.md).
 */
const HEARTBEAT_COUNT_LIMIT = 10_000;

export interface HeartbeatSummary {
  fencingToken: number | null;
  count: number;
  /** The count stopped at the limit: the lease has at least this many. */
  capped: boolean;
  firstAt: Date;
  lastAt: Date;
}

export interface RunEvents {
  /** Oldest first: every event but heartbeats (the latest EVENTS_LIMIT), and the latest HEARTBEATS_LIMIT heartbeats. */
  events: RunEvent[];
  /** Older non-heartbeat events were left out. */
  eventsTruncated: boolean;
  heartbeats: {
    /** All heartbeats of the run (each lease counted up to 10,000). */
    total: number;
    shown: number;
    /** Per lease (fencing token): how many, first and last, over all of them, not only those shown. */
    byToken: HeartbeatSummary[];
  };
}

/**
 * Heartbeats per lease, one index walk per lease rather than one pass over every heartbeat: a skip scan
 * finds the leases, then each is counted from the index alone and timed by its first and last row. Two
 * statements, because one whose plan multiplies the per-lease estimate by the guessed number of leases
 * looks expensive enough for Postgres to spend 10+ ms compiling it with JIT.
 */
async function summarizeHeartbeats(sql: Sql, runId: number): Promise<RawRow[]> {
  const leases = await sql<{ fencing_token: string }[]>`
    WITH RECURSIVE lease(fencing_token) AS (
      (SELECT fencing_token FROM idem.run_events
       WHERE run_id = ${runId}::bigint AND kind = 'heartbeat' AND fencing_token IS NOT NULL
       ORDER BY fencing_token LIMIT 1)
      UNION ALL
      (SELECT next.fencing_token FROM lease l CROSS JOIN LATERAL (
        SELECT fencing_token FROM idem.run_events
        WHERE run_id = ${runId}::bigint AND kind = 'heartbeat' AND fencing_token > l.fencing_token
        ORDER BY fencing_token LIMIT 1) next))
    SELECT fencing_token::text FROM lease`;
  if (leases.length === 0) return [];
  return sql<RawRow[]>`
    SELECT l.fencing_token, c.n, f.at AS first_at, z.at AS last_at
    FROM unnest(${leases.map((lease) => lease.fencing_token)}::bigint[]) AS l(fencing_token)
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS n FROM (
        SELECT id FROM idem.run_events
        WHERE run_id = ${runId}::bigint AND kind = 'heartbeat' AND fencing_token = l.fencing_token
        ORDER BY id LIMIT ${HEARTBEAT_COUNT_LIMIT}) h) c
    CROSS JOIN LATERAL (
      SELECT at FROM idem.run_events
      WHERE run_id = ${runId}::bigint AND kind = 'heartbeat' AND fencing_token = l.fencing_token
      ORDER BY id LIMIT 1) f
    CROSS JOIN LATERAL (
      SELECT at FROM idem.run_events
      WHERE run_id = ${runId}::bigint AND kind = 'heartbeat' AND fencing_token = l.fencing_token
      ORDER BY id DESC LIMIT 1) z
    ORDER BY l.fencing_token`;
}

/**
 * The run's timeline. Bounded: a run that heartbeats for hours has its heartbeats collapsed to the latest
 * 500 plus counts. Every statement follows run_events_timeline_idx (run_id, kind, fencing_token, id): the
 * transitions are the two kind ranges either side of 'heartbeat', so the heartbeats are never walked for
 * them; the latest heartbeats are a backward walk of the heartbeat range (a lease's fencing token only
 * grows with id, because every heartbeat is written under the run's row lock by the current holder).
 * A heartbeat carries its lease's fencing token (docs/ledger-protocol.md); one without is not counted.
 */
export async function listRunEvents(sql: Sql, runId: number): Promise<RunEvents> {
  const [rows, summary] = await Promise.all([
    sql<RawRow[]>`
      SELECT * FROM (
        (SELECT * FROM (
          (SELECT * FROM idem.run_events WHERE run_id = ${runId}::bigint AND kind < 'heartbeat')
          UNION ALL
          (SELECT * FROM idem.run_events WHERE run_id = ${runId}::bigint AND kind > 'heartbeat')
        ) t ORDER BY id DESC LIMIT ${EVENTS_LIMIT})
        UNION ALL
        (SELECT * FROM idem.run_events WHERE run_id = ${runId}::bigint AND kind = 'heartbeat'
         ORDER BY fencing_token DESC, id DESC LIMIT ${HEARTBEATS_LIMIT})
      ) e ORDER BY id`,
    summarizeHeartbeats(sql, runId),
  ]);
  const events = rows.map(toRunEvent);
  const byToken = summary.map((row) => ({
    fencingToken: num(row.fencing_token),
    count: Number(row.n),
    capped: Number(row.n) >= HEARTBEAT_COUNT_LIMIT,
    firstAt: date(row.first_at)!,
    lastAt: date(row.last_at)!,
  }));
  const shown = events.filter((event) => event.kind === "heartbeat").length;
  return {
    events,
    eventsTruncated: events.length - shown >= EVENTS_LIMIT,
    heartbeats: { total: byToken.reduce((sum, token) => sum + token.count, 0), shown, byToken },
  };
}

export const DUPLICATES_LIMIT = 100;
export const MISMATCHES_LIMIT = 10;

export interface RunDuplicates {
  /** The latest attempts, newest first, without payloads. */
  recent: Array<Omit<DuplicateAttempt, "payload">>;
  /** The latest payload_mismatch attempts with the payload they carried, for the diff. */
  mismatches: DuplicateAttempt[];
  /** Attempts per outcome (counted up to 100,000). */
  byOutcome: Partial<Record<DuplicateOutcome, number>>;
}

/** Submissions of this run's key that did not run it: replays, in-progress hits, payload mismatches, lock contention. */
export async function listRunDuplicates(sql: Sql, runId: number): Promise<RunDuplicates> {
  const [recent, mismatches, counts] = await Promise.all([
    sql<RawRow[]>`
      SELECT id, run_id, task_name, idempotency_key, fingerprint, outcome, run_status, worker_id, source, attempted_at
      FROM idem.duplicate_attempts WHERE run_id = ${runId}::bigint
      ORDER BY attempted_at DESC, id DESC LIMIT ${DUPLICATES_LIMIT}`,
    sql<RawRow[]>`
      SELECT * FROM idem.duplicate_attempts WHERE run_id = ${runId}::bigint AND outcome = 'payload_mismatch'
      ORDER BY attempted_at DESC, id DESC LIMIT ${MISMATCHES_LIMIT}`,
    sql<RawRow[]>`
      SELECT outcome, count(*)::int AS n
      FROM (SELECT outcome FROM idem.duplicate_attempts WHERE run_id = ${runId}::bigint LIMIT 100000) d
      GROUP BY outcome`,
  ]);
  const byOutcome: Partial<Record<DuplicateOutcome, number>> = {};
  for (const row of counts) byOutcome[row.outcome as DuplicateOutcome] = Number(row.n);
  return {
    recent: recent.map((row) => {
      const { payload: _payload, ...rest } = toDuplicateAttempt(row);
      return rest;
    }),
    mismatches: mismatches.map(toDuplicateAttempt),
    byOutcome,
  };
}

export interface LineageRun {
  id: number;
  retryOf: number | null;
  rootRunId: number;
  taskName: string;
  idempotencyKey: string;
  status: RunStatus;
  leaseExpired: boolean;
  attempt: number;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface Lineage {
  /** From the root down to this run's parent; empty for a run that is not a retry. */
  ancestors: LineageRun[];
  /** Runs that retried this one. */
  children: LineageRun[];
  /** Every run with this run's root, by id (the root first), bounded. */
  tree: LineageRun[];
  treeTruncated: boolean;
  /** The parent chain was longer than the bound (or has a cycle). */
  ancestorsTruncated: boolean;
}

export const LINEAGE_DEPTH_LIMIT = 50;
export const LINEAGE_TREE_LIMIT = 200;
export const LINEAGE_CHILDREN_LIMIT = 100;

function toLineageRun(row: RawRow): LineageRun {
  return {
    id: Number(row.id),
    retryOf: num(row.retry_of),
    rootRunId: Number(row.root_run_id),
    taskName: String(row.task_name),
    idempotencyKey: String(row.idempotency_key),
    status: row.status as RunStatus,
    leaseExpired: row.lease_expired === true,
    attempt: Number(row.attempt),
    createdAt: date(row.created_at)!,
    finishedAt: date(row.finished_at),
  };
}

const lineageColumns = (sql: Sql): Fragment => sql`
  r.id, r.retry_of, r.root_run_id, r.task_name, r.idempotency_key, r.status, r.attempt, r.created_at, r.finished_at,
  (r.status = 'running' AND r.lease_expires_at < now()) AS lease_expired`;

/**
 * Where a run sits among retries: retry_of points at the run it retried and root_run_id at the first
 * run of the chain. The parent chain is walked by primary key; the rest of the tree comes from the
 * root index. All three reads are bounded.
 */
export async function getLineage(sql: Sql, run: Pick<Run, "id" | "retryOf" | "rootRunId">): Promise<Lineage> {
  const [ancestors, children, tree] = await Promise.all([
    run.retryOf === null
      ? Promise.resolve([] as RawRow[])
      : sql<RawRow[]>`
          WITH RECURSIVE up AS (
            SELECT id, retry_of, 1 AS depth FROM idem.task_runs WHERE id = ${run.retryOf}::bigint
            UNION ALL
            SELECT p.id, p.retry_of, up.depth + 1 FROM idem.task_runs p JOIN up ON p.id = up.retry_of
            WHERE up.depth < ${LINEAGE_DEPTH_LIMIT + 1}
          )
          SELECT ${lineageColumns(sql)}, up.depth FROM up JOIN idem.task_runs r ON r.id = up.id ORDER BY up.depth DESC`,
    sql<RawRow[]>`
      SELECT ${lineageColumns(sql)} FROM idem.task_runs r WHERE r.retry_of = ${run.id}::bigint ORDER BY r.id LIMIT ${LINEAGE_CHILDREN_LIMIT}`,
    sql<RawRow[]>`
      SELECT ${lineageColumns(sql)} FROM idem.task_runs r
      WHERE (r.root_run_id = ${run.rootRunId}::bigint AND r.retry_of IS NOT NULL) OR r.id = ${run.rootRunId}::bigint
      ORDER BY r.id LIMIT ${LINEAGE_TREE_LIMIT + 1}`,
  ]);
  const ancestorsTruncated = ancestors.length > LINEAGE_DEPTH_LIMIT;
  return {
    ancestors: (ancestorsTruncated ? ancestors.slice(ancestors.length - LINEAGE_DEPTH_LIMIT) : ancestors).map(toLineageRun),
    children: children.map(toLineageRun),
    tree: tree.slice(0, LINEAGE_TREE_LIMIT).map(toLineageRun),
    treeTruncated: tree.length > LINEAGE_TREE_LIMIT,
    ancestorsTruncated,
  };
}

/**
 * The distinct task names, for the filter's suggestions. A loose index scan (one index probe per
 * name), so it costs the number of tasks, not the number of runs.
 */
export async function listTaskNames(sql: Sql, limit = 200): Promise<string[]> {
  const rows = await sql<RawRow[]>`
    WITH RECURSIVE t AS (
      (SELECT task_name FROM idem.task_runs ORDER BY task_name LIMIT 1)
      UNION ALL
      SELECT (SELECT r.task_name FROM idem.task_runs r WHERE r.task_name > t.task_name ORDER BY r.task_name LIMIT 1)
      FROM t WHERE t.task_name IS NOT NULL
    )
    SELECT task_name FROM t WHERE task_name IS NOT NULL LIMIT ${limit}`;
  return rows.map((row) => String(row.task_name));
}
