import type postgres from "postgres";
import { createLedger, type Ledger } from "@/lib/ledger";
import type { RedisClient } from "@/lib/locks/commands";

/**
 * The simulated fleet: one ledger per worker, named like the hosts a real deployment would have. Each
 * worker has the source its queue would report. Two of them run without Redis, as a mixed fleet does
 * (Postgres alone is enough for correctness): their duplicates show up as `in_progress` where the
 * others' are turned away early as `lock_contended`.
 */
export const WORKERS = {
  "web-1": { source: "api", redis: true },
  "web-2": { source: "api", redis: true },
  "worker-a-3f2c": { source: "celery", redis: true },
  "worker-a-7b19": { source: "celery", redis: true },
  "worker-b-91d0": { source: "celery", redis: false },
  "bullmq-5c8e-1": { source: "bullmq", redis: true },
  "bullmq-5c8e-2": { source: "bullmq", redis: true },
  "media-7d41-1": { source: "sqs", redis: true },
  "media-7d41-2": { source: "sqs", redis: false },
  "scheduler-1": { source: "cron", redis: true },
  "scheduler-2": { source: "cron", redis: true },
} as const satisfies Record<string, { source: string; redis: boolean }>;

export type WorkerName = keyof typeof WORKERS;

export type Fleet = Record<WorkerName, Ledger>;

export function createFleet(options: {
  sql: postgres.Sql;
  redis: RedisClient;
  lockPrefix: string;
  log: (message: string) => void;
}): Fleet {
  const logger = { warn: (message: string) => options.log(`demo: ${message}`) };
  const entries = (Object.keys(WORKERS) as WorkerName[]).map((name) => [
    name,
    createLedger({
      sql: options.sql,
      redis: WORKERS[name].redis ? options.redis : null,
      workerId: name,
      lockPrefix: options.lockPrefix,
      logger,
    }),
  ]);
  return Object.fromEntries(entries) as Fleet;
}
