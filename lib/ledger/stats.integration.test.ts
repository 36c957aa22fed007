import { readFileSync } from "node:fs";
import path from "node:path";
import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import { useTestDatabase, useTestRedis } from "@/tests/helpers/db";
import { waitFor } from "@/tests/helpers/wait";
import { createLedger, type Ledger } from "./ledger";
import { PayloadMismatchError } from "./errors";
import {
  countDuplicatesByOutcome,
  countRunsByStatus,
  countStuckRuns,
  hasAnyRuns,
  runSeries,
  topTasksByDuplicates,
  topTasksByFailures,
} from "./stats";
import { foldStats, rebuildStats } from "./stats-maintenance";
import { statsRange } from "./stats-window";

const db = useTestDatabase();
const testRedis = useTestRedis();

type Counts = Record<string, number>;

/**
 * Direct counts of finished runs from the ledger, keyed `bucket|task|status` (bucket: the hour or
 * minute, UTC): what the rollups hold (pending and running runs are counted live by the readers).
 * Minute buckets only within the two days the minute rollup keeps.
 */
async function ledgerRunCounts(sql: postgres.Sql, unit: "hour" | "minute"): Promise<Counts> {
  const since = unit === "minute" ? sql`idem.stats_minute_horizon()` : sql`'-infinity'::timestamptz`;
  const rows = await sql<Array<{ k: string; n: string }>>`
    SELECT date_trunc(${unit}, created_at, 'UTC')::text || '|' || task_name || '|' || status AS k, count(*)::text AS n
    FROM idem.task_runs WHERE created_at >= ${since} AND status IN ('succeeded', 'failed', 'cancelled') GROUP BY 1`;
  return Object.fromEntries(rows.map((row) => [row.k, Number(row.n)]));
}

/** The same from rollup + unfolded journal, as every read sees them (zero rows left out). */
async function rollupRunCounts(sql: postgres.Sql, unit: "hour" | "minute"): Promise<Counts> {
  const rollup = unit === "hour" ? sql`idem.run_stats_hour` : sql`idem.run_stats_minute`;
  const since = unit === "minute" ? sql`idem.stats_minute_horizon()` : sql`'-infinity'::timestamptz`;
  const rows = await sql<Array<{ k: string; n: string }>>`
    SELECT date_trunc(${unit}, bucket, 'UTC')::text || '|' || task_name || '|' || status AS k, sum(n)::text AS n
    FROM (SELECT bucket, task_name, status, runs AS n FROM ${rollup}
          UNION ALL SELECT bucket, task_name, status, delta FROM idem.run_stats_journal) s
    WHERE bucket >= ${since}
    GROUP BY 1 HAVING sum(n) <> 0`;
  return Object.fromEntries(rows.map((row) => [row.k, Number(row.n)]));
}

async function ledgerDuplicateCounts(sql: postgres.Sql): Promise<Counts> {
  const rows = await sql<Array<{ k: string; n: string }>>`
    SELECT date_trunc('hour', attempted_at, 'UTC')::text || '|' || task_name || '|' || outcome AS k, count(*)::text AS n
    FROM idem.duplicate_attempts GROUP BY 1`;
  return Object.fromEntries(rows.map((row) => [row.k, Number(row.n)]));
}

async function rollupDuplicateCounts(sql: postgres.Sql): Promise<Counts> {
  const rows = await sql<Array<{ k: string; n: string }>>`
    SELECT date_trunc('hour', bucket, 'UTC')::text || '|' || task_name || '|' || outcome AS k, sum(n)::text AS n
    FROM (SELECT bucket, task_name, outcome, attempts AS n FROM idem.duplicate_stats_hour
          UNION ALL SELECT bucket, task_name, outcome, delta FROM idem.duplicate_stats_journal) s
    GROUP BY 1 HAVING sum(n) <> 0`;
  return Object.fromEntries(rows.map((row) => [row.k, Number(row.n)]));
}

async function expectRollupsExact(sql: postgres.Sql) {
  expect(await rollupRunCounts(sql, "hour")).toEqual(await ledgerRunCounts(sql, "hour"));
  expect(await rollupRunCounts(sql, "minute")).toEqual(await ledgerRunCounts(sql, "minute"));
  expect(await rollupDuplicateCounts(sql)).toEqual(await ledgerDuplicateCounts(sql));
}

