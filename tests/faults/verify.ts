import type postgres from "postgres";
import type { Redis } from "ioredis";
import type { LockClass } from "@/lib/locks/classify";
import type { LockConfig } from "@/lib/locks/config";
import { findStuckRunsAndStaleLocks, listEveryRun, type LedgerInspection, type StaleLockClass } from "./inspect";
import { FENCED_TASK, TX_TASK, taskResultSchema } from "./protocol";

/**
 * The invariants the fault suite proves, checked against the ledger and the effect tables with plain
 * SQL once the chaos is over, and the console's queries checked against the same plain reads. Each
 * check adds a human-readable line per violation.
 */

export class Violations {
  readonly lines: string[] = [];
  add(line: string) {
    this.lines.push(line);
  }
  get count() {
    return this.lines.length;
  }
}

export interface PlantedLock {
  lockKey: string;
  value: string;
  /** The state of the key when the lock was planted; "live": its run holds a live lease under another token. */
  target: "finished" | "unsubmitted" | "live";
}

interface PlainLock {
  value: string;
  pttlMs: number;
}

/** The locks under the prefix, read with plain SCAN, GET and PTTL: the reference the console's inventory is checked against. */
async function readLocksPlainly(redis: Redis, prefix: string): Promise<Map<string, PlainLock>> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) keys.push(...batch);
  const locks = new Map<string, PlainLock>();
  for (let offset = 0; offset < keys.length; offset += 500) {
    const chunk = keys.slice(offset, offset + 500);
    const pipeline = redis.pipeline();
    for (const key of chunk) pipeline.get(key).pttl(key);
    const replies = (await pipeline.exec()) ?? [];
    chunk.forEach((key, index) => {
      const value = replies[index * 2]?.[1];
      const pttl = replies[index * 2 + 1]?.[1];
      if (typeof value === "string" && typeof pttl === "number" && pttl !== -2) locks.set(key, { value, pttlMs: pttl });
    });
  }
  return locks;
}

export interface QuiescentFigures {
  stuckRunning: number;
  overduePending: number;
  scheduledPending: number;
  /** Runs the runs list showed, walked page by page without a filter, and the pages it took (all filters). */
  runsListed: number;
  pagesRead: number;
  staleLocks: number;
  staleLocksByClass: Partial<Record<StaleLockClass, number>>;
  plantedPresent: number;
}

/**
 * With every worker dead and every lease expired, nothing is being worked on. Checked against plain
 * SQL and plain Redis reads, the console's queries must show: every running run as stuck (runs list
 * and overview count), every pending run under "pending", every run exactly once in the unfiltered
 * list with its current status, and every lock in Redis, with its value and the class its run's state
 * gives, none of them held.
 */
