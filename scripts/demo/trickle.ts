import type postgres from "postgres";
import { cronSlot, errorRecord } from "@/lib/ledger";
import type { RedisClient } from "@/lib/locks/commands";
import { TASKS, type TaskName } from "./catalog";
import { executeJob, type Delivery } from "./execute";
import type { Fleet } from "./fleet";
import { planCronJob, planLiveJob, type Job } from "./plan";
import { liveRng } from "./random";

export interface TrickleOptions {
  fleet: Fleet;
  sql: postgres.Sql;
  redis: RedisClient;
  foreignLockPrefix: string;
  log: (message: string) => void;
  /** Mean time between live submissions (default 600 ms: a couple of runs a second, plus duplicates). */
  everyMs?: number;
}

export interface Trickle {
  /** Stops submitting, waits for the jobs in flight (every claimed run finishes), then resolves. */
  stop(): Promise<void>;
  stats(): { jobs: number; deliveries: Partial<Record<Delivery, number>>; errors: number };
}

/** Jobs in flight at most; if the database slows down the trickle skips ticks rather than piling up. */
const MAX_IN_FLIGHT = 16;
const CRON_TASKS: readonly TaskName[] = ["heartbeat_check", "sync_crm", "daily_report"];
const FOREIGN_CHURN_MS = 30_000;

/**
 * The live part of the demo while the console runs: a light, steady flow of submissions through the
 * same executor as the backfill (so occasional double-clicks, redeliveries, failures and retries), the
 * cron tasks firing on their real schedules from two scheduler instances, and other code taking short
 * order locks now and then. Timers only; idle CPU between ticks.
 */
export function startTrickle(options: TrickleOptions): Trickle {
  const everyMs = options.everyMs ?? 600;
  const rng = liveRng();
  const controller = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const deliveries: Partial<Record<Delivery, number>> = {};
  let jobs = 0;
  let errors = 0;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!controller.signal.aborted) fn();
    }, ms);
    timers.add(timer);
  };

  const track = (job: Job) => {
    jobs++;
    const running = executeJob({ fleet: options.fleet, sql: options.sql, signal: controller.signal }, job)
      .then((outcomes) => {
        for (const outcome of outcomes) deliveries[outcome] = (deliveries[outcome] ?? 0) + 1;
      })
      .catch((error: unknown) => {
        if (errors++ % 50 === 0) options.log(`demo: trickle job failed (${job.task} ${job.key}): ${errorRecord(error).message}`);
      })
      .finally(() => inFlight.delete(running));
    inFlight.add(running);
  };

  const tick = () => {
    if (inFlight.size < MAX_IN_FLIGHT) track(planLiveJob(rng, Date.now()));
    later(Math.round(everyMs * (0.4 + rng.next() * 1.2)), tick);
  };
  later(Math.round(everyMs * rng.next()), tick);

  // Not startCron: each slot is played by the demo's own delivery plan (planCronJob: two scheduler
  // instances, late and duplicate firings), tracked with the other jobs so stop() waits for it. Same
  // slot arithmetic (cronSlot), one timer per schedule.
  const arm = (task: TaskName) => {
    const every = TASKS[task].everyMs ?? 60_000;
    const next = cronSlot(every).getTime() + every;
    later(Math.max(0, next - Date.now()), () => {
      track(planCronJob(rng, task, new Date(next), Date.now(), true));
      arm(task);
    });
  };
  for (const task of CRON_TASKS) arm(task);

  // Other code's order locks come and go (SET NX EX), so the Locks screen shows some churn.
  const churn = () => {
    const key = `${options.foreignLockPrefix}lock:order:${rng.int(1000, 9999)}`;
    options.redis.set(key, "processing", "EX", rng.int(20, 240), "NX").catch(() => undefined);
    later(FOREIGN_CHURN_MS, churn);
  };
  later(FOREIGN_CHURN_MS, churn);

  return {
    async stop() {
      controller.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...inFlight]);
    },
    stats: () => ({ jobs, deliveries: { ...deliveries }, errors }),
  };
}
