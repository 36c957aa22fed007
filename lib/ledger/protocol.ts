import type postgres from "postgres";
import type { Json } from "./json";
import { toRun, type Run } from "./rows";
import type { DuplicateOutcome, RunStatus } from "./schema";
import type { Submission } from "./spec";

/**
 * The ledger protocol, one function per statement. docs/ledger-protocol.md documents the same
 * statements for workers in other languages; keep the two in step.
 *
 * Every statement is a single SQL statement, so it is atomic on its own: a state change and the
 * run_events row that records it commit together or not at all, and the common path (claim a fresh
 * key, then complete it) costs two round trips, the same as the hand-written minimum.
 */
export type Queryable = postgres.Sql | postgres.TransactionSql;

export type RawRow = Record<string, unknown>;

const json = (value: Json | undefined): string => JSON.stringify(value ?? null);
const iso = (date: Date | undefined | null): string | null => (date ? date.toISOString() : null);

export interface LeaseRequest {
  workerId: string;
  token: string;
}

/**
 * Statement 1: claim a key that has never been seen. One INSERT ... ON CONFLICT DO NOTHING; the
 * unique (task_name, idempotency_key) index decides between concurrent submitters, so there is no
 * SELECT-then-INSERT window. Returns null when the key exists (go to statement 2).
 */
export async function insertClaim(q: Queryable, sub: Submission, lease: LeaseRequest): Promise<Run | null> {
  const rows = await insertClaimRows(q, sub, lease);
  return rows[0] ? toRun(rows[0]) : null;
}

/** Statement 1 as sent, its rows as the driver returns them (bench/cycle.ts sends it from a plain loop). */
export function insertClaimRows(q: Queryable, sub: Submission, lease: LeaseRequest): Promise<RawRow[]> {
  return q<RawRow[]>`
    WITH new_run AS (
      INSERT INTO idem.task_runs AS r
        (id, root_run_id, task_name, idempotency_key, fingerprint, payload, status, attempt, max_attempts,
         lease_owner, lease_token, lease_expires_at, heartbeat_at, fencing_token, scheduled_for, source, started_at)
      SELECT n.id, n.id, ${sub.task}, ${sub.key}, ${sub.fingerprint}, ${sub.payloadJson}::text::jsonb, 'running', 1, ${sub.maxAttempts},
             ${lease.workerId}, ${lease.token}::uuid, now() + ${sub.leaseMs}::int * interval '1 millisecond', now(), 1,
             ${iso(sub.scheduledFor)}::timestamptz, ${sub.source}, now()
      FROM (SELECT nextval('idem.task_runs_id_seq') AS id) n
      ON CONFLICT (task_name, idempotency_key) DO NOTHING
      RETURNING r.*
    ), event AS (
      INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail)
      SELECT id, 'claimed', NULL, 'running', ${lease.workerId}, fencing_token,
             jsonb_build_object('attempt', attempt, 'lease_expires_at', lease_expires_at, 'lease_ms', ${sub.leaseMs}::int)
      FROM new_run
    )
    SELECT * FROM new_run`;
}

export type ConflictResolution =
  | { outcome: "claimed"; previousStatus: RunStatus; run: Run }
  | { outcome: Exclude<DuplicateOutcome, "lock_contended">; run: Run };

/**
 * Statement 2, when statement 1 returned nothing. Locks the existing row and, in the same statement,
 * either takes it over by compare-and-set (same fingerprint, and the run is pending with its backoff
 * over, or its lease has expired: fencing_token and attempt are bumped and the previous owner is
 * recorded), or records the submission in duplicate_attempts as replayed / in_progress /
 * payload_mismatch. A pending run still waiting out its backoff is in_progress: a queue redelivering
 * at once must not cut the backoff short. Returns null only if
 * the row vanished, which the ledger never does on its own.
 */