async function journalSize(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<Array<{ n: string }>>`
    SELECT ((SELECT count(*) FROM idem.run_stats_journal) + (SELECT count(*) FROM idem.duplicate_stats_journal))::text AS n`;
  return Number(row?.n);
}

class Flaky extends Error {}

describe("rollup under concurrency", () => {
  it("equals count(*) after 32 workers claim, fail, retry, complete and collide, with folds racing them", async () => {
    const { sql, connect } = db();
    const { redis, prefix } = testRedis();
    const tasks = ["send_email", "charge_invoice", "transcode_file", "daily_report"];
    const keys = 240;
    const deliveriesPerKey = 4;
    const ledgers: Ledger[] = Array.from({ length: 32 }, (_, i) =>
      createLedger({
        sql: connect({ max: 1 }),
        // Half the workers take the Redis fast path, so lock_contended attempts are recorded too.
        redis: i % 2 === 0 ? redis : null,
        lockPrefix: prefix,
        workerId: `stats-worker-${i}`,
        recordHeartbeats: false,
        // No backoff: a redelivery during one is answered in_progress, and this workload redelivers at once.
        backoffMs: () => 0,
        logger: { warn: () => undefined },
      }),
    );
    const queue: Array<{ task: string; key: string; mismatch: boolean }> = [];
    for (let d = 0; d < deliveriesPerKey; d++) {
      for (let k = 0; k < keys; k++) queue.push({ task: tasks[k % tasks.length]!, key: `key-${k}`, mismatch: d === 3 && k % 10 === 0 });
    }
    queue.sort(() => Math.random() - 0.5);

    let workersDone = false;
    let folds = 0;
    const folder = (async () => {
      const foldSql = connect({ max: 1 });
      while (!workersDone) folds += (await foldStats(foldSql)) > 0 ? 1 : 0;
    })();

    await Promise.all(
      ledgers.map(async (ledger) => {
        for (let item = queue.pop(); item; item = queue.pop()) {
          const { task, key, mismatch } = item;
          const n = Number(key.slice(4));
          try {
            await ledger.runOnce({ task, key, payload: { key, variant: mismatch ? "other" : "same" }, maxAttempts: 3, leaseMs: 5_000 }, async (ctx) => {
              // Every fifth key fails on its first attempt (back to pending, taken over by a redelivery);
              // every seventh always fails, so it ends failed once its attempts are spent.
              if (n % 7 === 0 || (n % 5 === 0 && ctx.attempt === 1)) throw new Flaky(`${key} attempt ${ctx.attempt}`);
              return { ok: true };
            });
          } catch (error) {
            if (!(error instanceof Flaky) && !(error instanceof PayloadMismatchError)) throw error;
          }
        }
      }),
    );
    workersDone = true;
    await folder;

    const [runs] = await sql<Array<{ n: string; statuses: string; dups: string }>>`
      SELECT count(*)::text AS n, count(DISTINCT status)::text AS statuses, (SELECT count(*) FROM idem.duplicate_attempts)::text AS dups
      FROM idem.task_runs`;
    // The workload reached every path it was meant to: pending retries, failures, duplicates of each kind.
    expect(Number(runs?.n)).toBe(keys);
    expect(Number(runs?.statuses)).toBeGreaterThanOrEqual(3);
    expect(Number(runs?.dups)).toBeGreaterThan(0);
    const outcomes = await sql<Array<{ outcome: string }>>`SELECT DISTINCT outcome::text FROM idem.duplicate_attempts ORDER BY 1`;
    expect(outcomes.map((row) => row.outcome)).toEqual(expect.arrayContaining(["payload_mismatch", "replayed"]));
    expect(folds).toBeGreaterThan(0);

    await expectRollupsExact(sql);
    await foldStats(sql);
    expect(await journalSize(sql)).toBe(0);
    await expectRollupsExact(sql);

    // And what the overview reads says the same.
    const range = statsRange("1h");
    const direct = await sql<Array<{ status: string; n: string }>>`
      SELECT status::text, count(*)::text AS n FROM idem.task_runs WHERE created_at >= ${range.start.toISOString()}::timestamptz GROUP BY 1`;
    const counts = await countRunsByStatus(sql, range);
    for (const row of direct) expect(counts[row.status as keyof typeof counts]).toBe(Number(row.n));
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(keys);
    const series = await runSeries(sql, range);
    expect(series.reduce((sum, point) => sum + point.succeeded + point.failed + point.pending + point.running + point.cancelled, 0)).toBe(keys);
  });

  it("stays exact when an UPDATE moves created_at (the demo's time shift) and when runs are deleted or truncated", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "mover" });
    for (let i = 0; i < 20; i++) {
      const claim = await ledger.claimRun({ task: i % 2 ? "a" : "b", key: `m-${i}`, payload: null });
      if (claim.outcome === "claimed" && i % 3 === 0) await ledger.completeRun(claim.lease, null);
    }
    await ledger.claimRun({ task: "a", key: "m-1", payload: null });
    await foldStats(sql);
    await sql`UPDATE idem.task_runs SET created_at = created_at - interval '3 days 5 hours' WHERE id % 2 = 0`;
    await sql`UPDATE idem.duplicate_attempts SET attempted_at = attempted_at - interval '3 days'`;
    expect(await rollupRunCounts(sql, "hour")).toEqual(await ledgerRunCounts(sql, "hour"));
    expect(await rollupDuplicateCounts(sql)).toEqual(await ledgerDuplicateCounts(sql));
    await foldStats(sql);
    expect(await rollupRunCounts(sql, "hour")).toEqual(await ledgerRunCounts(sql, "hour"));
    // Minute buckets older than two days are dropped by the fold; only recent ones remain, and exact.
    const [old] = await sql<Array<{ n: string }>>`SELECT count(*)::text AS n FROM idem.run_stats_minute WHERE bucket < now() - interval '2 days'`;
    expect(Number(old?.n)).toBe(0);

    await sql`DELETE FROM idem.duplicate_attempts WHERE id % 2 = 1`;
    await sql`DELETE FROM idem.run_events WHERE run_id IN (SELECT id FROM idem.task_runs WHERE task_name = 'a' AND id NOT IN (SELECT run_id FROM idem.duplicate_attempts WHERE run_id IS NOT NULL))`;
    await sql`DELETE FROM idem.task_runs WHERE task_name = 'a' AND id NOT IN (SELECT run_id FROM idem.duplicate_attempts WHERE run_id IS NOT NULL)`;
    expect(await rollupRunCounts(sql, "hour")).toEqual(await ledgerRunCounts(sql, "hour"));
    expect(await rollupDuplicateCounts(sql)).toEqual(await ledgerDuplicateCounts(sql));

    await sql`TRUNCATE idem.task_runs, idem.run_events, idem.duplicate_attempts`;
    expect(await rollupRunCounts(sql, "hour")).toEqual({});
    expect(await rollupDuplicateCounts(sql)).toEqual({});
    expect(await hasAnyRuns(sql)).toBe(false);
  });
});

