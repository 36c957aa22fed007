import type postgres from "postgres";
import { createLedger, type Json, type TaskHandler, type Worker } from "@/lib/ledger";
import type { RedisClient } from "@/lib/locks/commands";
import { runTask, TASKS, type TaskName } from "./catalog";
import type { FaultKind } from "./fakes";
import { liveRng, type Rng } from "./random";

/**
 * The demo's executor of pending runs (the SDK's startWorker): a retry made in the console, or a run
 * waiting out its backoff, is claimed within moments and runs through the same task bodies as the rest
 * of the demo. It fails now and then at each task's usual rate, so a retry visibly can fail again.
 * Expired running runs are left alone: the crash scenario's stuck run is there for the console's
 * "mark abandoned".
 */
export const EXECUTOR_WORKER_ID = "executor-2e6a";

function pickFault(rng: Rng, faults: ReadonlyArray<readonly [FaultKind, number]>): FaultKind | null {
  const total = faults.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = rng.next() * total;
  for (const [fault, weight] of faults) {
    roll -= weight;
    if (roll < 0) return fault;
  }
  return faults[0]?.[0] ?? null;
}

export function startDemoExecutor(options: { sql: postgres.Sql; redis: RedisClient; lockPrefix: string; log: (message: string) => void }): Worker {
  const rng = liveRng();
  const ledger = createLedger({
    sql: options.sql,
    redis: options.redis,
    workerId: EXECUTOR_WORKER_ID,
    lockPrefix: options.lockPrefix,
    logger: { warn: (message) => options.log(`demo executor: ${message}`) },
  });
  const handlers: Record<string, TaskHandler> = {};
  for (const task of Object.keys(TASKS) as TaskName[]) {
    const def = TASKS[task];
    handlers[task] = (ctx) => {
      const fault = rng.chance(def.faultRate) ? pickFault(rng, def.faults) : null;
      return runTask(task, ctx.payload as Json, { durationMs: rng.int(def.durationMs[0], def.durationMs[1]), fault, signal: ctx.signal });
    };
  }
  return ledger.startWorker({
    handlers,
    concurrency: 4,
    pollMs: 2000,
    // A failed retry is part of the demo, not news for the launcher's log.
    onError: () => undefined,
  });
}
