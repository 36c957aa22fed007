import type postgres from "postgres";
import { errorRecord } from "@/lib/ledger";
import { executeJob, forEachLimited, type Delivery } from "./execute";
import type { Fleet } from "./fleet";
import { planHistory, type Job } from "./plan";
import { shiftIntoPast } from "./timeshift";

export interface BackfillResult {
  /**
   * seeded: there was no history. present: an earlier start wrote all of it, nothing was submitted.
   * extended: an earlier start wrote most of it; what became past since (or what an interrupted seed
   * missed) was added.
   */
  status: "seeded" | "extended" | "present";
  planned: number;
  submitted: number;
  shifted: number;
  deliveries: Partial<Record<Delivery, number>>;
  errors: number;
  ms: number;
}

/**
 * Jobs in flight at once, for long jobs (a second or more: retry chains waiting out backoffs,
 * transcodes, reports) and for the rest, so the short ones are not stuck behind sleeping long ones.
 * Most of a job's time is simulated work (a sleep), so this is well above the pool size; the database
 * work itself queues on the pool.
 */
const LANES = { long: 128, short: 128 };

/** Roughly how long a job takes to play: its attempts, the SDK's backoffs between them, its stall. */
function estimatedMs(job: Job): number {
  const attempts = job.leavePending ? job.attempts.slice(0, 1) : job.attempts;
  const work = attempts.reduce((sum, attempt) => sum + attempt.durationMs, 0);
  const backoffs = 1000 * (2 ** Math.max(0, attempts.length - 1) - 1);
  return work + backoffs + (job.stall ? 1000 : 0);
}

const id = (task: string, key: string) => `${task}\u0000${key}`;

async function existingKeys(sql: postgres.Sql, jobs: readonly Job[]): Promise<Set<string>> {
  const keys = JSON.stringify(jobs.map((job) => ({ task: job.task, key: job.key })));
  const rows = await sql<{ task_name: string; idempotency_key: string }[]>`
    SELECT r.task_name, r.idempotency_key
    FROM jsonb_to_recordset(${keys}::text::jsonb) AS k(task text, key text)
    JOIN idem.task_runs r ON r.task_name = k.task AND r.idempotency_key = k.key`;
  return new Set(rows.map((row) => id(row.task_name, row.idempotency_key)));
}

/**
 * Writes the demo's history through the SDK as fast as it goes, then moves it into the past.
 *
 * Idempotent by the ledger's own means: the plan's keys are the same on every start, so a start that
 * finds them all already there (the demo database persists in .idem/) submits nothing; one that finds
 * some (an earlier seed was interrupted) submits only the missing ones. Never duplicates history.
 */
export async function backfillHistory(options: {
  sql: postgres.Sql;
  fleet: Fleet;
  log: (message: string) => void;
  anchor?: number;
  scale?: number;
}): Promise<BackfillResult> {
  const started = Date.now();
  const jobs = planHistory({ anchor: options.anchor ?? started, scale: options.scale });
  const present = await existingKeys(options.sql, jobs);
  // Cron keys are slots relative to now, so a later start plans a few new ones; the other keys decide.
  const complete = jobs.every((job) => job.slot !== null || present.has(id(job.task, job.key)));
  const todo = complete ? [] : jobs.filter((job) => !present.has(id(job.task, job.key)));
  // Longest first: retry chains wait out real backoffs (1 s, 2 s, 4 s) and transcodes run for seconds;
  // started first they overlap the rest instead of trailing it. Otherwise oldest first, so ids roughly
  // follow time.
  const seconds = (job: Job) => Math.floor(estimatedMs(job) / 1000);
  todo.sort((a, b) => seconds(b) - seconds(a) || a.at - b.at);

  const deliveries: Partial<Record<Delivery, number>> = {};
  let errors = 0;
  const play = async (job: Job) => {
    try {
      for (const outcome of await executeJob({ fleet: options.fleet, sql: options.sql }, job)) {
        deliveries[outcome] = (deliveries[outcome] ?? 0) + 1;
      }
    } catch (error) {
      // One job's database error should not lose the rest of the history; the next start fills it in.
      if (errors++ < 3) {
        const { class: kind, message } = errorRecord(error);
        options.log(`demo: a backfill job failed (${job.task} ${job.key}): ${kind}: ${message}`);
      }
    }
  };
  await Promise.all([
    forEachLimited(todo.filter((job) => seconds(job) > 0), LANES.long, play),
    forEachLimited(todo.filter((job) => seconds(job) === 0), LANES.short, play),
  ]);

  // Also when nothing was submitted: it moves runs left behind by a seed interrupted before this step.
  const shifted = await shiftIntoPast(
    options.sql,
    jobs.map((job) => ({ task: job.task, key: job.key, at: job.at })),
  );
  const status = complete ? "present" : present.size > 0 ? "extended" : "seeded";
  return { status, planned: jobs.length, submitted: todo.length, shifted, deliveries, errors, ms: Date.now() - started };
}