describe("backfill", () => {
  // The latest migration that (re)defines the rollups ends by rebuilding them from the ledger.
  const migration = readFileSync(path.resolve(import.meta.dirname, "../../drizzle/0006_stats_terminal_only.sql"), "utf8");
  const statements = migration.split("--> statement-breakpoint").map((statement) => statement.trim());

  it("the migration's backfill statement rebuilds exact rollups from rows written without the triggers", async () => {
    const { sql } = db();
    // History written with the triggers off, as a database that predates the rollup has it.
    await sql.begin(async (tx) => {
      await tx`ALTER TABLE idem.task_runs DISABLE TRIGGER USER`;
      await tx`ALTER TABLE idem.duplicate_attempts DISABLE TRIGGER USER`;
      await tx`
        INSERT INTO idem.task_runs (id, root_run_id, task_name, idempotency_key, fingerprint, payload, status, created_at)
        SELECT i, i, 'task_' || (i % 5), 'k' || i, 'fp', '{}'::jsonb,
               (ARRAY['pending','running','succeeded','failed','cancelled'])[1 + i % 5]::idem.run_status,
               now() - (i * 97 || ' minutes')::interval
        FROM generate_series(1, 3000) i`;
      await tx`
        INSERT INTO idem.duplicate_attempts (run_id, task_name, idempotency_key, fingerprint, outcome, worker_id, source, attempted_at)
        SELECT id, task_name, idempotency_key, 'fp',
               (ARRAY['replayed','in_progress','payload_mismatch','lock_contended'])[1 + id % 4]::idem.duplicate_outcome,
               'w', 'sdk', created_at + interval '1 second'
        FROM idem.task_runs WHERE id % 3 = 0`;
      await tx`ALTER TABLE idem.task_runs ENABLE TRIGGER USER`;
      await tx`ALTER TABLE idem.duplicate_attempts ENABLE TRIGGER USER`;
    });
    await sql`SELECT setval('idem.task_runs_id_seq', 3000)`;
    await sql`TRUNCATE idem.run_stats_hour, idem.run_stats_minute, idem.run_stats_journal, idem.duplicate_stats_hour, idem.duplicate_stats_minute, idem.duplicate_stats_journal`;
    expect(await rollupRunCounts(sql, "hour")).toEqual({});

    // Exactly the statement the migration ends with.
    const backfill = statements[statements.length - 1]!;
    expect(backfill).toMatch(/rebuild_stats/);
    await sql.unsafe(backfill);

    expect(await rollupRunCounts(sql, "hour")).toEqual(await ledgerRunCounts(sql, "hour"));
    expect(await rollupDuplicateCounts(sql)).toEqual(await ledgerDuplicateCounts(sql));
    const recentMinutes = await ledgerRunCounts(sql, "minute");
    expect(await rollupRunCounts(sql, "minute")).toEqual(recentMinutes);
    expect(Object.keys(recentMinutes).length).toBeGreaterThan(10);
    const [stale] = await sql<Array<{ n: string }>>`SELECT count(*)::text AS n FROM idem.run_stats_minute WHERE bucket < idem.stats_minute_horizon()`;
    expect(Number(stale?.n)).toBe(0);

    // New writes after the backfill land on top of it.
    const ledger = createLedger({ sql, workerId: "after-backfill" });
    const claim = await ledger.claimRun({ task: "task_1", key: "fresh", payload: null });
    if (claim.outcome === "claimed") await ledger.failRun(claim.lease, new Error("no"), { retryable: false });
    await expectRollupsExact(sql);
    const range = statsRange("30d");
    const [direct] = await sql<Array<{ n: string }>>`
      SELECT count(*)::text AS n FROM idem.task_runs WHERE status = 'failed' AND created_at >= ${range.start.toISOString()}::timestamptz`;
    expect((await countRunsByStatus(sql, range)).failed).toBe(Number(direct?.n));
  });

  it("rebuildStats waits for a writer in flight and counts its row", async () => {
    const { sql, connect } = db();
    const writer = connect({ max: 1 });
    const watcher = connect({ max: 1 });
    let rebuilt: Promise<void> | null = null;
    await writer.begin(async (tx) => {
      await tx`
        INSERT INTO idem.task_runs (root_run_id, task_name, idempotency_key, fingerprint, payload, status)
        VALUES (0, 'held', 'h1', 'fp', '{}', 'pending')`;
      rebuilt = rebuildStats(sql);
      await waitFor(
        async () => {
          const [row] = await watcher<Array<{ n: string }>>`
            SELECT count(*)::text AS n FROM pg_locks WHERE relation = 'idem.task_runs'::regclass AND NOT granted`;
          return Number(row?.n) > 0;
        },
        { what: "the rebuild to wait for the open transaction" },
      );
    });
    await rebuilt;
    await createLedger({ sql, workerId: "after" }).claimRun({ task: "held", key: "h2", payload: null });
    await expectRollupsExact(sql);
    expect((await countRunsByStatus(sql, statsRange("1h"))).pending).toBe(1);
  });
});