export async function checkQuiescent(
  sql: postgres.Sql,
  consoleSql: postgres.Sql,
  redis: Redis,
  config: LockConfig,
  planted: PlantedLock[],
  /** Runs the orchestrator holds a live lease on, on purpose (for a token_mismatch lock). */
  heldRunIds: Set<number>,
  violations: Violations,
): Promise<{ inspection: LedgerInspection; figures: QuiescentFigures }> {
  const prefix = config.sdkPrefix;
  const before = await readLocksPlainly(redis, prefix);
  const inspection = await findStuckRunsAndStaleLocks(consoleSql, redis, config);
  const after = await readLocksPlainly(redis, prefix);
  if (inspection.locksUnavailable) violations.add(`the console's lock inventory failed: ${inspection.locksUnavailable}`);
  if (inspection.locksCapped) violations.add("the console's lock inventory stopped at its key cap");
  const runs = await sql<
    {
      id: string;
      task_name: string;
      idempotency_key: string;
      status: string;
      lease_token: string | null;
      lease_live: boolean;
      lease_expired: boolean;
      due: boolean;
    }[]
  >`
    SELECT id, task_name, idempotency_key, status, lease_token,
           coalesce(lease_expires_at > now(), false) AS lease_live, coalesce(lease_expires_at < now(), false) AS lease_expired,
           available_at <= now() AS due
    FROM idem.task_runs`;
  const runById = new Map(runs.map((run) => [Number(run.id), run]));
  const runByKey = new Map(runs.map((run) => [`${run.task_name}:${run.idempotency_key}`, run]));

  // Runs: the stuck filter, the overview's count, the pending filter.
  const stuckIds = new Set(inspection.stuckRuns.map((run) => run.id));
  const pendingIds = new Set(inspection.pendingRuns.map((run) => run.id));
  let overduePending = 0;
  let scheduledPending = 0;
  let stuckRunning = 0;
  for (const run of runs) {
    const id = Number(run.id);
    const label = `run ${id} (${run.task_name}/${run.idempotency_key})`;
    if (run.status === "running" && heldRunIds.has(id)) {
      if (!run.lease_live) violations.add(`${label}, held on purpose, lost its lease`);
      if (stuckIds.has(id)) violations.add(`${label} holds a live lease but the console lists it as stuck`);
    } else if (run.status === "running") {
      stuckRunning++;
      if (run.lease_live) violations.add(`${label} has a live lease though every worker is dead`);
      else if (!stuckIds.has(id)) violations.add(`stuck ${label} (running, lease expired) is not in the console's runs list filtered to stuck`);
    } else if (run.status === "pending") {
      if (run.due) overduePending++;
      else scheduledPending++;
      if (!pendingIds.has(id)) violations.add(`pending ${label} is not in the console's runs list filtered to pending`);
    }
  }
  for (const stuck of inspection.stuckRuns) {
    const run = runById.get(stuck.id);
    if (run?.status !== "running" || !run.lease_expired) violations.add(`the console lists run ${stuck.id} as stuck but it is ${run?.status ?? "missing"}`);
  }
  for (const pending of inspection.pendingRuns) {
    const run = runById.get(pending.id);
    if (run?.status !== "pending") violations.add(`the console lists run ${pending.id} as pending but it is ${run?.status ?? "missing"}`);
  }
  if (inspection.stuckCount !== stuckRunning) {
    violations.add(`the overview counts ${inspection.stuckCount} stuck runs, plain SQL finds ${stuckRunning}`);
  }

  // The unfiltered runs list, every page: each run once, with the status the ledger holds.
  const everything = await listEveryRun(consoleSql, {});
  const listed = new Map(everything.runs.map((run) => [run.id, run]));
  for (const run of runs) {
    const shown = listed.get(Number(run.id));
    if (!shown) violations.add(`run ${run.id} (${run.task_name}/${run.idempotency_key}) is missing from the console's runs list`);
    else if (shown.status !== run.status) violations.add(`the console's runs list shows run ${run.id} as ${shown.status}, the ledger holds ${run.status}`);
  }
  for (const id of listed.keys()) if (!runById.has(id)) violations.add(`the console's runs list shows run ${id}, which the ledger does not hold`);

  // Locks: every lock Redis holds is in the inventory, with its value and the class its run gives.
  if (inspection.liveLocks !== 0) violations.add(`the console shows ${inspection.liveLocks} lock(s) as held though no worker is alive`);
  const reported = new Map(inspection.staleLocks.map((lock) => [lock.lockKey, lock]));
  const expectedClass = (lockKey: string, lock: PlainLock): LockClass => {
    if (lock.pttlMs === -1) return "no_ttl";
    const run = runByKey.get(lockKey.slice(prefix.length));
    if (!run) return "orphaned";
    // Only the runs held on purpose have a live lease (checked above); their lock is not their token's.
    if (run.status === "running" && run.lease_live) return run.lease_token === lock.value ? "held" : "token_mismatch";
    return "stale";
  };
  for (const [lockKey, lock] of before) {
    // Only locks that existed, unchanged, across the whole inspection: the others expired meanwhile.
    const later = after.get(lockKey);
    if (later?.value !== lock.value) continue;
    const shown = reported.get(lockKey);
    if (!shown) violations.add(`stale lock ${lockKey} (value ${lock.value}) is not in the console's lock inventory`);
    else if (shown.value !== lock.value) violations.add(`the console shows lock ${lockKey} with value ${shown.value ?? shown.preview}, Redis holds ${lock.value}`);
    else if (shown.class !== expectedClass(lockKey, later)) {
      violations.add(`the console classifies lock ${lockKey} as ${shown.class}, expected ${expectedClass(lockKey, later)}`);
    }
  }
  for (const lockKey of reported.keys()) {
    if (!before.has(lockKey) && !after.has(lockKey)) violations.add(`the console shows lock ${lockKey}, which Redis did not hold`);
  }
  let plantedPresent = 0;
  for (const plant of planted) {
    if (after.get(plant.lockKey)?.value !== plant.value) continue; // wiped by a Redis restart
    plantedPresent++;
    const shown = reported.get(plant.lockKey);
    if (shown?.value !== plant.value) violations.add(`planted stale lock ${plant.lockKey} is not in the console's lock inventory`);
    else if (plant.target === "live" && shown.class !== "token_mismatch") {
      violations.add(`planted lock ${plant.lockKey} on a run another attempt holds is classified ${shown.class}, not token_mismatch`);
    }
  }

  const staleLocksByClass: Partial<Record<StaleLockClass, number>> = {};
  for (const lock of inspection.staleLocks) staleLocksByClass[lock.class] = (staleLocksByClass[lock.class] ?? 0) + 1;
  return {
    inspection,
    figures: {
      stuckRunning,
      overduePending,
      scheduledPending,
      runsListed: everything.runs.length,
      pagesRead: everything.pages + inspection.pages,
      staleLocks: inspection.staleLocks.length,
      staleLocksByClass,
      plantedPresent,
    },
  };
}

