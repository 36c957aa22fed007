import { fork } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import path from "node:path";
import type postgres from "postgres";
import { childProcessEnv } from "@/lib/env";
import { createLedger, errorRecord, type Json } from "@/lib/ledger";
import type { RedisClient } from "@/lib/locks/commands";
import { lockKeyFor } from "@/lib/locks/locks";
import { runTask } from "./catalog";
import { childMessageSchema, type ChildConfig, type ChildMessage } from "./crash-messages";

/**
 * The locks the Locks screen is built to explain, and the runs behind them:
 *
 * - crashed: a transcode worker (a real child process) killed mid-run. Its run stays `running` with an
 *   expired lease, and its one-hour Redis lock stays with it: the stuck lock.
 * - unreleased: a payment worker (a real child process) killed after committing its run but before
 *   releasing its lock: a lock whose run is finished (the screen's `stale`).
 * - orphaned: an SDK lock with no run at all: a worker took the Redis lock (the fast path comes before
 *   the ledger's claim) and died before its claim reached Postgres. Having no run to remember it by, it
 *   is put back by every start that does not find it.
 * - noTtl: an SDK-style lock with no expiry, left by an old worker build that took it with a bare SET;
 *   its run failed.
 * - foreign locks written by other code, in the shapes such code uses.
 *
 * Their keys are fixed for a database, so each scenario is made once: a start that finds the run
 * already there leaves it alone. Redis in the demo is not persistent, though, so a lock whose run is
 * still in the state that left it behind is put back with the run's lease token (the value the worker
 * had written).
 */
export interface LockScenario {
  name: "crashed" | "unreleased" | "orphaned" | "noTtl";
  task: string;
  key: string;
  lockKey: string;
  runId: number | null;
  runStatus: string | null;
  lockPresent: boolean;
  /** What this start did: made the scenario, put its lost lock back, or nothing. */
  action: "created" | "restored" | "none" | "resolved" | "failed";
}

export interface ScenarioReport {
  scenarios: LockScenario[];
  foreignLocks: Array<{ key: string; present: boolean }>;
}

const HOUR = 3_600_000;
const LOCK_TTL_MS = HOUR;
const CRASH_LEASE_MS = 2_000;
const CHILD_TIMEOUT_MS = 60_000;
const CHILD_SCRIPT = path.join(import.meta.dirname, "crash-child.ts");
const ROOT = path.resolve(import.meta.dirname, "..", "..");

interface ScenarioSpec {
  task: string;
  key: string;
  payload: { [field: string]: Json };
  source: string;
  workerName: string;
}

/**
 * The scenario keys carry a tag derived from the database, stable for one database and different for
 * another: several demo databases can share one Redis (a developer's, the browser tests' fresh clones),
 * and each must find its own stuck locks, not one left by another database's demo an hour ago.
 */
async function scenarioTag(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    SELECT current_database() || ':' || oid::text AS id FROM pg_database WHERE datname = current_database()`;
  const digest = createHash("sha256").update(row?.id ?? "idem").digest();
  return Array.from(digest.subarray(0, 12), (byte) => ALNUM[byte % ALNUM.length]).join("");
}

const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

function scenarioSpecs(tag: string): Record<LockScenario["name"], ScenarioSpec> {
  return {
    crashed: {
      task: "transcode_file",
      key: `upl_${tag}:1080p`,
      payload: { uploadId: `upl_${tag}`, source: `s3://acme-uploads/raw/upl_${tag}.mov`, preset: "1080p", durationS: 2710, userId: 48213 },
      source: "sqs",
      workerName: "media-7d41-3",
    },
    unreleased: {
      task: "charge_invoice",
      key: `charge:in_1Q${tag}`,
      payload: {
        invoiceId: `in_1Q${tag}`,
        customerId: "cus_Qx81LmN2aZk7Rt",
        intentId: `pi_3Q${tag}9a`,
        amountCents: 12900,
        currency: "usd",
        email: "lena.novak@example.org",
      },
      source: "api",
      workerName: "payments-2f7a",
    },
    noTtl: {
      task: "webhook_deliver",
      key: `evt_1Q${tag}:we_legacy`,
      payload: { eventId: `evt_1Q${tag}`, event: "invoice.paid", endpoint: "https://hooks.example.com/idem/events", objectId: "obj_in7Qm2Lk9Vb3", bodyBytes: 1874 },
      source: "bullmq",
      workerName: "hooks-legacy-1",
    },
    orphaned: {
      task: "send_email",
      key: `receipt:in_1Q${tag}`,
      payload: {},
      source: "celery",
      workerName: "mailer-5c2e",
    },
  };
}

