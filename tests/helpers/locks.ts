import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { createLedger, type Ledger } from "@/lib/ledger";
import type { RedisClient } from "@/lib/locks/commands";
import { buildLockConfig, type LockConfig } from "@/lib/locks/config";
import { lockKeyFor } from "@/lib/locks/locks";

/**
 * A lock world for one test: the SDK's prefix and foreign patterns all under the test's own Redis
 * prefix (so tests sharing a Redis never see each other's keys), and a ledger writing through the SDK.
 */
export function lockWorld(sql: postgres.Sql, redis: RedisClient, prefix: string) {
  const sdkPrefix = `${prefix}idem:lock:`;
  const config: LockConfig = buildLockConfig({
    sdkPrefix,
    patterns: [`${prefix}lock:*`, `${prefix}task:*`],
    templates: [`${prefix}lock:order:{key}=charge_invoice`, `${prefix}task:{id}`],
  });
  const ledger: Ledger = createLedger({ sql, redis: null, lockPrefix: sdkPrefix, workerId: "test-worker", recordHeartbeats: false });

  /** A run claimed through the SDK, and its SDK lock holding the lease token, as a worker leaves it. */
  async function claimWithLock(task: string, key: string, options: { ttlMs?: number | null; leaseMs?: number } = {}) {
    const token = randomUUID();
    const claim = await ledger.claimRun({ task, key, payload: { key }, leaseMs: options.leaseMs ?? 60_000 }, token);
    if (claim.outcome !== "claimed") throw new Error(`expected a claim, got ${claim.outcome}`);
    const lockKey = lockKeyFor(task, key, sdkPrefix);
    if (options.ttlMs === null) await redis.set(lockKey, token);
    else await redis.set(lockKey, token, "PX", options.ttlMs ?? 60_000);
    return { claim, lease: claim.lease, token, lockKey, runId: claim.run.id };
  }

  /** The worker went away: its lease is in the past (by the database's clock). */
  async function expireLease(runId: number) {
    await sql`UPDATE idem.task_runs SET lease_expires_at = now() - interval '1 second' WHERE id = ${runId}`;
  }

  return { sql, sdkPrefix, config, ledger, claimWithLock, expireLease, key: (name: string) => `${prefix}${name}` };
}