describe("overview queries", () => {
  it("bucket runs by created_at into the window's steps, and rank tasks by failures and duplicates", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "overview" });
    const outcomes: Array<[string, "ok" | "fail"]> = [
      ["alpha", "fail"],
      ["alpha", "fail"],
      ["alpha", "ok"],
      ["beta", "fail"],
      ["beta", "ok"],
      ["gamma", "ok"],
    ];
    for (const [i, [task, outcome]] of outcomes.entries()) {
      const claim = await ledger.claimRun({ task, key: `o-${i}`, payload: { i } });
      if (claim.outcome !== "claimed") throw new Error("expected a fresh claim");
      if (outcome === "ok") await ledger.completeRun(claim.lease, null);
      else await ledger.failRun(claim.lease, new Error("boom"), { retryable: false });
    }
    // Duplicates: gamma twice replayed, beta once with another payload.
    await ledger.claimRun({ task: "gamma", key: "o-5", payload: { i: 5 } });
    await ledger.claimRun({ task: "gamma", key: "o-5", payload: { i: 5 } });
    await ledger.claimRun({ task: "beta", key: "o-4", payload: { i: "other" } });
    // One stuck run: running with its lease already over.
    await ledger.claimRun({ task: "delta", key: "stuck", payload: null, leaseMs: 100 });
    await sql`UPDATE idem.task_runs SET lease_expires_at = now() - interval '1 minute' WHERE task_name = 'delta'`;
    // Two runs 3 hours back: inside 6h and 24h, outside 1h.
    await sql`UPDATE idem.task_runs SET created_at = now() - interval '3 hours' WHERE idempotency_key IN ('o-0', 'o-3')`;

    const now = new Date();
    const hour = statsRange("1h", now);
    expect(await countRunsByStatus(sql, hour)).toEqual({ pending: 0, running: 1, succeeded: 3, failed: 1, cancelled: 0 });
    const day = statsRange("24h", now);
    expect(await countRunsByStatus(sql, day)).toEqual({ pending: 0, running: 1, succeeded: 3, failed: 3, cancelled: 0 });

    const sixHours = statsRange("6h", now);
    const series = await runSeries(sql, sixHours);
    expect(series).toHaveLength(72);
    expect(series[0]!.at).toBe(sixHours.start.toISOString());
    const total = (point: (typeof series)[number]) => point.pending + point.running + point.succeeded + point.failed + point.cancelled;
    expect(series.reduce((sum, point) => sum + total(point), 0)).toBe(7);
    expect(total(series[series.length - 1]!)).toBe(5);
    const shifted = series.filter((point) => point.failed === 2);
    expect(shifted).toHaveLength(1);
    expect(Date.parse(shifted[0]!.at)).toBeLessThanOrEqual(now.getTime() - 3 * 3600_000);

    expect(await topTasksByFailures(sql, day)).toEqual([
      { task: "alpha", failed: 2, total: 3 },
      { task: "beta", failed: 1, total: 2 },
    ]);
    expect(await countDuplicatesByOutcome(sql, day)).toEqual({ replayed: 2, in_progress: 0, payload_mismatch: 1, lock_contended: 0 });
    expect(await topTasksByDuplicates(sql, day)).toEqual([
      { task: "gamma", attempts: 2, payloadMismatches: 0 },
      { task: "beta", attempts: 1, payloadMismatches: 1 },
    ]);
    expect(await countStuckRuns(sql)).toBe(1);
    expect(await hasAnyRuns(sql)).toBe(true);

    // Folding changes where the numbers live, never what they are.
    await foldStats(sql);
    expect(await countRunsByStatus(sql, day)).toEqual({ pending: 0, running: 1, succeeded: 3, failed: 3, cancelled: 0 });
    expect(await runSeries(sql, sixHours)).toEqual(series);
  });

  it("an empty ledger reads as zeros and an all-empty series", async () => {
    const { sql } = db();
    const range = statsRange("7d");
    expect(await hasAnyRuns(sql)).toBe(false);
    expect(await countRunsByStatus(sql, range)).toEqual({ pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 });
    const series = await runSeries(sql, range);
    expect(series).toHaveLength(168);
    expect(series.every((point) => point.succeeded === 0)).toBe(true);
    expect(await topTasksByFailures(sql, range)).toEqual([]);
    expect(await topTasksByDuplicates(sql, range)).toEqual([]);
    expect(await countStuckRuns(sql)).toBe(0);
    expect(await foldStats(sql)).toBe(0);
  });
});
