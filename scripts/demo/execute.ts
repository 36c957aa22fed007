import type postgres from "postgres";
import { LeaseLostError, PayloadMismatchError, runCronSlot, type Json, type Ledger, type RunContext } from "@/lib/ledger";
import { runTask, TASKS } from "./catalog";
import { isDemoFailure, isPermanent, work, type Call } from "./fakes";
import { WORKERS, type Fleet, type WorkerName } from "./fleet";
import type { Job } from "./plan";

/** What one delivery of a job ended as. */
export type Delivery = "executed" | "failed" | "replayed" | "in_progress" | "lock_contended" | "payload_mismatch" | "lease_lost";

type SubmissionInput = Parameters<Ledger["runOnce"]>[0];

/** The step-by-step workers' retry backoff (runOnce uses the SDK's own). */
const STEP_BACKOFF_MS = 800;

/** How long the stalled worker of a takeover scenario holds its lease without a heartbeat. */
const STALL_LEASE_MS = 400;

export interface ExecuteOptions {
  fleet: Fleet;
  sql: postgres.Sql;
  /** Aborted by stop(): waits end early and no further deliveries start; runs already claimed finish. */
  signal?: AbortSignal;
}

function callFor(job: Job, attempt: number, signal: AbortSignal | undefined): Call {
  const plan = job.attempts[attempt - 1] ?? job.attempts[job.attempts.length - 1];
  return { durationMs: plan?.durationMs ?? 50, fault: plan?.fault ?? null, signal };
}

function field(payload: Json, name: string): string {
  return payload && typeof payload === "object" && !Array.isArray(payload) ? String(payload[name] ?? "") : "";
}

/** Submits the job's key once, from `worker`, the way that task's workers drive the SDK. */
async function deliver(options: ExecuteOptions, job: Job, worker: WorkerName, payload: Json): Promise<Delivery> {
  const ledger = options.fleet[worker];
  const def = TASKS[job.task];
  const spec: SubmissionInput = { task: job.task, key: job.key, payload, leaseMs: def.leaseMs, maxAttempts: def.maxAttempts, source: WORKERS[worker].source };
  const body = (ctx: RunContext) => runTask(job.task, ctx.payload, callFor(job, ctx.attempt, ctx.signal));
  try {
    switch (def.style) {
      case "runOnce":
        return (await ledger.runOnce(spec, body)).outcome;
      case "transaction":
        return (
          await ledger.runOnceInTransaction(spec, async (ctx, tx) => {
            // Where the application writes the payment's rows; here it only serialises postings per
            // customer, inside the transaction the run's completion commits in.
            await tx`SELECT pg_advisory_xact_lock(hashtext(${field(ctx.payload, "customerId")}))`;
            return body(ctx);
          })
        ).outcome;
      case "cron":
        if (!job.slot) throw new Error(`${job.task} is a cron task and needs a slot`);
        return (await runCronSlot(ledger, { task: job.task, slot: job.slot, payload, leaseMs: def.leaseMs }, body)).outcome;
      case "steps": {
        const claim = await ledger.claimRun(spec);
        if (claim.outcome !== "claimed") return claim.outcome;
        let result: Json;
        try {
          // Not the stop signal: a run once claimed is finished, so stop() never leaves one running.
          result = await runTask(job.task, claim.run.payload as Json, callFor(job, claim.run.attempt, undefined));
        } catch (error) {
          if (!isDemoFailure(error)) throw error;
          await ledger.failRun(claim.lease, error, { retryable: !isPermanent(error), backoffMs: STEP_BACKOFF_MS });
          return "failed";
        }
        await ledger.completeRun(claim.lease, result);
        return "executed";
      }
    }
  } catch (error) {
    if (error instanceof PayloadMismatchError) return "payload_mismatch";
    if (error instanceof LeaseLostError) return "lease_lost";
    if (isDemoFailure(error)) return "failed";
    throw error;
  }
}

/** A wait that stop() cuts short; resolves false when it was. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return work(ms, signal).then(
    () => true,
    () => false,
  );
}

async function runState(sql: postgres.Sql, job: Job): Promise<{ status: string; waitMs: number } | null> {
  // Measured on the database's clock, which is the one available_at was set by.
  const [row] = await sql<{ status: string; wait_ms: number }[]>`
    SELECT status, greatest(0, ceil(extract(epoch FROM available_at - now()) * 1000))::int AS wait_ms
    FROM idem.task_runs WHERE task_name = ${job.task} AND idempotency_key = ${job.key}`;
  return row ? { status: row.status, waitMs: row.wait_ms } : null;
}

/**
 * A worker claims the run, then stalls (a stop-the-world pause) past its lease without a heartbeat; the
 * queue redelivers, another worker takes the run over with a higher fencing token and finishes it, and
 * the stalled worker's late completion is refused and recorded as a stale write.
 */
async function playStall(options: ExecuteOptions, job: Job, taker: WorkerName): Promise<Delivery[]> {
  const stalled = options.fleet[job.worker];
  const def = TASKS[job.task];
  const claim = await stalled.claimRun({
    task: job.task,
    key: job.key,
    payload: job.payload,
    leaseMs: STALL_LEASE_MS,
    maxAttempts: def.maxAttempts,
    source: WORKERS[job.worker].source,
  });
  if (claim.outcome !== "claimed") return [claim.outcome];
  await pause(STALL_LEASE_MS * 2, undefined);
  const takeover = await deliver(options, job, taker, job.payload);
  try {
    await stalled.completeRun(claim.lease, { output: "stale", note: "written after the lease was lost" });
    return [takeover, "executed"];
  } catch (error) {
    if (error instanceof LeaseLostError) return [takeover, "lease_lost"];
    throw error;
  }
}

/** Plays a job through the SDK. Returns what each delivery ended as. */
export async function executeJob(options: ExecuteOptions, job: Job): Promise<Delivery[]> {
  if (job.stall) return playStall(options, job, job.stall);
  const { signal } = options;
  const first: Array<Promise<Delivery>> = [deliver(options, job, job.worker, job.payload)];
  for (const racer of job.racers) first.push(pause(racer.delayMs, signal).then(() => deliver(options, job, racer.worker, job.payload)));
  const midRun = job.midRun;
  if (midRun) {
    const halfway = Math.floor((job.attempts[0]?.durationMs ?? 0) / 2);
    first.push(pause(halfway, signal).then(() => deliver(options, job, midRun, job.payload)));
  }
  const settled = await Promise.allSettled(first);
  const failure = settled.find((result) => result.status === "rejected");
  if (failure) throw failure.reason;
  const outcomes = settled.map((result) => (result as PromiseFulfilledResult<Delivery>).value);

  // The queue redelivers a failed attempt once the run's backoff (available_at) has passed.
  for (let attempt = 2; attempt <= job.attempts.length && !job.leavePending; attempt++) {
    const state = await runState(options.sql, job);
    if (state?.status !== "pending") break;
    if (!(await pause(state.waitMs + 20, signal))) return outcomes;
    outcomes.push(await deliver(options, job, job.attempts[attempt - 1]?.worker ?? job.worker, job.payload));
  }
  for (const worker of job.redeliveries) {
    if (!(await pause(50 + ((job.key.length * 37) % 400), signal))) return outcomes;
    outcomes.push(await deliver(options, job, worker, job.payload));
  }
  if (job.mismatch && !signal?.aborted) outcomes.push(await deliver(options, job, job.mismatch.worker, job.mismatch.payload));
  return outcomes;
}

/** Runs `fn` over `items` with at most `concurrency` in flight, in order of the list. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}
