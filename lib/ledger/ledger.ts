import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type postgres from "postgres";
import type { RedisClient } from "@/lib/locks/commands";
import { DEFAULT_LOCK_PREFIX, acquireLock, extendLock, lockKeyFor, releaseLock } from "@/lib/locks/locks";
import { LeaseLostError, PayloadMismatchError } from "./errors";
import { assertJson, storableText, type Json } from "./json";
import { LeaseSignal } from "./lease-signal";
import {
  claimPendingStatement,
  completeStatement,
  failStatement,
  heartbeatStatement,
  insertClaim,
  recordLockContended,
  recordStaleWrite,
  resolveConflict,
  type ErrorRecord,
  type HeldLease,
  type Queryable,
} from "./protocol";
import type { Run } from "./rows";
import type { RunStatus } from "./schema";
import { LEASE_MAX_MS, assertFunction, labelSchema, leaseMsSchema, leaseTokenSchema, parseOrThrow, pendingLimitSchema, taskListSchema, parseSubmission, type Submission, type SubmissionInput } from "./spec";
import { startWorker, type Worker, type WorkerOptions } from "./worker";

export interface Logger {
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface LedgerOptions {
  /** A postgres.js client. The ledger tables live in the `idem` schema of its database. */
  sql: postgres.Sql;
  /** Optional fast path. With Redis absent or down the ledger is still exactly-once: Postgres decides. */
  redis?: RedisClient | null;
  workerId?: string;
  lockPrefix?: string;
  /** Give up on a Redis call after this long and carry on without it. */
  redisTimeoutMs?: number;
  /**
   * How long a run that failed with attempts left waits before it may run again (`available_at`), by
   * the attempt that failed. Default min(60 s, 1 s * 2^(attempt - 1)). A redelivery during the wait is
   * answered in_progress.
   */
  backoffMs?: (attempt: number) => number;
  /** Write a run_events row for every heartbeat (the console draws them on the timeline). */
  recordHeartbeats?: boolean;
  logger?: Logger;
}

export interface Lease extends HeldLease {
  expiresAt: Date;
  lockKey: string;
}

export type ClaimResult =
  | { outcome: "claimed"; run: Run; lease: Lease; previousStatus: RunStatus | null }
  | { outcome: "replayed" | "in_progress" | "payload_mismatch"; run: Run };

export type Claimed = Extract<ClaimResult, { outcome: "claimed" }>;

export interface RunContext {
  runId: number;
  task: string;
  key: string;
  attempt: number;
  /** Pass this to downstream systems that can reject writes from an older holder. */
  fencingToken: number;
  payload: Json;
  /** Aborted when the lease is lost; stop work and let the late write be rejected. */
  signal: AbortSignal;
}

export type RunOnceResult<T> =
  | { outcome: "executed"; run: Run; result: T }
  | {
      outcome: "replayed";
      run: Run;
      /** How the run ended. Only a succeeded run has a result; a failed or cancelled one has its error. */
      status: "succeeded" | "failed" | "cancelled";
      result: Json | null;
      error: ErrorRecord | null;
    }
  | { outcome: "in_progress"; run: Run }
  | { outcome: "lock_contended"; runId: number | null };

export interface FailOptions {
  /** Send the run back to pending if it has attempts left (default true). */
  retryable?: boolean;
  backoffMs?: number;
}

type LockState = "acquired" | "contended" | "unavailable" | "disabled";

const REDIS_WARN_EVERY_MS = 30_000;

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

const ERROR_MESSAGE_MAX_CHARS = 8 * 1024;
const ERROR_CLASS_MAX_CHARS = 200;
const ERROR_STACK_MAX_CHARS = 64 * 1024;

/**
 * The failure as the ledger stores it. Whatever fn threw must be recordable: text Postgres cannot
 * store (U+0000, unpaired surrogates) would make the fail statement itself fail and leave the run
 * `running` until its lease expired, so it is replaced, and sizes are capped.
 */
export function errorRecord(error: unknown): ErrorRecord {
  let message: string;
  let className: string;
  let stack: string | null = null;
  if (error instanceof Error) {
    message = error.message || String(error);
    // `class MyErr extends Error {}` keeps name "Error"; its constructor knows better.
    const constructorName = typeof error.constructor === "function" ? error.constructor.name : "";
    className = error.name && (error.name !== "Error" || !constructorName) ? error.name : constructorName || "Error";
    stack = typeof error.stack === "string" ? error.stack : null;
  } else {
    try {
      message = typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
    } catch {
      message = String(error);
    }
    className = typeof error;
  }
  return {
    message: storableText(String(message), ERROR_MESSAGE_MAX_CHARS),
    class: storableText(String(className), ERROR_CLASS_MAX_CHARS),
    stack: stack === null ? null : storableText(stack, ERROR_STACK_MAX_CHARS),
  };
}

/**
 * The transaction handle given to runOnceInTransaction's `fn`, refusing every query once the
 * transaction has ended. postgres.js 3.4.9 rejects `begin()` when the connection drops while `fn` is
 * awaiting something else, but lets `fn` keep querying through `tx`, and those queries then run on a
 * replacement connection outside any transaction (porsager/postgres#1216): effects would commit
 * without the completion.
 */
export function guardTransaction(tx: postgres.TransactionSql, isOpen: () => boolean): postgres.TransactionSql {
  const refuse = () => {
    throw new Error("this transaction has ended (its connection closed or it already finished); the query was not sent");
  };
  return new Proxy(tx, {
    apply(target, thisArg, args: unknown[]) {
      if (!isOpen()) refuse();
      return Reflect.apply(target, thisArg, args);
    },
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || !["unsafe", "savepoint", "file", "prepare"].includes(String(property))) return value;
      return (...args: unknown[]) => {
        if (!isOpen()) refuse();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

// A heartbeat already found the lease taken over (and recorded it): completing would only be refused.
function throwIfLeaseLost(lease: LeaseSignal) {
  if (lease.reason instanceof LeaseLostError) throw lease.reason;
}

export function defaultBackoffMs(attempt: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

export function createLedger(options: LedgerOptions) {
  const sql = options.sql;
  const redis = options.redis ?? null;
  const workerId = options.workerId === undefined ? defaultWorkerId() : parseOrThrow(labelSchema, options.workerId, "workerId");
  const lockPrefix = options.lockPrefix === undefined ? DEFAULT_LOCK_PREFIX : parseOrThrow(labelSchema, options.lockPrefix, "lockPrefix");
  const redisTimeoutMs = options.redisTimeoutMs ?? 500;
  const recordHeartbeats = options.recordHeartbeats ?? true;
  const backoffFor = options.backoffMs ?? defaultBackoffMs;
  const logger: Logger = options.logger ?? { warn: (message, meta) => console.warn(`[idem] ${message}`, meta ?? "") };
  let lastRedisWarning = 0;

  function redisUnavailable(error: unknown) {
    const now = Date.now();
    if (now - lastRedisWarning > REDIS_WARN_EVERY_MS) {
      lastRedisWarning = now;
      logger.warn("Redis unavailable, continuing on Postgres alone", { error: errorRecord(error).message });
    }
  }

  // A Redis call that has not answered in time is treated as failed; if it later turns out to have
  // succeeded (a lock we did acquire), the caller's release in `finally` removes it.
  async function withRedisTimeout<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${redisTimeoutMs} ms`)), redisTimeoutMs);
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function tryLock(lockKey: string, token: string, ttlMs: number): Promise<LockState> {
    if (!redis) return "disabled";
    try {
      return (await withRedisTimeout(acquireLock(redis, lockKey, token, ttlMs))) ? "acquired" : "contended";
    } catch (error) {
      redisUnavailable(error);
      return "unavailable";
    }
  }

  async function unlock(lockKey: string, token: string): Promise<void> {
    if (!redis) return;
    try {
      await withRedisTimeout(releaseLock(redis, lockKey, token));
    } catch (error) {
      redisUnavailable(error);
    }
  }

  async function claimSubmission(sub: Submission, token: string): Promise<ClaimResult> {
    const request = { workerId, token };
    // A row that vanished between the two statements can only come from manual deletion; start over.
    for (let round = 0; round < 3; round++) {
      const fresh = await insertClaim(sql, sub, request);
      const resolved = fresh ? { outcome: "claimed" as const, run: fresh, previousStatus: null } : await resolveConflict(sql, sub, request);
      if (!resolved) continue;
      if (resolved.outcome !== "claimed") return resolved;
      const run = resolved.run;
      return {
        outcome: "claimed",
        run,
        previousStatus: "previousStatus" in resolved ? resolved.previousStatus : null,
        lease: {
          runId: run.id,
          token,
          workerId,
          fencingToken: run.fencingToken,
          leaseMs: sub.leaseMs,
          expiresAt: run.leaseExpiresAt ?? new Date(Date.now() + sub.leaseMs),
          lockKey: lockKeyFor(sub.task, sub.key, lockPrefix),
        },
      };
    }
    throw new Error(`run for ${sub.task}/${sub.key} disappeared while claiming it`);
  }

  async function leaseLost(lease: HeldLease, attempted: "heartbeat" | "complete" | "fail"): Promise<LeaseLostError> {
    const current = await recordStaleWrite(sql, lease, attempted);
    return new LeaseLostError(lease.runId, lease.fencingToken, current);
  }

  /** Claims a key: a fresh insert, a takeover of a pending or expired run, or a recorded duplicate. */
  async function claimRun(input: SubmissionInput, leaseToken: string = randomUUID()): Promise<ClaimResult> {
    const sub = parseSubmission(input);
    return claimSubmission(sub, parseOrThrow(leaseTokenSchema, leaseToken, "leaseToken"));
  }

  /**
   * Claims up to `limit` due pending runs of `tasks` (FOR UPDATE SKIP LOCKED: concurrent callers get
   * disjoint runs), each with its own lease. No Redis lock is taken: nothing else competes for a
   * pending run's key, and the ledger decides anyway.
   */
  async function claimPending(request: { tasks: readonly string[]; limit: number; leaseMs?: number }): Promise<Claimed[]> {
    const leaseMs = parseOrThrow(leaseMsSchema, request.leaseMs ?? 30_000, "leaseMs");
    const limit = parseOrThrow(pendingLimitSchema, request.limit, "limit");
    const tasks = parseOrThrow(taskListSchema, request.tasks, "tasks");
    const tokens = Array.from({ length: limit }, () => randomUUID());
    const runs = await claimPendingStatement(sql, { tasks, tokens, workerId, leaseMs });
    return runs.map((run) => ({
      outcome: "claimed" as const,
      run,
      previousStatus: "pending" as const,
      lease: {
        runId: run.id,
        token: run.leaseToken ?? "",
        workerId,
        fencingToken: run.fencingToken,
        leaseMs,
        expiresAt: run.leaseExpiresAt ?? new Date(Date.now() + leaseMs),
        lockKey: lockKeyFor(run.taskName, run.idempotencyKey, lockPrefix),
      },
    }));
  }

  /** Extends the lease (and the Redis lock, if any). Throws LeaseLostError when it was taken over. */
  async function heartbeat(lease: Lease): Promise<Lease> {
    const extended = await heartbeatStatement(sql, lease, recordHeartbeats);
    if (!extended) throw await leaseLost(lease, "heartbeat");
    if (redis) {
      try {
        await withRedisTimeout(extendLock(redis, lease.lockKey, lease.token, lease.leaseMs));
      } catch (error) {
        redisUnavailable(error);
      }
    }
    return { ...lease, expiresAt: extended.leaseExpiresAt };
  }

  async function completeRun(lease: HeldLease, result: unknown, q: Queryable = sql): Promise<Run> {
    const value = result === undefined ? null : result;
    assertJson("result", value);
    const run = await completeStatement(q, lease, value);
    if (!run) throw await leaseLost(lease, "complete");
    return run;
  }

  async function failRun(lease: HeldLease, error: unknown, options: FailOptions = {}): Promise<Run> {
    const run = await failStatement(sql, lease, errorRecord(error), {
      retryable: options.retryable ?? true,
      backoffMs: options.backoffMs ?? 0,
    });
    if (!run) throw await leaseLost(lease, "fail");
    return run;
  }

  /**
   * Keeps the lease alive while `fn` runs: a heartbeat every third of the lease. Heartbeats never
   * overlap, and `stop()` waits for one in flight so it cannot land after completion.
   */
  function keepAlive(initial: Lease, lost: LeaseSignal) {
    let lease = initial;
    let stopped = false;
    let inFlight: Promise<void> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const interval = Math.max(50, Math.floor(initial.leaseMs / 3));
    const tick = () => {
      inFlight = heartbeat(lease)
        .then((next) => {
          lease = next;
        })
        .catch((error: unknown) => {
          if (error instanceof LeaseLostError) {
            stopped = true;
            lost.abort(error);
          } else {
            // A dropped connection is not a lost lease; try again on the next tick while the lease lasts.
            logger.warn("heartbeat failed, will retry", { runId: lease.runId, error: errorRecord(error).message });
          }
        })
        .finally(() => {
          if (!stopped) timer = setTimeout(tick, interval);
        });
    };
    timer = setTimeout(tick, interval);
    return {
      async stop() {
        stopped = true;
        clearTimeout(timer);
        await inFlight;
      },
    };
  }

  function contextFor(claim: Claimed, lost: LeaseSignal): RunContext {
    return {
      runId: claim.run.id,
      task: claim.run.taskName,
      key: claim.run.idempotencyKey,
      attempt: claim.run.attempt,
      fencingToken: claim.lease.fencingToken,
      payload: claim.run.payload as Json,
      get signal() {
        return lost.signal;
      },
    };
  }

  function notClaimed<T>(claim: Exclude<ClaimResult, { outcome: "claimed" }>, sub: Submission): RunOnceResult<T> {
    if (claim.outcome === "payload_mismatch") {
      throw new PayloadMismatchError(claim.run.id, claim.run.fingerprint, sub.fingerprint);
    }
    if (claim.outcome === "replayed") {
      const run = claim.run;
      const status = run.status === "failed" || run.status === "cancelled" ? run.status : "succeeded";
      return {
        outcome: "replayed",
        run,
        status,
        result: status === "succeeded" ? ((run.result as Json | null) ?? null) : null,
        error: status === "succeeded" ? null : ((run.error as ErrorRecord | null) ?? null),
      };
    }
    return { outcome: "in_progress", run: claim.run };
  }

  /**
   * Runs `execute` while holding the claim's lease: heartbeats keep it alive, and a throw is recorded
   * as a failure (back to pending with a backoff while attempts remain) unless the lease was lost.
   */
  async function withLease<T>(
    claim: Claimed,
    // Must call stopHeartbeat() before writing the completion, so no heartbeat can land after it.
    execute: (lost: LeaseSignal, stopHeartbeat: () => Promise<void>) => Promise<{ run: Run; result: T }>,
  ): Promise<{ run: Run; result: T }> {
    const lost = new LeaseSignal();
    const alive = keepAlive(claim.lease, lost);
    try {
      return await execute(lost, alive.stop);
    } catch (error) {
      await alive.stop();
      if (error instanceof LeaseLostError) throw error;
      throwIfLeaseLost(lost);
      const retryable = !(error instanceof PayloadMismatchError);
      // The caller's function runs on the failure path, where throwing would lose the failure record:
      // an unusable answer falls back to the default instead.
      const backoffMs = backoffFor(claim.run.attempt);
      const usable = Number.isInteger(backoffMs) && backoffMs >= 0 && backoffMs <= LEASE_MAX_MS;
      await failRun(claim.lease, error, { retryable, backoffMs: usable ? backoffMs : defaultBackoffMs(claim.run.attempt) });
      throw error;
    }
  }

  async function completeAfter<T>(
    claim: Claimed,
    fn: (ctx: RunContext) => Promise<T> | T,
    lost: LeaseSignal,
    stopHeartbeat: () => Promise<void>,
  ): Promise<{ run: Run; result: T }> {
    const result = await fn(contextFor(claim, lost));
    await stopHeartbeat();
    throwIfLeaseLost(lost);
    return { run: await completeRun(claim.lease, result), result };
  }

  /**
   * Runs `fn` for a run this worker has claimed (claimRun or claimPending) and writes its outcome:
   * completed with fn's result, or failed with what it threw (rethrown). Throws LeaseLostError if the
   * lease was lost meanwhile; the late write then changed nothing.
   */
  async function executeClaimed<T>(claim: Claimed, fn: (ctx: RunContext) => Promise<T> | T): Promise<{ run: Run; result: T }> {
    assertFunction(fn);
    return withLease(claim, (lost, stopHeartbeat) => completeAfter(claim, fn, lost, stopHeartbeat));
  }

  async function runClaimed<T>(
    sub: Submission,
    token: string,
    execute: (claim: Claimed, lost: LeaseSignal, stopHeartbeat: () => Promise<void>) => Promise<{ run: Run; result: T }>,
  ): Promise<RunOnceResult<T>> {
    const lockKey = lockKeyFor(sub.task, sub.key, lockPrefix);
    const lock = await tryLock(lockKey, token, sub.leaseMs);
    if (lock === "contended") {
      const seen = await recordLockContended(sql, sub, workerId);
      if (seen.outcome === "lock_contended") return seen;
      return notClaimed<T>(seen, sub);
    }
    try {
      const claim = await claimSubmission(sub, token);
      if (claim.outcome !== "claimed") return notClaimed<T>(claim, sub);
      const { run, result } = await withLease(claim, (lost, stopHeartbeat) => execute(claim, lost, stopHeartbeat));
      return { outcome: "executed", run, result };
    } finally {
      if (lock === "acquired") await unlock(lockKey, token);
      // The acquire may have landed after we stopped waiting for it; clean up without waiting again.
      else if (lock === "unavailable") void unlock(lockKey, token);
    }
  }

  /**
   * Runs `fn` at most once per (task, key) to completion. A duplicate of a finished run returns its
   * stored result without calling `fn`; a duplicate while another worker holds a live lease returns
   * in_progress; a different payload under the same key throws PayloadMismatchError. If `fn` throws,
   * the failure is recorded (the run returns to pending if it has attempts left) and rethrown.
   *
   * The side effects of `fn` happen at least once and, unless the lease is lost mid-run, exactly once;
   * for effects in the same database use runOnceInTransaction, which makes them exactly-once.
   */
  async function runOnce<T>(input: SubmissionInput, fn: (ctx: RunContext) => Promise<T> | T): Promise<RunOnceResult<T>> {
    const sub = parseSubmission(input);
    assertFunction(fn);
    const token = randomUUID();
    return runClaimed<T>(sub, token, (claim, lost, stopHeartbeat) => completeAfter(claim, fn, lost, stopHeartbeat));
  }

  /**
   * Like runOnce, but `fn` writes its effects through `tx` and the completion commits in the same
   * transaction: if the lease was lost, the completion matches no row, the transaction rolls back and
   * the effects with it. Effects in this database are applied exactly once.
   */
  async function runOnceInTransaction<T>(
    input: SubmissionInput,
    fn: (ctx: RunContext, tx: postgres.TransactionSql) => Promise<T>,
  ): Promise<RunOnceResult<T>> {
    const sub = parseSubmission(input);
    assertFunction(fn);
    const token = randomUUID();
    return runClaimed<T>(sub, token, async (claim, lost, stopHeartbeat) => {
      let staleAt: LeaseLostError | null = null;
      let open = true;
      const transaction = sql.begin(async (rawTx) => {
        // Sent now, read at completion: no extra round trip. The completion must run in this very
        // transaction (see completeStatement), not on whatever connection a broken client hands it.
        const xidQuery = rawTx<{ xid: string }[]>`SELECT pg_current_xact_id()::text AS xid`.execute();
        xidQuery.catch(() => undefined);
        const tx = guardTransaction(rawTx, () => open);
        const result = await fn(contextFor(claim, lost), tx);
        const value = result === undefined ? null : result;
        assertJson("result", value);
        await stopHeartbeat();
        throwIfLeaseLost(lost);
        const [xidRow] = await xidQuery;
        const run = await completeStatement(tx, claim.lease, value as Json, { xid: xidRow?.xid });
        if (!run) {
          staleAt = new LeaseLostError(claim.lease.runId, claim.lease.fencingToken, null);
          throw staleAt;
        }
        return { run, result };
      });
      try {
        return await transaction;
      } catch (error) {
        // Recorded outside the rolled-back transaction so the timeline keeps it.
        if (error === staleAt) throw await leaseLost(claim.lease, "complete");
        throw error;
      } finally {
        open = false;
      }
    });
  }

  const ledger = {
    workerId,
    lockPrefix,
    sql,
    redis,
    logger,
    claimRun,
    claimPending,
    heartbeat,
    completeRun,
    failRun,
    executeClaimed,
    runOnce,
    runOnceInTransaction,
    /** Executes pending runs of the handled tasks until stop(); see startWorker in ./worker. */
    startWorker: (workerOptions: WorkerOptions): Worker => startWorker(ledger, workerOptions),
  };
  return ledger;
}

export type Ledger = ReturnType<typeof createLedger>;