export interface ExecutedReport {
  key: string;
  workerId: string;
  fencingToken: number | null;
}

export interface FinalFigures {
  runs: number;
  takeovers: number;
  claimsAfterRetry: number;
  staleWritesRejectedByLedger: Record<string, number>;
  staleWritesRejectedByFencing: number;
  fencedWritesAccepted: number;
  fencedKeysWithRepeatedEffect: number;
  txKeysExecutedMoreThanOnce: number;
  txEffectsRolledBack: number;
  duplicateAttempts: Record<string, number>;
  maxFencingToken: number;
}

interface RunRow {
  id: string;
  task_name: string;
  idempotency_key: string;
  status: string;
  fencing_token: string;
  attempt: number;
  result: unknown;
  duplicate_count: number;
  claim_tokens: number[] | null;
  succeeded_events: string;
  succeeded_token: string | null;
  succeeded_actor: string | null;
  takeovers: string;
  dup_rows: string;
}

/**
 * After the sweeper: every planned key has exactly one run and it succeeded; transactional keys have
 * exactly one effect, written by the attempt that completed; fenced keys have at least one accepted
 * effect, the last one from the attempt that completed, and the fencing log shows no stale write
 * accepted; fencing tokens were issued once each, in order; duplicate_attempts agree with the runs.
 */
