import "server-only";
import type postgres from "postgres";
import { Counter, Gauge, Registry } from "prom-client";
import { checkHealth } from "@/lib/health";
import { lockClasses } from "@/lib/locks/classify";
import { listLocks } from "@/lib/locks/inventory";
import { consoleLockConfig } from "@/lib/locks/settings";
import { countDuplicatesByOutcome, countRunsByStatus, countStuckRuns } from "@/lib/ledger/stats";
import { statsRange } from "@/lib/ledger/stats-window";
import { getRedis } from "@/lib/redis";

/**
 * Prometheus metrics, computed at scrape time from the same queries the console uses (the rollup for
 * counts, so a scrape stays cheap at any ledger size). The lock inventory is a SCAN, so it is cached
 * for LOCKS_TTL_MS: a tight scrape interval cannot turn into a SCAN loop on Redis.
 */
const LOCKS_TTL_MS = 30_000;
let lockCache: { at: number; counts: Record<string, number> | null } = { at: 0, counts: null };

async function lockCounts(sql: postgres.Sql): Promise<Record<string, number> | null> {
  if (Date.now() - lockCache.at < LOCKS_TTL_MS) return lockCache.counts;
  let counts: Record<string, number> | null = null;
  try {
    const inventory = await listLocks(getRedis(), sql, consoleLockConfig());
    counts = inventory.counts;
  } catch {
    counts = null;
  }
  lockCache = { at: Date.now(), counts };
  return counts;
}

export async function renderMetrics(sql: postgres.Sql): Promise<{ body: string; contentType: string }> {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });

  const runs = gauge("idem_runs", "Runs created in the last 24 hours (not all time), by their status now", ["status"]);
  const stuck = gauge("idem_runs_stuck", "Runs still running whose lease expired (their worker is gone or paused)");
  const duplicates = gauge("idem_duplicate_attempts", "Duplicate attempts in the last 24 hours (not all time), by outcome", ["outcome"]);
  const locks = gauge("idem_locks", "Redis locks matching the configured patterns, by class (cached 30 s)", ["class"]);
  const locksUp = gauge("idem_locks_inventory_up", "1 if the last lock inventory could be read");
  // A counter: the audit log is append-only, so these only ever grow (rate() and increase() apply).
  const actions = new Counter({ name: "idem_operator_actions_total", help: "Operator actions recorded in the audit log, by action and outcome", labelNames: ["action", "outcome"], registers: [registry] });
  const up = gauge("idem_dependency_up", "1 if the server answered the console's health check", ["service"]);
  const latency = gauge("idem_dependency_latency_seconds", "Round trip of the console's health check", ["service"]);

  const range = statsRange("24h");
  const [byStatus, stuckCount, byOutcome, lockByClass, actionRows, health] = await Promise.all([
    countRunsByStatus(sql, range),
    countStuckRuns(sql),
    countDuplicatesByOutcome(sql, range),
    lockCounts(sql),
    sql<{ action: string; outcome: string; n: string }[]>`SELECT action, outcome, count(*)::text AS n FROM idem.operator_actions GROUP BY 1, 2`,
    checkHealth(),
  ]);
  for (const [status, n] of Object.entries(byStatus)) runs.set({ status }, n);
  stuck.set(stuckCount);
  for (const [outcome, n] of Object.entries(byOutcome)) duplicates.set({ outcome }, n);
  locksUp.set(lockByClass ? 1 : 0);
  if (lockByClass) for (const lockClass of lockClasses) locks.set({ class: lockClass }, lockByClass[lockClass] ?? 0);
  for (const row of actionRows) actions.inc({ action: row.action, outcome: row.outcome }, Number(row.n));
  for (const [service, result] of Object.entries(health)) {
    up.set({ service }, result.ok ? 1 : 0);
    if (result.latencyMs !== null) latency.set({ service }, result.latencyMs / 1000);
  }
  return { body: await registry.metrics(), contentType: registry.contentType };
}