export async function resolveConflict(q: Queryable, sub: Submission, lease: LeaseRequest): Promise<ConflictResolution | null> {
  const rows = await q<RawRow[]>`
    WITH prev AS (
      SELECT r.* FROM idem.task_runs r
      WHERE r.task_name = ${sub.task} AND r.idempotency_key = ${sub.key}
      FOR UPDATE
    ), took AS (
      UPDATE idem.task_runs r SET
        status = 'running', attempt = r.attempt + 1, fencing_token = r.fencing_token + 1,
        lease_owner = ${lease.workerId}, lease_token = ${lease.token}::uuid,
        lease_expires_at = now() + ${sub.leaseMs}::int * interval '1 millisecond', heartbeat_at = now(),
        started_at = now(), finished_at = NULL, updated_at = now()
      FROM prev
      WHERE r.id = prev.id AND prev.fingerprint = ${sub.fingerprint}
        AND ((prev.status = 'pending' AND prev.available_at <= now()) OR (prev.status = 'running' AND prev.lease_expires_at <= now()))
      RETURNING r.*
    ), took_event AS (
      INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail)
      SELECT took.id, CASE WHEN prev.status = 'pending' THEN 'claimed' ELSE 'takeover' END, prev.status, 'running',
             ${lease.workerId}, took.fencing_token,
             jsonb_build_object('attempt', took.attempt, 'lease_expires_at', took.lease_expires_at, 'lease_ms', ${sub.leaseMs}::int,
                                'previous_owner', prev.lease_owner, 'previous_fencing_token', prev.fencing_token,
                                'previous_lease_expired_at', prev.lease_expires_at)
      FROM took JOIN prev ON prev.id = took.id
    ), dup AS (
      INSERT INTO idem.duplicate_attempts (run_id, task_name, idempotency_key, fingerprint, outcome, run_status, worker_id, source, payload)
      SELECT prev.id, prev.task_name, prev.idempotency_key, ${sub.fingerprint}, o.outcome, prev.status, ${lease.workerId}, ${sub.source},
             CASE WHEN o.outcome = 'payload_mismatch' THEN ${sub.payloadJson}::text::jsonb END
      FROM prev CROSS JOIN LATERAL (
        SELECT (CASE
          WHEN prev.fingerprint <> ${sub.fingerprint} THEN 'payload_mismatch'
          WHEN prev.status IN ('succeeded', 'failed', 'cancelled') THEN 'replayed'
          ELSE 'in_progress' END)::idem.duplicate_outcome AS outcome
      ) o
      WHERE NOT EXISTS (SELECT 1 FROM took)
      RETURNING outcome
    ), counted AS (
      UPDATE idem.task_runs r SET duplicate_count = r.duplicate_count + 1, last_duplicate_at = now()
      FROM prev WHERE r.id = prev.id AND EXISTS (SELECT 1 FROM dup)
    )
    SELECT 'claimed' AS outcome, prev.status AS previous_status, took.* FROM took JOIN prev ON prev.id = took.id
    UNION ALL
    SELECT dup.outcome::text, prev.status, prev.* FROM dup, prev`;
  const row = rows[0];
  if (!row) return null;
  const run = toRun(row);
  if (row.outcome === "claimed") return { outcome: "claimed", previousStatus: row.previous_status as RunStatus, run };
  return { outcome: row.outcome as Exclude<DuplicateOutcome, "lock_contended">, run: { ...run, duplicateCount: run.duplicateCount + 1 } };
}

export type LockContendedResolution =
  | { outcome: "lock_contended"; runId: number | null }
  | { outcome: "replayed" | "payload_mismatch"; run: Run };

/**
 * Statement 1b: a submission turned away by the Redis lock before it reached the ledger's claim. The
 * lock only says someone is working on the key; the ledger still answers what it can without taking
 * a row lock on the (hot) run: a different fingerprint is a payload_mismatch (payload kept for the
 * console's diff), a finished run is replayed (a lock that outlived its holder must not hide the
 * result), and only a run that is not finished, or no run yet, is lock_contended.
 */
export async function recordLockContended(q: Queryable, sub: Submission, workerId: string): Promise<LockContendedResolution> {
  const rows = await q<RawRow[]>`
    WITH target AS (
      SELECT r.id, r.fingerprint, r.status FROM idem.task_runs r WHERE r.task_name = ${sub.task} AND r.idempotency_key = ${sub.key}
    ), seen AS (
      SELECT target.*, (CASE
        WHEN target.id IS NULL THEN 'lock_contended'
        WHEN target.fingerprint <> ${sub.fingerprint} THEN 'payload_mismatch'
        WHEN target.status IN ('succeeded', 'failed', 'cancelled') THEN 'replayed'
        ELSE 'lock_contended' END)::idem.duplicate_outcome AS seen_outcome
      FROM (SELECT 1) one LEFT JOIN target ON true
    ), dup AS (
      INSERT INTO idem.duplicate_attempts (run_id, task_name, idempotency_key, fingerprint, outcome, run_status, worker_id, source, payload)
      SELECT seen.id, ${sub.task}, ${sub.key}, ${sub.fingerprint}, seen.seen_outcome, seen.status, ${workerId}, ${sub.source},
             CASE WHEN seen.seen_outcome = 'payload_mismatch' THEN ${sub.payloadJson}::text::jsonb END
      FROM seen
    ), counted AS (
      UPDATE idem.task_runs SET duplicate_count = duplicate_count + 1, last_duplicate_at = now()
      WHERE id = (SELECT id FROM target)
    )
    SELECT seen.seen_outcome::text AS outcome, seen.id AS run_id, r.*
    FROM seen LEFT JOIN idem.task_runs r ON r.id = seen.id AND seen.seen_outcome <> 'lock_contended'`;
  const row = rows[0];
  if (!row || row.outcome === "lock_contended") return { outcome: "lock_contended", runId: row?.run_id == null ? null : Number(row.run_id) };
  // r is read in the statement's snapshot, before counted's update: add this duplicate to the count.
  const found = toRun(row);
  return { outcome: row.outcome as "replayed" | "payload_mismatch", run: { ...found, duplicateCount: found.duplicateCount + 1 } };
}

