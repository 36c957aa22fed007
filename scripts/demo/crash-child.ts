import { randomUUID } from "node:crypto";
import { createSql } from "@/lib/db";
import { createLedger, errorRecord, type Json } from "@/lib/ledger";
import { acquireLock, lockKeyFor } from "@/lib/locks/locks";
import { createRedis } from "@/lib/redis";
import { runTask, type TaskName } from "./catalog";
import { childConfigSchema, type ChildConfig, type ChildMessage } from "./crash-messages";

/**
 * A real worker process for the demo's crash scenarios; scenarios.ts forks it, waits for the message
 * saying it reached the point of the scenario, and SIGKILLs it there. Configuration arrives over the
 * IPC channel (not argv, where the database URL would show in `ps`).
 *
 * This worker guards its task with its own long-lived Redis lock (lib/locks, one hour), the way code
 * written before the ledger often does, and uses the ledger on Postgres alone. Killed, it leaves:
 * - crash_mid_run: the run `running` with a lease that expires two seconds later, and the lock;
 * - crash_before_unlock: the run finished in Postgres, and the lock it never got to release.
 */
function send(message: ChildMessage) {
  process.send?.(message);
}

async function main(config: ChildConfig) {
  const sql = createSql(config.databaseUrl, { max: 2, applicationName: "idem-demo-crash" });
  const redis = createRedis(config.redisUrl, { name: "idem-demo-crash" });
  const ledger = createLedger({ sql, redis: null, workerId: `${config.workerName}:${process.pid}`, lockPrefix: config.lockPrefix });
  const token = randomUUID();
  const lockKey = lockKeyFor(config.task, config.key, config.lockPrefix);
  if (!(await acquireLock(redis, lockKey, token, config.lockTtlMs))) {
    return send({ phase: "error", message: `${lockKey} is already held` });
  }
  const payload = config.payload as Json;
  const claim = await ledger.claimRun({ task: config.task, key: config.key, payload, leaseMs: config.leaseMs, source: config.source }, token);
  if (claim.outcome !== "claimed") return send({ phase: "error", message: `claim of ${config.task}/${config.key}: ${claim.outcome}` });

  if (config.scenario === "crash_mid_run") {
    let lease = await ledger.heartbeat(claim.lease);
    send({ phase: "running", runId: claim.run.id });
    // Working, and heartbeating, until the parent kills the process.
    setInterval(() => {
      ledger.heartbeat(lease).then(
        (next) => (lease = next),
        () => undefined,
      );
    }, Math.floor(config.leaseMs / 3));
    return;
  }
  const result = await runTask(config.task as TaskName, payload, { durationMs: 120, fault: null });
  await ledger.completeRun(claim.lease, result);
  send({ phase: "completed", runId: claim.run.id });
  // About to release the lock when the parent kills the process.
  setInterval(() => undefined, 60_000);
}

// Without the parent there is nobody to kill this process at the right moment.
process.on("disconnect", () => process.exit(1));
process.once("message", (raw: unknown) => {
  const parsed = childConfigSchema.safeParse(raw);
  if (!parsed.success) {
    send({ phase: "error", message: `bad config: ${parsed.error.message}` });
    process.exit(1);
  }
  main(parsed.data).catch((error: unknown) => {
    send({ phase: "error", message: errorRecord(error).message });
    process.exit(1);
  });
});
