import type postgres from "postgres";
import { createSql } from "@/lib/db";
import { env } from "@/lib/env";
import { errorRecord } from "@/lib/ledger";
import type { RedisClient } from "@/lib/locks/commands";
import { createRedis } from "@/lib/redis";
import { backfillHistory, type BackfillResult } from "./backfill";
import { startDemoExecutor } from "./executor";
import { createFleet } from "./fleet";
import { ensureLockScenarios, type ScenarioReport } from "./scenarios";
import { countDemo, summaryLine, type DemoCounts } from "./summary";
import { startTrickle } from "./trickle";

/**
 * The demo workload behind `npm run demo`: a simulated fleet writing the ledger through the real
 * worker SDK. On start it writes a few days of history (once: the demo database persists in .idem/),
 * sets up the crash and lock scenarios the console explains, then, with `trickle`, keeps a light live
 * flow going until stop().
 *
 * Module map: catalog.ts (tasks, payloads, handlers), fakes.ts (downstream systems and their errors),
 * fleet.ts (simulated workers), plan.ts (what happens to each key), execute.ts (plays a job through the
 * SDK), backfill.ts + timeshift.ts (history), scenarios.ts + crash-child.ts (killed workers, stuck and
 * foreign locks), trickle.ts (live flow), executor.ts (runs left pending), summary.ts (the start-up
 * line).
 */
export interface DemoWorkloadOptions {
  databaseUrl: string;
  redisUrl: string;
  log: (message: string) => void;
  trickle: boolean;
  /** The SDK's lock key prefix (default IDEM_LOCK_PREFIX, as the console reads it). */
  lockPrefix?: string;
  /** Prepended to the foreign locks' keys (`lock:order:42`, ...); tests isolate themselves with it. */
  foreignLockPrefix?: string;
  /** Size of the history relative to the full demo (tests use a fraction). */
  scale?: number;
  trickleEveryMs?: number;
}

export interface SeedResult {
  backfill: BackfillResult | null;
  scenarios: ScenarioReport | null;
  counts: DemoCounts;
  summary: string;
}

/** Writes the history and sets up the lock scenarios, each only if it is not there yet. */
export async function seedDemo(options: {
  sql: postgres.Sql;
  redis: RedisClient;
  databaseUrl: string;
  redisUrl: string;
  lockPrefix: string;
  foreignLockPrefix: string;
  log: (message: string) => void;
  scale?: number;
  anchor?: number;
}): Promise<SeedResult> {
  const fleet = createFleet({ sql: options.sql, redis: options.redis, lockPrefix: options.lockPrefix, log: options.log });
  const report = <T>(what: string, work: Promise<T>): Promise<T | null> =>
    work.catch((error: unknown) => {
      // The console is still worth starting on whatever the demo did manage to write.
      options.log(`demo: ${what} failed: ${errorRecord(error).message}`);
      return null;
    });
  const backfilling = report("history backfill", backfillHistory({ sql: options.sql, fleet, log: options.log, scale: options.scale, anchor: options.anchor }));
  // Started at once so the crash workers boot while the backfill runs; they write after it.
  const [backfill, scenarios] = await Promise.all([backfilling, report("lock scenarios", ensureLockScenarios({ ...options, after: backfilling }))]);
  const counts = await countDemo(options.sql);
  return { backfill, scenarios, counts, summary: summaryLine(counts, scenarios) };
}

function describeBackfill(result: BackfillResult): string {
  const seconds = (result.ms / 1000).toFixed(1);
  if (result.status === "present") return "demo: history already present";
  if (result.status === "extended") {
    return `demo: history already present; added ${result.submitted.toLocaleString("en-US")} jobs for the time since the last start (${seconds} s)`;
  }
  const failures = result.errors ? `, ${result.errors} jobs failed (the next start fills them in)` : "";
  return `demo: wrote ${result.submitted.toLocaleString("en-US")} jobs of history through the SDK in ${seconds} s${failures}`;
}

export async function startDemoWorkload(options: DemoWorkloadOptions): Promise<{ stop(): Promise<void> }> {
  const sql = createSql(options.databaseUrl, { max: 16, applicationName: "idem-demo" });
  const redis = createRedis(options.redisUrl, { name: "idem-demo" });
  const lockPrefix = options.lockPrefix ?? env.IDEM_LOCK_PREFIX;
  const foreignLockPrefix = options.foreignLockPrefix ?? "";

  const seed = await seedDemo({ sql, redis, databaseUrl: options.databaseUrl, redisUrl: options.redisUrl, lockPrefix, foreignLockPrefix, log: options.log, scale: options.scale });
  if (seed.backfill) options.log(describeBackfill(seed.backfill));
  for (const scenario of seed.scenarios?.scenarios ?? []) {
    if (scenario.action === "created") {
      const run = scenario.runId === null ? `no run (${scenario.task})` : `run ${scenario.runId} (${scenario.task})`;
      options.log(`demo: ${scenario.name} scenario: ${run}, lock ${scenario.lockKey}`);
    }
    if (scenario.action === "restored") options.log(`demo: ${scenario.name} scenario: put back lock ${scenario.lockKey} (the demo's Redis does not persist)`);
  }
  options.log(seed.summary);

  // The executor of pending runs (executor.ts): console retries and runs whose redelivery never came
  // are claimed and run here; it stops in stop() below before the pool closes.
  const executor = startDemoExecutor({ sql, redis, lockPrefix, log: options.log });

  const trickle = options.trickle
    ? startTrickle({ fleet: createFleet({ sql, redis, lockPrefix, log: options.log }), sql, redis, foreignLockPrefix, log: options.log, everyMs: options.trickleEveryMs })
    : null;

  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopped ??= (async () => {
        await trickle?.stop();
        await executor.stop();
        await sql.end({ timeout: 5 });
        redis.disconnect();
      })();
      return stopped;
    },
  };
}