export interface HeldLease {
  runId: number;
  token: string;
  workerId: string;
  fencingToken: number;
  leaseMs: number;
}

/** Extends the lease while the caller still holds it. Null when the lease is lost. */
export async function heartbeatStatement(q: Queryable, lease: HeldLease, recordEvent: boolean): Promise<{ leaseExpiresAt: Date } | null> {
  const rows = await q<RawRow[]>`
    WITH hb AS (
      UPDATE idem.task_runs
      SET lease_expires_at = now() + ${lease.leaseMs}::int * interval '1 millisecond', heartbeat_at = now(), updated_at = now()
      WHERE id = ${lease.runId} AND lease_token = ${lease.token}::uuid AND status = 'running'
      RETURNING id, fencing_token, lease_expires_at
    ), event AS (
      INSERT INTO idem.run_events (run_id, kind, actor, fencing_token, detail)
      SELECT id, 'heartbeat', ${lease.workerId}, fencing_token, jsonb_build_object('lease_expires_at', lease_expires_at)
      FROM hb WHERE ${recordEvent}::boolean
    )
    SELECT lease_expires_at FROM hb`;
  const row = rows[0];
  return row ? { leaseExpiresAt: new Date(row.lease_expires_at as string | Date) } : null;
}

/**
 * Marks the run succeeded, only while the caller still holds the lease (WHERE lease_token = mine).
 * A worker whose lease was taken over matches no row: its late write changes nothing.
 */
export async function completeStatement(q: Queryable, lease: HeldLease, result: Json, options: { xid?: string } = {}): Promise<Run | null> {
  const rows = await completeRows(q, lease, result, options);
  return rows[0] ? toRun(rows[0]) : null;
}

/** The completion as sent, its rows as the driver returns them (bench/cycle.ts sends it from a plain loop). */
export function completeRows(q: Queryable, lease: HeldLease, result: Json, options: { xid?: string } = {}): Promise<RawRow[]> {
  // clock_timestamp(), not now(): inside runOnceInTransaction now() is when the transaction began, which
  // would date the completion before the work it records. The optional xid pins the write to the
  // transaction that did the work (see runOnceInTransaction).
  return q<RawRow[]>`
    WITH done AS (
      UPDATE idem.task_runs
      SET status = 'succeeded', result = ${json(result)}::text::jsonb, error = NULL, finished_at = clock_timestamp(),
          updated_at = clock_timestamp(), lease_expires_at = NULL
      WHERE id = ${lease.runId} AND lease_token = ${lease.token}::uuid AND status = 'running'
        AND (${options.xid ?? null}::text IS NULL OR pg_current_xact_id()::text = ${options.xid ?? null}::text)
      RETURNING *
    ), event AS (
      INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail, at)
      SELECT id, 'succeeded', 'running', 'succeeded', ${lease.workerId}, fencing_token,
             jsonb_build_object('attempt', attempt, 'duration_ms', round(extract(epoch FROM finished_at - started_at) * 1000)), finished_at
      FROM done
    )
    SELECT * FROM done`;
}

export interface ErrorRecord {
  message: string;
  class: string;
  stack: string | null;
  [key: string]: Json;
}

/**
 * Records a failure while the caller holds the lease. With attempts left and a retryable error the run
 * goes back to pending (available again after the backoff); otherwise it is failed and its key is spent.
 */
