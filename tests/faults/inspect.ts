import type postgres from "postgres";
import type { Redis } from "ioredis";
import { parseLockKey } from "@/lib/locks/locks";

/**
 * What an operator must be able to see after a crash: runs nobody is working on any more, and Redis
 * locks nobody holds any more.
 *
 * TODO(console): this is a stand-in written with plain SQL and Redis commands, because the console's
 * queries (runs list filtered to stuck runs, the locks page) do not exist yet. When they do, replace
 * the body of findStuckRunsAndStaleLocks with calls to them and keep the return shape: the fault suite
 * then proves that the console itself shows every stuck run and stale lock the chaos leaves behind.
 */

export type StuckReason =
  /** status running, lease_expires_at in the past (Postgres clock): its worker died or is paused. */
  | "lease_expired"
  /** status pending, available_at in the past: a retry is due but no delivery has picked it up. */
  | "retry_overdue";

export interface StuckRun {
  id: number;
  task: string;
  key: string;
  status: "running" | "pending";
  reason: StuckReason;
  leaseOwner: string | null;
  fencingToken: number;
  attempt: number;
  /** How long it has been stuck, by the Postgres clock. */
  stuckForMs: number;
}

export type StaleLockReason =
  /** The run behind the lock has finished: its worker died (or lost Redis) before releasing it. */
  | "run_finished"
  /** The run is still running but its lease expired: the holder is dead or paused. */
  | "lease_expired"
  /** The run is pending (a retry): nobody holds its lease. */
  | "run_pending"
  /** The run holds a live lease, under a different token: the lock is not the lease holder's. */
  | "not_lease_holder"
  /** No run for this key: a claimer died between SET NX and its claim, or debris from elsewhere. */
  | "no_run"
  /** Under the lock prefix but not `<prefix><task>:<key>`. */
  | "unparseable";

export interface StaleLock {
  lockKey: string;
  /** The lock's value as read (the holder's lease token): the compare half of a compare-and-delete. */
  value: string;
  pttlMs: number;
  reason: StaleLockReason;
  task: string | null;
  key: string | null;
  runId: number | null;
}

export interface LedgerInspection {
  /** Postgres now() when the runs were read. */
  checkedAt: Date;
  stuckRuns: StuckRun[];
  staleLocks: StaleLock[];
  /** Locks whose value is the token of a run's live lease. */
  liveLocks: number;
  /**
   * Why the locks could not be read (Redis down or not answering), or null. Stuck runs come from
   * Postgres alone and are still reported; staleLocks is then empty and means "unknown", not "none".
   */
  locksUnavailable: string | null;
}

interface LockRead {
  lockKey: string;
  value: string;
  pttlMs: number;
}

async function readLocks(redis: Redis, prefix: string): Promise<LockRead[]> {
  const keys = new Set<string>();
  const stream = redis.scanStream({ match: `${prefix}*`, count: 1000 });
  for await (const batch of stream as AsyncIterable<string[]>) for (const key of batch) keys.add(key);
  const locks: LockRead[] = [];
  const list = [...keys];
  for (let offset = 0; offset < list.length; offset += 500) {
    const chunk = list.slice(offset, offset + 500);
    const pipeline = redis.pipeline();
    for (const key of chunk) pipeline.type(key).get(key).pttl(key);
    const replies = (await pipeline.exec()) ?? [];
    chunk.forEach((lockKey, index) => {
      const [typeReply, getReply, pttlReply] = replies.slice(index * 3, index * 3 + 3);
      const type = typeReply?.[1];
      if (type === "none") return; // expired between SCAN and the reads
      // A non-string lock (another library's hash) has no single value; GET errors on it.
      const value = type === "string" ? getReply?.[1] : `<${String(type)}>`;
      if (typeof value !== "string") return;
      locks.push({ lockKey, value, pttlMs: Number(pttlReply?.[1] ?? -2) });
    });
  }
  return locks;
}

interface RunRow {
  id: string;
  task_name: string;
  idempotency_key: string;
  status: string;
  lease_token: string | null;
  lease_live: boolean;
}