/** Locks other code holds in the same Redis, in the shapes such code writes them. */
export const FOREIGN_LOCKS = {
  order: "lock:order:42",
  task: "task:7f9c2d1e-5b3a-4c8e-9d0f-1a2b3c4d5e6f",
  report: "lock:report:daily",
} as const;

export interface ScenarioOptions {
  sql: postgres.Sql;
  redis: RedisClient;
  databaseUrl: string;
  redisUrl: string;
  lockPrefix: string;
  /** Prepended to the foreign lock keys; tests use their own prefix to stay isolated. */
  foreignLockPrefix: string;
  log: (message: string) => void;
  /**
   * Scenario runs are written once this settles (the backfill), so they come after the history in id
   * order as they do in time. The crash workers are forked at once: booting them overlaps the wait.
   */
  after?: Promise<unknown>;
}

async function runByKey(sql: postgres.Sql, task: string, key: string) {
  const [row] = await sql<{ id: string; status: string; lease_token: string | null }[]>`
    SELECT id, status, lease_token FROM idem.task_runs WHERE task_name = ${task} AND idempotency_key = ${key}`;
  return row ? { id: Number(row.id), status: row.status, leaseToken: row.lease_token } : null;
}

/** Forks crash-child.ts, waits until it reaches the scenario's point, and SIGKILLs it there. */
async function crashChild(config: ChildConfig, after: Promise<unknown>): Promise<ChildMessage> {
  const child = fork(CHILD_SCRIPT, [], {
    cwd: ROOT,
    execArgv: ["--import", "tsx"],
    env: childProcessEnv(),
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
  child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await after;
    return await new Promise<ChildMessage>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`crash worker exited early: ${output}`));
      const timer = setTimeout(() => reject(new Error(`crash worker did not reach its point within ${CHILD_TIMEOUT_MS} ms: ${output}`)), CHILD_TIMEOUT_MS);
      child.once("message", (raw: unknown) => {
        clearTimeout(timer);
        const message = childMessageSchema.safeParse(raw);
        if (!message.success) return reject(new Error(`crash worker sent ${JSON.stringify(raw)}`));
        if (message.data.phase === "error") return reject(new Error(`crash worker: ${message.data.message ?? "failed"}`));
        resolve(message.data);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`crash worker exited (${signal ?? code}) early: ${output}`));
      });
      child.send(config);
    });
  } finally {
    // The point of the scenario: no clean shutdown, no finally blocks, no lock release.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  }
}

/**
 * Sets a lock the way the SDK does, only if absent (NX: never over another value): a lock lost with a
 * Redis restart put back with the run's own lease token, or the orphan's token no run holds.
 */
async function restoreLock(redis: RedisClient, lockKey: string, token: string, ttlMs: number | null): Promise<boolean> {
  const reply = ttlMs === null ? await redis.set(lockKey, token, "NX") : await redis.set(lockKey, token, "PX", ttlMs, "NX");
  return reply === "OK";
}

async function ensureChildScenario(
  options: ScenarioOptions,
  name: "crashed" | "unreleased",
  spec: ScenarioSpec,
  stuckStatus: string,
): Promise<LockScenario> {
  const lockKey = lockKeyFor(spec.task, spec.key, options.lockPrefix);
  const scenario: LockScenario = { name, task: spec.task, key: spec.key, lockKey, runId: null, runStatus: null, lockPresent: false, action: "none" };
  let run = await runByKey(options.sql, spec.task, spec.key);
  if (!run) {
    try {
      await crashChild({
        scenario: name === "crashed" ? "crash_mid_run" : "crash_before_unlock",
        databaseUrl: options.databaseUrl,
        redisUrl: options.redisUrl,
        lockPrefix: options.lockPrefix,
        task: spec.task,
        key: spec.key,
        payload: spec.payload,
        source: spec.source,
        workerName: spec.workerName,
        leaseMs: CRASH_LEASE_MS,
        lockTtlMs: LOCK_TTL_MS,
      }, options.after ?? Promise.resolve());
      scenario.action = "created";
    } catch (error) {
      options.log(`demo: the ${name} worker scenario failed: ${errorRecord(error).message}`);
      scenario.action = "failed";
    }
    run = await runByKey(options.sql, spec.task, spec.key);
  } else if (run.status === stuckStatus && run.leaseToken) {
    if (await restoreLock(options.redis, lockKey, run.leaseToken, LOCK_TTL_MS)) scenario.action = "restored";
  } else {
    // Someone dealt with it (an operator in the console, a takeover): leave it dealt with.
    scenario.action = "resolved";
  }
  scenario.runId = run?.id ?? null;
  scenario.runStatus = run?.status ?? null;
  scenario.lockPresent = (await options.redis.exists(lockKey)) === 1;
  return scenario;
}