export async function checkFinal(
  sql: postgres.Sql,
  plan: Map<string, "tx" | "fenced">,
  executed: ExecutedReport[],
  violations: Violations,
): Promise<FinalFigures> {
  const runs = await sql<RunRow[]>`
    SELECT r.id, r.task_name, r.idempotency_key, r.status, r.fencing_token, r.attempt, r.result, r.duplicate_count,
           e.claim_tokens, coalesce(e.succeeded_events, 0) AS succeeded_events, e.succeeded_token, e.succeeded_actor,
           coalesce(e.takeovers, 0) AS takeovers, coalesce(d.dup_rows, 0) AS dup_rows
    FROM idem.task_runs r
    LEFT JOIN (
      SELECT run_id,
             jsonb_agg(fencing_token ORDER BY id) FILTER (WHERE kind IN ('claimed', 'takeover')) AS claim_tokens,
             count(*) FILTER (WHERE kind = 'succeeded') AS succeeded_events,
             max(fencing_token) FILTER (WHERE kind = 'succeeded') AS succeeded_token,
             max(actor) FILTER (WHERE kind = 'succeeded') AS succeeded_actor,
             count(*) FILTER (WHERE kind = 'takeover') AS takeovers
      FROM idem.run_events GROUP BY run_id
    ) e ON e.run_id = r.id
    LEFT JOIN (SELECT run_id, count(*) AS dup_rows FROM idem.duplicate_attempts WHERE run_id IS NOT NULL GROUP BY run_id) d ON d.run_id = r.id`;

  const expectedTask = (kind: "tx" | "fenced") => (kind === "tx" ? TX_TASK : FENCED_TASK);
  const runByKey = new Map<string, RunRow>();
  let takeovers = 0;
  let claimsAfterRetry = 0;
  let maxFencingToken = 0;
  for (const run of runs) {
    const label = `${run.task_name}/${run.idempotency_key} (run ${run.id})`;
    const kind = plan.get(run.idempotency_key);
    if (!kind || expectedTask(kind) !== run.task_name) {
      violations.add(`unexpected run ${label}: not in the plan`);
      continue;
    }
    if (runByKey.has(run.idempotency_key)) violations.add(`two runs for key ${run.idempotency_key}`);
    runByKey.set(run.idempotency_key, run);
    const token = Number(run.fencing_token);
    maxFencingToken = Math.max(maxFencingToken, token);
    takeovers += Number(run.takeovers);

    if (run.status !== "succeeded") violations.add(`key lost: ${label} is ${run.status} after the sweeper`);
    // At most once to completion: one succeeded transition, by the holder of the final token.
    if (Number(run.succeeded_events) !== 1) violations.add(`${label} has ${run.succeeded_events} succeeded events`);
    if (run.succeeded_token !== null && Number(run.succeeded_token) !== token) {
      violations.add(`${label} completed with fencing token ${run.succeeded_token}, the run's token is ${token}`);
    }
    // Fencing tokens: every claim or takeover issued the next one, once.
    const claims = (run.claim_tokens ?? []).map(Number);
    const sequential = claims.length === token && claims.every((t, index) => t === index + 1);
    if (!sequential) violations.add(`${label}: claims issued fencing tokens [${claims.join(",")}], expected 1..${token}`);
    claimsAfterRetry += Math.max(0, claims.length - 1 - Number(run.takeovers));
    if (run.attempt !== token) violations.add(`${label}: attempt ${run.attempt} differs from fencing token ${token}`);
    // The stored result belongs to the attempt that completed.
    const result = taskResultSchema.safeParse(run.result);
    if (run.status === "succeeded") {
      if (!result.success) violations.add(`${label}: stored result ${JSON.stringify(run.result)} is not a task result`);
      else if (result.data.token !== token || result.data.worker !== run.succeeded_actor) {
        violations.add(`${label}: stored result ${JSON.stringify(result.data)} is not from the completing attempt (token ${token}, ${run.succeeded_actor})`);
      }
    }
    if (run.duplicate_count !== Number(run.dup_rows)) {
      violations.add(`${label}: duplicate_count ${run.duplicate_count} but ${run.dup_rows} duplicate_attempts rows`);
    }
  }
  for (const [key, kind] of plan) {
    if (!runByKey.has(key)) violations.add(`key lost: ${expectedTask(kind)}/${key} has no run`);
  }

  // Exactly once: one effect row per transactional key, from the attempt that completed the run.
  // jsonb_agg, not array_agg: the suite's pools skip postgres.js's type fetch, which array parsing needs.
  const txEffects = await sql<{ key: string; rows: string; tokens: number[]; workers: string[]; run_ids: number[] }[]>`
    SELECT key, count(*) AS rows, jsonb_agg(fencing_token ORDER BY id) AS tokens, jsonb_agg(worker_id ORDER BY id) AS workers,
           jsonb_agg(run_id ORDER BY id) AS run_ids
    FROM faults.tx_effects GROUP BY key`;
  const txByKey = new Map(txEffects.map((row) => [row.key, row]));
  let txKeysExecutedMoreThanOnce = 0;
  let txEffectsRolledBack = 0;
  for (const [key, kind] of plan) {
    if (kind !== "tx") continue;
    const run = runByKey.get(key);
    const effects = txByKey.get(key);
    if (!effects) {
      violations.add(`exactly-once: tx key ${key} has no effect`);
      continue;
    }
    if (Number(effects.rows) !== 1) {
      violations.add(`exactly-once: tx key ${key} has ${effects.rows} effects (tokens ${effects.tokens.join(",")}, workers ${effects.workers.join(",")})`);
      continue;
    }
    if (!run) continue;
    const token = Number(run.fencing_token);
    if (token > 1) {
      txKeysExecutedMoreThanOnce++;
      txEffectsRolledBack += token - 1;
    }
    if (Number(effects.tokens[0]) !== token || effects.workers[0] !== run.succeeded_actor || Number(effects.run_ids[0]) !== Number(run.id)) {
      violations.add(
        `exactly-once: tx key ${key}'s effect is from token ${effects.tokens[0]} / ${effects.workers[0]}, the run completed with ${token} / ${run.succeeded_actor}`,
      );
    }
  }
  for (const row of txEffects) if (plan.get(row.key) !== "tx") violations.add(`tx effect for key ${row.key}, which is not a tx key`);

  // At least once, fenced: every fenced key has an accepted effect; the accepted writes form a chain of
  // strictly increasing tokens (no stale write accepted); the last one is the completing attempt's.
  type LogRow = { key: string; fencing_token: string; previous_token: string; worker_id: string; accepted: boolean };
  const fencedLog = await sql<LogRow[]>`
    SELECT key, fencing_token, previous_token, worker_id, accepted FROM faults.fenced_log ORDER BY key, id`;
  const fencedFinal = await sql<{ key: string; fencing_token: string; worker_id: string | null; writes: number }[]>`
    SELECT key, fencing_token, worker_id, writes FROM faults.fenced_effects`;
  const finalByKey = new Map(fencedFinal.map((row) => [row.key, row]));
  const logByKey = new Map<string, LogRow[]>();
  for (const row of fencedLog) {
    const list = logByKey.get(row.key) ?? [];
    list.push(row);
    logByKey.set(row.key, list);
  }
  let staleWritesRejectedByFencing = 0;
  let fencedWritesAccepted = 0;
  let fencedKeysWithRepeatedEffect = 0;
  for (const [key, kind] of plan) {
    if (kind !== "fenced") continue;
    const run = runByKey.get(key);
    const log = logByKey.get(key) ?? [];
    const final = finalByKey.get(key);
    const writerOfToken = new Map<number, string>();
    let lastAccepted = 0;
    let accepted = 0;
    for (const entry of log) {
      const token = Number(entry.fencing_token);
      const previous = Number(entry.previous_token);
      const writer = writerOfToken.get(token);
      if (writer !== undefined && writer !== entry.worker_id) {
        violations.add(`fencing: key ${key}'s token ${token} was held by two workers (${writer}, ${entry.worker_id})`);
      }
      writerOfToken.set(token, entry.worker_id);
      if (entry.accepted) {
        accepted++;
        if (previous !== lastAccepted || token <= previous) {
          violations.add(`fencing: key ${key} accepted token ${token} over ${previous} (last accepted ${lastAccepted}): a stale write was accepted`);
        }
        lastAccepted = token;
      } else {
        staleWritesRejectedByFencing++;
        if (token > previous) violations.add(`fencing: key ${key} refused token ${token} though it held only ${previous}`);
      }
    }
    fencedWritesAccepted += accepted;
    if (accepted > 1) fencedKeysWithRepeatedEffect++;
    if (accepted === 0 || !final || Number(final.fencing_token) === 0) {
      violations.add(`at-least-once: fenced key ${key} has no accepted effect`);
      continue;
    }
    if (Number(final.fencing_token) !== lastAccepted || final.writes !== accepted) {
      violations.add(`fencing: key ${key}'s resource holds token ${final.fencing_token} (${final.writes} writes), its log says ${lastAccepted} (${accepted})`);
    }
    if (run && (Number(final.fencing_token) !== Number(run.fencing_token) || final.worker_id !== run.succeeded_actor)) {
      violations.add(
        `fencing: key ${key}'s last accepted effect is token ${final.fencing_token} by ${final.worker_id}, the run completed with ${run.fencing_token} by ${run.succeeded_actor}`,
      );
    }
  }
  for (const key of logByKey.keys()) if (plan.get(key) !== "fenced") violations.add(`fenced effect for key ${key}, which is not a fenced key`);

  // What the clients were told: at most one "executed" per key, and only with the final token.
  const executedByKey = new Map<string, ExecutedReport[]>();
  for (const report of executed) executedByKey.set(report.key, [...(executedByKey.get(report.key) ?? []), report]);
  for (const [key, reports] of executedByKey) {
    const run = runByKey.get(key);
    if (reports.length > 1) violations.add(`key ${key} was reported executed ${reports.length} times (${reports.map((r) => r.workerId).join(", ")})`);
    for (const report of reports) {
      if (run && (report.fencingToken !== Number(run.fencing_token) || report.workerId !== run.succeeded_actor)) {
        violations.add(`key ${key} reported executed by ${report.workerId} with token ${report.fencingToken}, the run completed with ${run.fencing_token} by ${run.succeeded_actor}`);
      }
    }
  }

  // duplicate_attempts: no orphans, nothing but lock_contended without a run, no payload mismatch.
  const [dups] = await sql<
    { orphan: string; mismatched: string; null_not_contended: string; payload_mismatch: string }[]
  >`
    SELECT count(*) FILTER (WHERE d.run_id IS NOT NULL AND r.id IS NULL) AS orphan,
           count(*) FILTER (WHERE r.id IS NOT NULL AND (r.task_name <> d.task_name OR r.idempotency_key <> d.idempotency_key OR r.fingerprint <> d.fingerprint)) AS mismatched,
           count(*) FILTER (WHERE d.run_id IS NULL AND d.outcome <> 'lock_contended') AS null_not_contended,
           count(*) FILTER (WHERE d.outcome = 'payload_mismatch') AS payload_mismatch
    FROM idem.duplicate_attempts d LEFT JOIN idem.task_runs r ON r.id = d.run_id`;
  if (dups) {
    if (Number(dups.orphan)) violations.add(`${dups.orphan} duplicate_attempts rows point at no run`);
    if (Number(dups.mismatched)) violations.add(`${dups.mismatched} duplicate_attempts rows disagree with their run's task, key or fingerprint`);
    if (Number(dups.null_not_contended)) violations.add(`${dups.null_not_contended} duplicate_attempts rows without a run are not lock_contended`);
    if (Number(dups.payload_mismatch)) violations.add(`${dups.payload_mismatch} payload_mismatch duplicates, though every delivery of a key has the same payload`);
  }
  const dupOutcomes = await sql<{ outcome: string; n: string }[]>`SELECT outcome, count(*) AS n FROM idem.duplicate_attempts GROUP BY outcome`;
  const stale = await sql<{ attempted: string; n: string }[]>`
    SELECT detail->>'attempted' AS attempted, count(*) AS n FROM idem.run_events WHERE kind = 'stale_write_rejected' GROUP BY 1`;

  return {
    runs: runs.length,
    takeovers,
    claimsAfterRetry,
    staleWritesRejectedByLedger: Object.fromEntries(stale.map((row) => [row.attempted, Number(row.n)])),
    staleWritesRejectedByFencing,
    fencedWritesAccepted,
    fencedKeysWithRepeatedEffect,
    txKeysExecutedMoreThanOnce,
    txEffectsRolledBack,
    duplicateAttempts: Object.fromEntries(dupOutcomes.map((row) => [row.outcome, Number(row.n)])),
    maxFencingToken,
  };
}

/** Every duplicate a worker was told about (replayed, in_progress, lock_contended) left a duplicate_attempts row. */
export async function checkDuplicatesRecorded(
  sql: postgres.Sql,
  reportedByWorker: Map<string, number>,
  violations: Violations,
): Promise<void> {
  const rows = await sql<{ worker_id: string; n: string }[]>`SELECT worker_id, count(*) AS n FROM idem.duplicate_attempts GROUP BY worker_id`;
  const recorded = new Map(rows.map((row) => [row.worker_id, Number(row.n)]));
  for (const [workerId, reported] of reportedByWorker) {
    const rowsFor = recorded.get(workerId) ?? 0;
    // More rows than reports is fine (a retried delivery, a worker killed before it reported).
    if (rowsFor < reported) violations.add(`worker ${workerId} was answered with ${reported} duplicates but only ${rowsFor} were recorded`);
  }
}