/**
 * Stuck runs and stale locks, as the console should show them. Locks are read before runs, so a lock
 * whose run finishes between the two reads is reported as finished, never as live.
 *
 * While workers are running, a lock can look stale for a moment that is not (`no_run` between a
 * worker's SET NX and its claim, `lease_expired` between SET NX and a takeover); an operator view
 * should treat a lock as stale only if it stays so, which `pttlMs` and a second look show.
 */
export async function findStuckRunsAndStaleLocks(
  sql: postgres.Sql,
  redis: Redis,
  options: { lockPrefix: string },
): Promise<LedgerInspection> {
  let locks: LockRead[] = [];
  let locksUnavailable: string | null = null;
  try {
    locks = await readLocks(redis, options.lockPrefix);
  } catch (error) {
    locksUnavailable = error instanceof Error ? error.message : String(error);
  }

  const stuck = await sql<
    {
      id: string;
      task_name: string;
      idempotency_key: string;
      status: "running" | "pending";
      lease_owner: string | null;
      fencing_token: string;
      attempt: number;
      stuck_for_ms: number;
      checked_at: Date;
    }[]
  >`
    SELECT id, task_name, idempotency_key, status, lease_owner, fencing_token, attempt,
           (extract(epoch FROM now() - CASE WHEN status = 'running' THEN lease_expires_at ELSE available_at END) * 1000)::float8 AS stuck_for_ms,
           now() AS checked_at
    FROM idem.task_runs
    WHERE (status = 'running' AND lease_expires_at <= now())
       OR (status = 'pending' AND available_at <= now())
    ORDER BY id`;
  const checkedAt = stuck[0]?.checked_at ?? (await sql<{ now: Date }[]>`SELECT now()`)[0]?.now ?? new Date();

  const parsed = locks.map((lock) => ({ ...lock, parsed: parseLockKey(lock.lockKey, options.lockPrefix) }));
  const wanted = parsed.flatMap((lock) => (lock.parsed ? [lock.parsed] : []));
  const runs = wanted.length
    ? await sql<RunRow[]>`
        SELECT r.id, r.task_name, r.idempotency_key, r.status, r.lease_token,
               (r.status = 'running' AND r.lease_expires_at > now()) AS lease_live
        FROM idem.task_runs r
        JOIN jsonb_to_recordset(${JSON.stringify(wanted)}::text::jsonb) AS w(task text, key text)
          ON r.task_name = w.task AND r.idempotency_key = w.key`
    : [];
  const runByKey = new Map(runs.map((run) => [`${run.task_name}\u0000${run.idempotency_key}`, run]));

  const staleLocks: StaleLock[] = [];
  let liveLocks = 0;
  for (const lock of parsed) {
    const base = { lockKey: lock.lockKey, value: lock.value, pttlMs: lock.pttlMs };
    if (!lock.parsed) {
      staleLocks.push({ ...base, reason: "unparseable", task: null, key: null, runId: null });
      continue;
    }
    const { task, key } = lock.parsed;
    const run = runByKey.get(`${task}\u0000${key}`);
    let reason: StaleLockReason | null;
    if (!run) reason = "no_run";
    else if (run.status === "succeeded" || run.status === "failed" || run.status === "cancelled") reason = "run_finished";
    else if (run.status === "pending") reason = "run_pending";
    else if (!run.lease_live) reason = "lease_expired";
    else if (run.lease_token !== lock.value) reason = "not_lease_holder";
    else reason = null;
    if (reason === null) liveLocks++;
    else staleLocks.push({ ...base, reason, task, key, runId: run ? Number(run.id) : null });
  }

  return {
    checkedAt: new Date(checkedAt),
    stuckRuns: stuck.map((row) => ({
      id: Number(row.id),
      task: row.task_name,
      key: row.idempotency_key,
      status: row.status,
      reason: row.status === "running" ? "lease_expired" : "retry_overdue",
      leaseOwner: row.lease_owner,
      fencingToken: Number(row.fencing_token),
      attempt: row.attempt,
      stuckForMs: Math.max(0, Math.round(row.stuck_for_ms)),
    })),
    staleLocks,
    liveLocks,
    locksUnavailable,
  };
}