export async function failStatement(
  q: Queryable,
  lease: HeldLease,
  error: ErrorRecord,
  retry: { retryable: boolean; backoffMs: number },
): Promise<Run | null> {
  const rows = await q<RawRow[]>`
    WITH failed AS (
      UPDATE idem.task_runs r
      SET status = (CASE WHEN ${retry.retryable}::boolean AND r.attempt < r.max_attempts THEN 'pending' ELSE 'failed' END)::idem.run_status,
          error = ${json(error)}::text::jsonb,
          finished_at = CASE WHEN ${retry.retryable}::boolean AND r.attempt < r.max_attempts THEN NULL ELSE now() END,
          available_at = now() + ${retry.backoffMs}::int * interval '1 millisecond',
          lease_expires_at = NULL, updated_at = now()
      WHERE r.id = ${lease.runId} AND r.lease_token = ${lease.token}::uuid AND r.status = 'running'
      RETURNING r.*
    ), event AS (
      INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail)
      SELECT id, CASE WHEN status = 'pending' THEN 'retry_scheduled' ELSE 'failed' END, 'running', status, ${lease.workerId}, fencing_token,
             jsonb_build_object('attempt', attempt, 'error', error, 'available_at', CASE WHEN status = 'pending' THEN available_at END,
                                'duration_ms', round(extract(epoch FROM now() - started_at) * 1000))
      FROM failed
    )
    SELECT * FROM failed`;
  return rows[0] ? toRun(rows[0]) : null;
}

/**
 * After a write matched no row: records the rejected stale write on the run's timeline (no state
 * changes) and returns the run's current holder, for the LeaseLostError.
 */
export async function recordStaleWrite(
  q: Queryable,
  lease: HeldLease,
  attempted: "heartbeat" | "complete" | "fail",
): Promise<{ status: RunStatus; fencingToken: number; leaseOwner: string | null } | null> {
  const rows = await q<RawRow[]>`
    WITH current AS (
      SELECT id, status, fencing_token, lease_owner FROM idem.task_runs WHERE id = ${lease.runId}
    ), event AS (
      INSERT INTO idem.run_events (run_id, kind, actor, fencing_token, detail)
      SELECT id, 'stale_write_rejected', ${lease.workerId}, ${lease.fencingToken},
             jsonb_build_object('attempted', ${attempted}::text, 'current_status', status,
                                'current_fencing_token', fencing_token, 'current_owner', lease_owner)
      FROM current
    )
    SELECT status, fencing_token, lease_owner FROM current`;
  const row = rows[0];
  return row
    ? { status: row.status as RunStatus, fencingToken: Number(row.fencing_token), leaseOwner: (row.lease_owner as string | null) ?? null }
    : null;
}

/** The channel a writer notifies (payload: the task name) when it creates a pending run. */
export const PENDING_CHANNEL = "idem_pending";

export interface PendingClaimRequest {
  tasks: readonly string[];
  /** One fresh lease token per run to claim; the statement claims at most this many runs. */
  tokens: readonly string[];
  workerId: string;
  leaseMs: number;
}

/**
 * Executing pending runs: picks up to tokens.length pending runs of the given tasks that are due
 * (oldest available first) and flips them to running in the same statement, each with its own lease
 * token, fencing_token + 1 and attempt + 1, with a 'claimed' event. FOR UPDATE SKIP LOCKED lets any
 * number of workers poll at once: each row goes to exactly one of them and nobody waits on another's
 * locked rows.
 */
export async function claimPendingStatement(q: Queryable, request: PendingClaimRequest): Promise<Run[]> {
  if (request.tokens.length === 0 || request.tasks.length === 0) return [];
  const rows = await q<RawRow[]>`
    WITH picked AS (
      SELECT id, available_at FROM idem.task_runs
      WHERE status = 'pending' AND task_name = ANY(${[...request.tasks]}::text[]) AND available_at <= now()
      ORDER BY available_at, id
      LIMIT ${request.tokens.length}
      FOR UPDATE SKIP LOCKED
    ), numbered AS (
      -- FOR UPDATE cannot share a query level with a window function, hence the second step.
      SELECT id, row_number() OVER (ORDER BY available_at, id) AS n FROM picked
    ), took AS (
      UPDATE idem.task_runs r SET
        status = 'running', attempt = r.attempt + 1, fencing_token = r.fencing_token + 1,
        lease_owner = ${request.workerId}, lease_token = t.token,
        lease_expires_at = now() + ${request.leaseMs}::int * interval '1 millisecond', heartbeat_at = now(),
        started_at = now(), finished_at = NULL, updated_at = now()
      FROM numbered JOIN unnest(${[...request.tokens]}::uuid[]) WITH ORDINALITY AS t(token, n) ON t.n = numbered.n
      WHERE r.id = numbered.id AND r.status = 'pending'
      RETURNING r.*
    ), event AS (
      INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail)
      SELECT id, 'claimed', 'pending', 'running', ${request.workerId}, fencing_token,
             jsonb_build_object('attempt', attempt, 'lease_expires_at', lease_expires_at, 'lease_ms', ${request.leaseMs}::int,
                                'via', 'worker')
      FROM took
    )
    SELECT * FROM took ORDER BY available_at, id`;
  return rows.map(toRun);
}