async function ensureNoTtlScenario(options: ScenarioOptions, spec: ScenarioSpec): Promise<LockScenario> {
  const lockKey = lockKeyFor(spec.task, spec.key, options.lockPrefix);
  const scenario: LockScenario = { name: "noTtl", task: spec.task, key: spec.key, lockKey, runId: null, runStatus: null, lockPresent: false, action: "none" };
  await options.after;
  let run = await runByKey(options.sql, spec.task, spec.key);
  if (!run) {
    const ledger = createLedger({ sql: options.sql, redis: null, workerId: spec.workerName, lockPrefix: options.lockPrefix });
    const token = randomUUID();
    const claim = await ledger.claimRun({ task: spec.task, key: spec.key, payload: spec.payload, leaseMs: 15_000, source: spec.source }, token);
    if (claim.outcome === "claimed") {
      // What the old build did: a bare SET NX with no expiry (not the SDK's SET NX PX), never released
      // because the delivery failed and the error path skipped the unlock.
      await options.redis.set(lockKey, token, "NX");
      try {
        await runTask("webhook_deliver", spec.payload, { durationMs: 40, fault: "http_502" });
      } catch (error) {
        await ledger.failRun(claim.lease, error, { retryable: false });
      }
      scenario.action = "created";
    }
    run = await runByKey(options.sql, spec.task, spec.key);
  } else if (run.status === "failed" && run.leaseToken) {
    if (await restoreLock(options.redis, lockKey, run.leaseToken, null)) scenario.action = "restored";
  } else {
    scenario.action = "resolved";
  }
  scenario.runId = run?.id ?? null;
  scenario.runStatus = run?.status ?? null;
  scenario.lockPresent = (await options.redis.exists(lockKey)) === 1;
  return scenario;
}

/** An SDK lock whose run never reached the ledger: the value is a lease token no run holds. */
async function ensureOrphanScenario(options: ScenarioOptions, spec: ScenarioSpec): Promise<LockScenario> {
  const lockKey = lockKeyFor(spec.task, spec.key, options.lockPrefix);
  const scenario: LockScenario = { name: "orphaned", task: spec.task, key: spec.key, lockKey, runId: null, runStatus: null, lockPresent: false, action: "none" };
  const run = await runByKey(options.sql, spec.task, spec.key);
  if (run) {
    // Someone submitted the key since: the lock now belongs to a run's story, not to this scenario.
    scenario.runId = run.id;
    scenario.runStatus = run.status;
    scenario.action = "resolved";
  } else if (await restoreLock(options.redis, lockKey, randomUUID(), LOCK_TTL_MS)) {
    scenario.action = "created";
  }
  scenario.lockPresent = (await options.redis.exists(lockKey)) === 1;
  return scenario;
}

/** Other code's locks: each written the way that code writes it, and only if it is not there already. */
async function ensureForeignLocks(options: ScenarioOptions): Promise<ScenarioReport["foreignLocks"]> {
  const p = options.foreignLockPrefix;
  await options.redis.set(`${p}${FOREIGN_LOCKS.order}`, "processing", "EX", 300, "NX");
  await options.redis.setnx(`${p}${FOREIGN_LOCKS.task}`, "1");
  await options.redis.set(`${p}${FOREIGN_LOCKS.report}`, "1", "EX", 6 * 3600, "NX");
  return Promise.all(
    Object.values(FOREIGN_LOCKS).map(async (key) => ({ key: `${p}${key}`, present: (await options.redis.exists(`${p}${key}`)) === 1 })),
  );
}

export async function ensureLockScenarios(options: ScenarioOptions): Promise<ScenarioReport> {
  const specs = scenarioSpecs(await scenarioTag(options.sql));
  // The two child processes start in parallel: booting tsx is most of their time.
  const [crashed, unreleased, orphaned, noTtl, foreignLocks] = await Promise.all([
    ensureChildScenario(options, "crashed", specs.crashed, "running"),
    ensureChildScenario(options, "unreleased", specs.unreleased, "succeeded"),
    ensureOrphanScenario(options, specs.orphaned),
    ensureNoTtlScenario(options, specs.noTtl),
    ensureForeignLocks(options),
  ]);
  return { scenarios: [crashed, unreleased, orphaned, noTtl], foreignLocks };
}
