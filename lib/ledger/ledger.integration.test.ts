import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import getPort from "get-port";
import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import { ValidationError } from "@/lib/errors";
import { startRedisServer } from "@/lib/embedded/redis";
import { lockKeyFor } from "@/lib/locks/locks";
import { createRedis } from "@/lib/redis";
import { useTestDatabase, useTestRedis } from "@/tests/helpers/db";
import { gate, waitFor } from "@/tests/helpers/wait";
import { LeaseLostError, PayloadMismatchError } from "./errors";
import { createLedger, type Ledger, type RunOnceResult } from "./ledger";
import { cronKey, cronSlot, runCronSlot, startCron } from "./cron";

const db = useTestDatabase();
const testRedis = useTestRedis();

async function createEffectsTable(sql: postgres.Sql) {
  await sql`CREATE TABLE effects (key text PRIMARY KEY, applied int NOT NULL)`;
}

async function applyEffect(sql: postgres.Sql | postgres.TransactionSql, key: string) {
  await sql`INSERT INTO effects (key, applied) VALUES (${key}, 1) ON CONFLICT (key) DO UPDATE SET applied = effects.applied + 1`;
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function hammer(options: { workers: number; keys: number; submissions: number; redis: boolean }) {
  const { sql, connect } = db();
  await createEffectsTable(sql);
  const { redis, prefix } = testRedis();
  const ledgers: Ledger[] = Array.from({ length: options.workers }, (_, i) =>
    createLedger({ sql: connect({ max: 1 }), redis: options.redis ? redis : null, lockPrefix: prefix, workerId: `worker-${i}` }),
  );
  const queue = shuffled(Array.from({ length: options.keys * options.submissions }, (_, i) => `key-${i % options.keys}`));
  const outcomes: Array<RunOnceResult<string> & { key: string }> = [];
  await Promise.all(
    ledgers.map(async (ledger) => {
      for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
        const submitted = key;
        const result = await ledger.runOnce({ task: "hammer", key: submitted, payload: { key: submitted } }, async (ctx) => {
          await applyEffect(ledger.sql, submitted);
          return `done by ${ledger.workerId} with token ${ctx.fencingToken}`;
        });
        outcomes.push({ ...result, key: submitted });
      }
    }),
  );
  return { sql, outcomes };
}

describe("runOnce under concurrency", () => {
  it("32 workers, 1,000 keys, 5 submissions each: every effect applied exactly once, 4,000 duplicates recorded", async () => {
    const { sql, outcomes } = await hammer({ workers: 32, keys: 1000, submissions: 5, redis: false });

    const effects = await sql<{ applied: number; n: number }[]>`SELECT applied, count(*)::int AS n FROM effects GROUP BY applied`;
    expect(effects).toEqual([{ applied: 1, n: 1000 }]);
    expect(outcomes.filter((o) => o.outcome === "executed")).toHaveLength(1000);

    const [runs] = await sql<{ n: number; succeeded: number }[]>`
      SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded FROM idem.task_runs`;
    expect(runs).toEqual({ n: 1000, succeeded: 1000 });

    const perKey = await sql<{ n: number; keys: number }[]>`
      SELECT n, count(*)::int AS keys FROM (SELECT idempotency_key, count(*)::int AS n FROM idem.duplicate_attempts GROUP BY 1) k GROUP BY n`;
    expect(perKey).toEqual([{ n: 4, keys: 1000 }]);

    // Each outcome is consistent with the run state the attempt saw.
    const wrong = await sql`
      SELECT outcome, run_status, count(*)::int FROM idem.duplicate_attempts
      WHERE NOT ((outcome = 'replayed' AND run_status = 'succeeded') OR (outcome = 'in_progress' AND run_status = 'running'))
      GROUP BY 1, 2`;
    expect(wrong).toEqual([]);
    const [counted] = await sql<{ total: number }[]>`SELECT sum(duplicate_count)::int AS total FROM idem.task_runs`;
    expect(counted!.total).toBe(4000);

    // A replay returns the stored result of the one execution.
    const stored = new Map((await sql<{ key: string; result: string }[]>`SELECT idempotency_key AS key, result FROM idem.task_runs`).map((r) => [r.key, r.result]));
    for (const outcome of outcomes) {
      if (outcome.outcome === "replayed") expect(outcome.result).toBe(stored.get(outcome.key));
    }
    const replays = await sql<{ outcome: string; n: number }[]>`SELECT outcome::text, count(*)::int AS n FROM idem.duplicate_attempts GROUP BY 1`;
    expect(replays.reduce((sum, row) => sum + row.n, 0)).toBe(4000);
  });

  it("with the Redis fast path on, still exactly once; contended locks are recorded as lock_contended", async () => {
    const { sql, outcomes } = await hammer({ workers: 16, keys: 300, submissions: 5, redis: true });
    const effects = await sql<{ applied: number; n: number }[]>`SELECT applied, count(*)::int AS n FROM effects GROUP BY applied`;
    expect(effects).toEqual([{ applied: 1, n: 300 }]);
    const [dups] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.duplicate_attempts`;
    expect(dups!.n).toBe(1200);
    expect(outcomes.filter((o) => o.outcome === "executed")).toHaveLength(300);
    const outcomeKinds = new Set(outcomes.map((o) => o.outcome));
    for (const kind of outcomeKinds) expect(["executed", "replayed", "in_progress", "lock_contended"]).toContain(kind);

    // The lock really turned submissions away (a ledger that ignored Redis would record none), and
    // every duplicate row agrees with what its submitter was told and with the run it saw.
    const rows = await sql<{ outcome: string; n: number }[]>`SELECT outcome::text, count(*)::int AS n FROM idem.duplicate_attempts GROUP BY 1 ORDER BY 1`;
    const told = new Map<string, number>();
    for (const o of outcomes) if (o.outcome !== "executed") told.set(o.outcome, (told.get(o.outcome) ?? 0) + 1);
    expect(Object.fromEntries(rows.map((r) => [r.outcome, r.n]))).toEqual(Object.fromEntries(told));
    expect(told.get("lock_contended") ?? 0).toBeGreaterThan(0);
    const wrong = await sql`
      SELECT outcome, run_status, count(*)::int FROM idem.duplicate_attempts
      WHERE NOT ((outcome = 'replayed' AND run_status = 'succeeded')
              OR (outcome = 'in_progress' AND run_status = 'running')
              OR (outcome = 'lock_contended' AND (run_status = 'running' OR run_id IS NULL)))
         OR worker_id IS NULL OR source <> 'sdk'
      GROUP BY 1, 2`;
    expect(wrong).toEqual([]);
  });
});

/**
 * Starts `spec` on `paused`, whose task function then waits for `release` (a worker stopped mid-task);
 * returns once the task is running. `signal()` is the lease-lost signal the task was given.
 */
async function startPausedRun(paused: ReturnType<typeof createLedger>, spec: Parameters<ReturnType<typeof createLedger>["runOnce"]>[0]) {
  const started = gate();
  const release = gate();
  let given: AbortSignal | null = null;
  const pausedRun = paused.runOnce(spec, async (ctx) => {
    given = ctx.signal;
    started.open();
    await release.opened;
    return "charged by the paused worker";
  });
  await started.opened;
  return { pausedRun, release, signal: (): AbortSignal | null => given };
}

describe("leases and fencing", () => {
  it("a worker paused past its lease is taken over; its late completion is rejected and changes nothing", async () => {
    const { sql, connect } = db();
    const pausedPool = connect({ max: 1 });
    const paused = createLedger({ sql: pausedPool, workerId: "paused-worker" });
    const rescuer = createLedger({ sql: connect({ max: 1 }), workerId: "rescuer" });
    const spec = { task: "charge", key: "invoice-42", payload: { invoice: 42, cents: 1999 }, leaseMs: 300 };

    const { pausedRun, release, signal } = await startPausedRun(paused, spec);

    // Hold the paused worker's only connection: its heartbeats queue up, as in a stop-the-world pause.
    const held = await pausedPool.reserve();
    await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE idempotency_key = 'invoice-42' AND lease_expires_at < now()`).length > 0, {
      what: "the paused worker's lease to expire",
    });

    const rescued = await rescuer.runOnce(spec, (ctx) => `charged by the rescuer with token ${ctx.fencingToken}`);
    expect(rescued.outcome).toBe("executed");

    held.release();
    await waitFor(() => signal()?.aborted, { what: "the paused worker to learn it lost the lease" });
    expect(signal()?.reason).toBeInstanceOf(LeaseLostError);
    release.open();
    const late = await pausedRun.then(
      () => null,
      (error: unknown) => error,
    );
    expect(late).toBeInstanceOf(LeaseLostError);
    expect((late as LeaseLostError).current).toMatchObject({ status: "succeeded", fencingToken: 2, leaseOwner: "rescuer" });

    const [run] = await sql`SELECT status, result, fencing_token, attempt, lease_owner FROM idem.task_runs WHERE idempotency_key = 'invoice-42'`;
    expect(run).toEqual({
      status: "succeeded",
      result: "charged by the rescuer with token 2",
      fencing_token: "2",
      attempt: 2,
      lease_owner: "rescuer",
    });
    const events = await sql<{ kind: string; actor: string; fencing_token: string }[]>`
      SELECT kind, actor, fencing_token FROM idem.run_events WHERE kind <> 'heartbeat' ORDER BY id`;
    expect(events).toEqual([
      { kind: "claimed", actor: "paused-worker", fencing_token: "1" },
      { kind: "takeover", actor: "rescuer", fencing_token: "2" },
      { kind: "succeeded", actor: "rescuer", fencing_token: "2" },
      { kind: "stale_write_rejected", actor: "paused-worker", fencing_token: "1" },
    ]);
  });

  it("a paused worker whose fn returns before any heartbeat noticed the takeover has its completion refused by the database", async () => {
    const { sql, connect } = db();
    // A long lease: the first heartbeat would come after 20 s, so nothing on the paused worker's side
    // learns of the takeover before it sends its completion.
    const paused = createLedger({ sql: connect({ max: 1 }), workerId: "paused-worker" });
    const rescuer = createLedger({ sql: connect({ max: 1 }), workerId: "rescuer" });
    const spec = { task: "charge", key: "invoice-43", payload: { invoice: 43, cents: 2999 }, leaseMs: 60_000 };
    const { pausedRun, release, signal } = await startPausedRun(paused, spec);
    // The pause outlasts the lease: its expiry passes while the worker is stopped.
    await sql`UPDATE idem.task_runs SET lease_expires_at = now() - interval '1 second' WHERE idempotency_key = 'invoice-43'`;
    await expect(rescuer.runOnce(spec, () => "charged by the rescuer")).resolves.toMatchObject({ outcome: "executed" });

    release.open();
    const late = await pausedRun.then(
      () => null,
      (error: unknown) => error,
    );
    expect(signal()?.aborted).toBe(false);
    expect(late).toBeInstanceOf(LeaseLostError);
    expect((late as LeaseLostError).current).toMatchObject({ status: "succeeded", fencingToken: 2, leaseOwner: "rescuer" });
    const [run] = await sql`SELECT status, result, fencing_token, lease_owner FROM idem.task_runs WHERE idempotency_key = 'invoice-43'`;
    expect(run).toEqual({ status: "succeeded", result: "charged by the rescuer", fencing_token: "2", lease_owner: "rescuer" });
    const events = await sql<{ kind: string; actor: string; fencing_token: string; attempted: string | null }[]>`
      SELECT kind, actor, fencing_token, detail->>'attempted' AS attempted FROM idem.run_events WHERE kind <> 'heartbeat' ORDER BY id`;
    expect(events).toEqual([
      { kind: "claimed", actor: "paused-worker", fencing_token: "1", attempted: null },
      { kind: "takeover", actor: "rescuer", fencing_token: "2", attempted: null },
      { kind: "succeeded", actor: "rescuer", fencing_token: "2", attempted: null },
      { kind: "stale_write_rejected", actor: "paused-worker", fencing_token: "1", attempted: "complete" },
    ]);
  });

  it("completeRun with a lease that was taken over throws LeaseLostError and writes nothing", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "w1" });
    const other = createLedger({ sql, workerId: "w2" });
    const spec = { task: "t", key: "k", payload: { n: 1 }, leaseMs: 100 };
    const first = await ledger.claimRun(spec);
    if (first.outcome !== "claimed") throw new Error("expected a claim");
    await sql`UPDATE idem.task_runs SET lease_expires_at = now() - interval '1 second' WHERE id = ${first.run.id}`;
    const second = await other.claimRun(spec);
    expect(second).toMatchObject({ outcome: "claimed", previousStatus: "running", run: { fencingToken: 2, attempt: 2 } });

    await expect(ledger.completeRun(first.lease, "late")).rejects.toBeInstanceOf(LeaseLostError);
    await expect(ledger.failRun(first.lease, new Error("late"))).rejects.toBeInstanceOf(LeaseLostError);
    await expect(ledger.heartbeat(first.lease)).rejects.toBeInstanceOf(LeaseLostError);
    const [run] = await sql`SELECT status, result, error FROM idem.task_runs WHERE id = ${first.run.id}`;
    expect(run).toEqual({ status: "running", result: null, error: null });
  });

  it("a live lease is not taken over: the duplicate is in_progress", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "holder" });
    const spec = { task: "t", key: "live", payload: {}, leaseMs: 60_000 };
    const first = await ledger.claimRun(spec);
    const dup = await createLedger({ sql, workerId: "dup" }).claimRun(spec);
    expect(first.outcome).toBe("claimed");
    expect(dup).toMatchObject({ outcome: "in_progress", run: { status: "running", fencingToken: 1 } });
  });

  it("heartbeats extend the lease while fn runs", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "slow" });
    const hold = gate();
    const running = ledger.runOnce({ task: "t", key: "slow", payload: {}, leaseMs: 150 }, async () => {
      await hold.opened;
      return "ok";
    });
    await waitFor(async () => {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.run_events WHERE kind = 'heartbeat'`;
      return row!.n >= 3;
    }, { what: "three heartbeats" });
    hold.open();
    await expect(running).resolves.toMatchObject({ outcome: "executed", result: "ok" });
    const [run] = await sql`SELECT status, fencing_token, attempt FROM idem.task_runs`;
    expect(run).toEqual({ status: "succeeded", fencing_token: "1", attempt: 1 });
  });

  it("a failing fn is recorded with its stack and retried under the same key while attempts remain", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "w" });
    const spec = { task: "flaky", key: "k", payload: { n: 1 }, maxAttempts: 2 };
    class GatewayTimeout extends Error {
      override name = "GatewayTimeout";
    }
    await expect(ledger.runOnce(spec, () => Promise.reject(new GatewayTimeout("upstream timed out")))).rejects.toThrow("upstream timed out");
    const [pending] = await sql`SELECT status, error->>'class' AS class, error->>'stack' AS stack FROM idem.task_runs`;
    expect(pending).toMatchObject({ status: "pending", class: "GatewayTimeout" });
    expect(pending!.stack).toContain("upstream timed out");

    // Redelivered at once: the backoff (1 s after the first attempt) is not cut short.
    let ranEarly = false;
    const early = await ledger.runOnce(spec, () => {
      ranEarly = true;
    });
    expect(ranEarly).toBe(false);
    expect(early).toMatchObject({ outcome: "in_progress", run: { status: "pending", attempt: 1 } });
    await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE available_at <= now()`).length > 0, { what: "the backoff to pass" });

    await expect(ledger.runOnce(spec, () => "second time lucky")).resolves.toMatchObject({ outcome: "executed", run: { attempt: 2 } });
    await expect(ledger.runOnce(spec, () => "never")).resolves.toMatchObject({ outcome: "replayed", result: "second time lucky" });
    const kinds = await sql<{ kind: string }[]>`SELECT kind FROM idem.run_events ORDER BY id`;
    expect(kinds.map((k) => k.kind)).toEqual(["claimed", "retry_scheduled", "claimed", "succeeded"]);
  });

  it("a terminal failure spends the key: a redelivery replays the failure without running fn", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const spec = { task: "once", key: "k", payload: null };
    await expect(ledger.runOnce(spec, () => Promise.reject(new Error("card declined")))).rejects.toThrow("card declined");
    let ran = false;
    const replay = await ledger.runOnce(spec, () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(replay).toMatchObject({ outcome: "replayed", status: "failed", result: null, error: { message: "card declined", class: "Error" } });
    expect(replay).toMatchObject({ run: { status: "failed", error: { message: "card declined", class: "Error" } } });
  });

  it("a replay tells a success with a null result from a failure: status and error on the outcome", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    await ledger.runOnce({ task: "t", key: "null-result", payload: 1 }, () => null);
    await expect(ledger.runOnce({ task: "t", key: "null-result", payload: 1 }, () => "never")).resolves.toMatchObject({
      outcome: "replayed",
      status: "succeeded",
      result: null,
      error: null,
    });
  });
});

describe("recording failures", () => {
  it.each([
    ["a U+0000", "bad\u0000byte"],
    ["a lone high surrogate", "bad\ud800"],
    ["a lone low surrogate", "bad\udfff"],
  ])("an error message with %s is stored (replaced), and the run does not stay running", async (_name, message) => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const thrown = new Error(message);
    thrown.stack = `Error: ${message}\n    at somewhere`;
    await expect(ledger.runOnce({ task: "t", key: "k", payload: 1 }, () => Promise.reject(thrown))).rejects.toBe(thrown);
    const [run] = await sql`SELECT status, error->>'message' AS message, error->>'stack' AS stack, lease_expires_at FROM idem.task_runs`;
    expect(run).toEqual({ status: "failed", message: "bad\uFFFD" + (message.endsWith("byte") ? "byte" : ""), stack: expect.stringContaining("\uFFFD"), lease_expires_at: null });
  });

  it("caps a huge error message", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    await expect(ledger.runOnce({ task: "t", key: "k", payload: 1 }, () => Promise.reject(new Error("x".repeat(1_000_000))))).rejects.toThrow();
    const [run] = await sql<{ status: string; length: number }[]>`SELECT status, length(error->>'message')::int AS length FROM idem.task_runs`;
    expect(run!.status).toBe("failed");
    expect(run!.length).toBeLessThan(9000);
  });

  it("records the class of `class MyErr extends Error {}` by its constructor, not as Error", async () => {
    const { sql } = db();
    class InsufficientFunds extends Error {}
    await expect(createLedger({ sql }).runOnce({ task: "t", key: "k", payload: 1 }, () => Promise.reject(new InsufficientFunds("no money")))).rejects.toThrow();
    const [run] = await sql`SELECT error->>'class' AS class, error->>'message' AS message FROM idem.task_runs`;
    expect(run).toEqual({ class: "InsufficientFunds", message: "no money" });
  });
});

describe("fingerprints", () => {
  it("same key with a different payload is rejected as payload_mismatch and the original is untouched", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "w" });
    await ledger.runOnce({ task: "charge", key: "order-7", payload: { order: 7, cents: 500 } }, () => ({ charged: 500 }));
    let ran = false;
    const error = await ledger
      .runOnce({ task: "charge", key: "order-7", payload: { order: 7, cents: 5000 } }, () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadMismatchError);
    expect(ran).toBe(false);
    const [run] = await sql`SELECT status, payload, result, attempt, fencing_token FROM idem.task_runs`;
    expect(run).toEqual({ status: "succeeded", payload: { order: 7, cents: 500 }, result: { charged: 500 }, attempt: 1, fencing_token: "1" });
    const [dup] = await sql`SELECT outcome, run_status, payload FROM idem.duplicate_attempts`;
    expect(dup).toEqual({ outcome: "payload_mismatch", run_status: "succeeded", payload: { order: 7, cents: 5000 } });
  });

  it("key order and fields outside fingerprintFields do not change the fingerprint", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const spec = { task: "email", key: "welcome-1", fingerprintFields: ["to", "template"] };
    await ledger.runOnce({ ...spec, payload: { to: "a@example.com", template: "welcome", traceId: "x1" } }, () => "sent");
    const again = await ledger.runOnce({ ...spec, payload: { traceId: "x2", template: "welcome", to: "a@example.com" } }, () => "sent twice");
    expect(again).toMatchObject({ outcome: "replayed", result: "sent" });
  });
});

describe("Redis is only an accelerator", () => {
  it("with Redis pointed at a closed port, runOnce is still exactly once", async () => {
    const { sql } = db();
    const dead = createRedis(`redis://127.0.0.1:${await getPort()}`);
    try {
      const ledger = createLedger({ sql, redis: dead, logger: { warn: () => undefined } });
      let runs = 0;
      const results = await Promise.all(
        Array.from({ length: 10 }, () => ledger.runOnce({ task: "t", key: "k", payload: 1 }, () => ++runs)),
      );
      expect(runs).toBe(1);
      expect(results.filter((r) => r.outcome === "executed")).toHaveLength(1);
    } finally {
      dead.disconnect();
    }
  });

  it("Redis stopped mid-run: the run completes on Postgres alone and duplicates are still refused", async () => {
    const { sql } = db();
    const dir = await mkdtemp(path.join(tmpdir(), "idem-redis-"));
    const server = await startRedisServer({ dir });
    const redis = createRedis(server.url);
    try {
      const ledger = createLedger({ sql, redis, workerId: "w", logger: { warn: () => undefined } });
      const started = gate();
      const finish = gate();
      const first = ledger.runOnce({ task: "t", key: "k", payload: 1, leaseMs: 300 }, async () => {
        started.open();
        await finish.opened;
        return "done";
      });
      await started.opened;
      expect(await redis.get(lockKeyFor("t", "k"))).toMatch(/^[0-9a-f-]{36}$/);
      await server.stop();
      finish.open();
      await expect(first).resolves.toMatchObject({ outcome: "executed", result: "done" });

      let ranAgain = false;
      const dup = await ledger.runOnce({ task: "t", key: "k", payload: 1 }, () => {
        ranAgain = true;
      });
      expect(ranAgain).toBe(false);
      expect(dup).toMatchObject({ outcome: "replayed", result: "done" });
    } finally {
      redis.disconnect();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a lock that outlived its holder does not hide a finished run: the duplicate is replayed", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const ledger = createLedger({ sql, redis, lockPrefix: prefix, workerId: "w" });
    await ledger.runOnce({ task: "t", key: "k", payload: 1 }, () => "ok");
    await redis.set(lockKeyFor("t", "k", prefix), "someone-else", "PX", 60_000);
    let ran = false;
    const result = await ledger.runOnce({ task: "t", key: "k", payload: 1 }, () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(result).toMatchObject({ outcome: "replayed", result: "ok", run: { status: "succeeded", duplicateCount: 1 } });
    const [dup] = await sql`SELECT outcome, run_status, worker_id, source, run_id IS NOT NULL AS has_run FROM idem.duplicate_attempts`;
    expect(dup).toEqual({ outcome: "replayed", run_status: "succeeded", worker_id: "w", source: "sdk", has_run: true });
  });

  it("with Redis on, a different payload while the key's run is live is rejected as payload_mismatch, not lock_contended", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const a = createLedger({ sql, redis, lockPrefix: prefix, workerId: "a" });
    const b = createLedger({ sql, redis, lockPrefix: prefix, workerId: "b" });
    const started = gate();
    const finish = gate();
    const first = a.runOnce({ task: "charge", key: "order-1", payload: { cents: 500 } }, async () => {
      started.open();
      await finish.opened;
      return { charged: 500 };
    });
    await started.opened;
    let ran = false;
    const error = await b
      .runOnce({ task: "charge", key: "order-1", payload: { cents: 99999 }, source: "webhook" }, () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadMismatchError);
    expect(ran).toBe(false);
    // The same payload while the run is live is turned away by the lock.
    const same = await b.runOnce({ task: "charge", key: "order-1", payload: { cents: 500 } }, () => "never");
    expect(same).toMatchObject({ outcome: "lock_contended" });
    finish.open();
    const executed = await first;
    expect(executed).toMatchObject({ outcome: "executed" });
    expect(same).toEqual({ outcome: "lock_contended", runId: executed.outcome === "executed" ? executed.run.id : -1 });

    const dups = await sql`
      SELECT outcome, run_status, worker_id, source, payload FROM idem.duplicate_attempts ORDER BY id`;
    expect(dups).toEqual([
      { outcome: "payload_mismatch", run_status: "running", worker_id: "b", source: "webhook", payload: { cents: 99999 } },
      { outcome: "lock_contended", run_status: "running", worker_id: "b", source: "sdk", payload: null },
    ]);
    const [run] = await sql`SELECT status, payload, result, duplicate_count FROM idem.task_runs`;
    expect(run).toEqual({ status: "succeeded", payload: { cents: 500 }, result: { charged: 500 }, duplicate_count: 2 });
  });

  it("a lock held before any run exists is lock_contended with no run", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const ledger = createLedger({ sql, redis, lockPrefix: prefix, workerId: "w" });
    await redis.set(lockKeyFor("t", "fresh", prefix), "someone-else", "PX", 60_000);
    const result = await ledger.runOnce({ task: "t", key: "fresh", payload: 1 }, () => "never");
    expect(result).toEqual({ outcome: "lock_contended", runId: null });
    const [dup] = await sql`SELECT outcome, run_status, run_id FROM idem.duplicate_attempts`;
    expect(dup).toEqual({ outcome: "lock_contended", run_status: null, run_id: null });
  });
});

describe("exactly-once effects in the same transaction", () => {
  it("a worker that lost its lease has its transactional effect rolled back", async () => {
    const { sql, connect } = db();
    await createEffectsTable(sql);
    const pool = connect({ max: 2 });
    const slow = createLedger({ sql: pool, workerId: "slow" });
    const fast = createLedger({ sql: connect({ max: 2 }), workerId: "fast" });
    const spec = { task: "t", key: "k", payload: 1, leaseMs: 200 };
    const inside = gate();
    const proceed = gate();
    const slowRun = slow.runOnceInTransaction(spec, async (_ctx, tx) => {
      await applyEffect(tx, "k");
      inside.open();
      await proceed.opened;
      return "slow";
    });
    await inside.opened;
    // Stall the slow worker's heartbeats (its other connection) until the lease expires and is taken over.
    const held = await pool.reserve();
    await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE lease_expires_at < now()`).length > 0, { what: "lease expiry" });
    // The rescuer takes over, then blocks on the effect row the slow worker's transaction still holds.
    const fastRun = fast.runOnceInTransaction(spec, async (_ctx, tx) => {
      await applyEffect(tx, "k");
      return "fast";
    });
    await waitFor(async () => (await sql`SELECT 1 FROM idem.run_events WHERE kind = 'takeover'`).length > 0, { what: "the takeover" });
    held.release();
    proceed.open();
    await expect(slowRun).rejects.toBeInstanceOf(LeaseLostError);
    await expect(fastRun).resolves.toMatchObject({ outcome: "executed", result: "fast" });
    expect(await sql`SELECT key, applied FROM effects`).toEqual([{ key: "k", applied: 1 }]);
  });
});

describe("a transaction whose connection drops", () => {
  it("cannot commit the task's effects outside the transaction (porsager/postgres#1216)", async () => {
    const { sql, connect } = db();
    await createEffectsTable(sql);
    // One connection: the pool's replacement for the killed one is where stray queries would go.
    // No backoff: the redelivery below comes at once and must run, not wait.
    const ledger = createLedger({ sql: connect({ max: 1 }), workerId: "dropped", backoffMs: () => 0 });
    const spec = { task: "charge", key: "invoice-1", payload: { cents: 100 }, maxAttempts: 3 };
    let backend = 0;
    const resume = gate();
    const first = ledger.runOnceInTransaction(spec, async (_ctx, tx) => {
      const [row] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      backend = row!.pid;
      await resume.opened;
      await applyEffect(tx, "invoice-1");
      return "charged";
    });
    await waitFor(() => backend, { what: "the transaction to start" });
    await sql`SELECT pg_terminate_backend(${backend})`;
    await expect(first).rejects.toThrow();

    resume.open();
    // The abandoned callback's insert must be refused, not sent on the replacement connection.
    const second = await ledger.runOnceInTransaction(spec, async (_ctx, tx) => {
      await applyEffect(tx, "invoice-1");
      return "charged again";
    });
    expect(second.outcome).toBe("executed");
    expect(await sql`SELECT key, applied FROM effects`).toEqual([{ key: "invoice-1", applied: 1 }]);
  });

  it("records the completion at the time the work ended, not when the transaction began", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    await ledger.runOnceInTransaction({ task: "t", key: "k", payload: 1 }, async (_ctx, tx) => {
      await tx`SELECT pg_sleep(0.2)`;
      return "done";
    });
    const [run] = await sql<{ duration_ms: number; succeeded_after_start: boolean }[]>`
      SELECT (extract(epoch FROM finished_at - started_at) * 1000)::float8 AS duration_ms,
             (SELECT at FROM idem.run_events WHERE kind = 'succeeded') >= started_at + interval '200 milliseconds' AS succeeded_after_start
      FROM idem.task_runs`;
    expect(run!.duration_ms).toBeGreaterThanOrEqual(200);
    expect(run!.succeeded_after_start).toBe(true);
  });
});

describe("cron slots", () => {
  it("eight instances firing the same slot run it once", async () => {
    const { sql, connect } = db();
    const slot = new Date("2026-11-23T12:00:00.000Z");
    let runs = 0;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        runCronSlot(createLedger({ sql: connect({ max: 1 }), workerId: `instance-${i}` }), { task: "daily_report", slot }, () => ++runs),
      ),
    );
    expect(runs).toBe(1);
    expect(results.filter((r) => r.outcome === "executed")).toHaveLength(1);
    const [run] = await sql`SELECT idempotency_key, scheduled_for, source FROM idem.task_runs`;
    expect(run).toEqual({ idempotency_key: "2026-11-23T12:00:00.000Z", scheduled_for: slot, source: "cron" });
  });
});

describe("startCron", () => {
  it("on three instances runs each slot once, and stop() waits for a slot in flight", async () => {
    const { sql, connect } = db();
    const seen: string[] = [];
    const release = gate();
    const stops = [0, 1, 2].map((i) =>
      startCron(createLedger({ sql: connect({ max: 1 }), workerId: `instance-${i}` }), { task: "tick", everyMs: 250 }, async (ctx) => {
        seen.push(ctx.key);
        await release.opened;
        return i;
      }),
    );
    await waitFor(() => seen.length > 0, { what: "a slot to fire" });
    let stopped = false;
    const stopping = Promise.all(stops.map((stop) => stop())).then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release.open();
    await stopping;
    expect(new Set(seen).size).toBe(seen.length);
    const rows = await sql<{ status: string }[]>`SELECT status::text FROM idem.task_runs WHERE task_name = 'tick'`;
    expect(rows.length).toBe(seen.length);
    expect(rows.every((row) => row.status === "succeeded")).toBe(true);
  });
});

describe("bad input", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["an empty key", { task: "t", key: "", payload: 1 }, "key"],
    ["a key over 512 bytes", { task: "t", key: "é".repeat(257), payload: 1 }, "key"],
    ["a missing task", { key: "k", payload: 1 }, "task"],
    ["a task name with a colon", { task: "a:b", key: "k", payload: 1 }, "task"],
    ["a function payload", { task: "t", key: "k", payload: { f: () => 1 } }, "payload"],
    ["a BigInt payload", { task: "t", key: "k", payload: { n: 10n } }, "payload"],
    ["a NaN payload", { task: "t", key: "k", payload: { n: Number.NaN } }, "payload"],
    ["a Date payload", { task: "t", key: "k", payload: { at: new Date() } }, "payload"],
    ["an undefined payload", { task: "t", key: "k" }, "payload"],
    ["a U+0000 in the payload", { task: "t", key: "k", payload: "a\u0000b" }, "payload"],
    ["a negative lease", { task: "t", key: "k", payload: 1, leaseMs: -5 }, "leaseMs"],
    ["a U+0000 in the key", { task: "t", key: "a\u0000", payload: 1 }, "key"],
    ["a lone high surrogate in the key", { task: "t", key: "a\ud800", payload: 1 }, "key"],
    ["a lone low surrogate in the key", { task: "t", key: "a\udfff", payload: 1 }, "key"],
    ["a lone surrogate in the source", { task: "t", key: "k", payload: 1, source: "q\ud800" }, "source"],
    ["a lone surrogate in a fingerprint field", { task: "t", key: "k", payload: {}, fingerprintFields: ["\udc00"] }, "fingerprintFields.0"],
    ["a fractional lease", { task: "t", key: "k", payload: 1, leaseMs: 1.5 }, "leaseMs"],
  ];
  it.each(cases)("rejects %s with a ValidationError naming the field", async (_name, input, field) => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    let ran = false;
    const error = await ledger
      .runOnce(input as never, () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect((error as ValidationError).message).toMatch(new RegExp(`^${field}`));
    expect(ran).toBe(false);
    const [count] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.task_runs`;
    expect(count!.n).toBe(0);
  });

  it("keys that differ only in unpaired surrogates are refused, not stored as the same U+FFFD key", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    await expect(ledger.runOnce({ task: "t", key: "a\uFFFD", payload: 1 }, () => "replacement char")).resolves.toMatchObject({ outcome: "executed" });
    for (const key of ["a\ud800", "a\udfff"]) {
      await expect(ledger.runOnce({ task: "t", key, payload: 1 }, () => "never")).rejects.toBeInstanceOf(ValidationError);
    }
    // A well-formed pair is fine and is its own key.
    await expect(ledger.runOnce({ task: "t", key: "a😀", payload: 1 }, () => "emoji")).resolves.toMatchObject({ outcome: "executed" });
  });

  it.each([
    ["workerId", { workerId: "w\ud800" }],
    ["workerId", { workerId: "" }],
    ["lockPrefix", { lockPrefix: "p\u0000" }],
  ])("createLedger refuses a %s Postgres or Redis cannot store as given", (field, options) => {
    const { sql } = db();
    let error: unknown = null;
    try {
      createLedger({ sql, ...options });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it.each([
    ["runOnce", (l: Ledger) => l.runOnce({ task: "t", key: "k", payload: 1 }, undefined as never)],
    ["runOnceInTransaction", (l: Ledger) => l.runOnceInTransaction({ task: "t", key: "k", payload: 1 }, "not a function" as never)],
  ])("%s without a function throws a ValidationError naming fn and claims nothing (the key stays unspent)", async (_name, call) => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const error = await call(ledger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("fn");
    const [count] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.task_runs`;
    expect(count!.n).toBe(0);
    await expect(ledger.runOnce({ task: "t", key: "k", payload: 1 }, () => "ran")).resolves.toMatchObject({ outcome: "executed" });
  });

  it("claimRun with a lease token that is not a UUID throws a ValidationError naming leaseToken", async () => {
    const { sql } = db();
    const error = await createLedger({ sql }).claimRun({ task: "t", key: "k", payload: 1 }, "not-a-uuid").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("leaseToken");
  });

  it.each([
    ["limit", { tasks: ["t"], limit: -1 }],
    ["limit", { tasks: ["t"], limit: 1.5 }],
    ["tasks.0", { tasks: ["a:b"], limit: 1 }],
  ])("claimPending refuses a bad %s with a ValidationError", async (field, request) => {
    const { sql } = db();
    const error = await createLedger({ sql }).claimPending(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it("fingerprintFields reads only the payload's own fields, not inherited ones", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const spec = { task: "t", key: "k", fingerprintFields: ["constructor", "toString"] };
    await ledger.runOnce({ ...spec, payload: {} }, () => "first");
    // Both payloads lack the fields: the same operation ({constructor: null, toString: null}).
    await expect(ledger.runOnce({ ...spec, payload: { other: 1 } }, () => "second")).resolves.toMatchObject({ outcome: "replayed" });
    await expect(ledger.runOnce({ ...spec, payload: { constructor: "x" } }, () => "third")).rejects.toBeInstanceOf(PayloadMismatchError);
  });

  it.each([
    ["everyMs", () => cronSlot(0)],
    ["everyMs", () => cronSlot(-5)],
    ["everyMs", () => cronSlot(1.5)],
    ["at", () => cronSlot(1000, new Date("nonsense"))],
    ["slot", () => cronKey(new Date(Number.NaN))],
    ["slot", () => cronKey("2026-01-01" as unknown as Date)],
  ])("cron helpers refuse a bad %s with a ValidationError", (field, call) => {
    let error: unknown = null;
    try {
      call();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it.each([
    ["everyMs", { task: "tick", everyMs: 0 }],
    ["everyMs", { task: "tick", everyMs: Number.NaN }],
    ["task", { task: "", everyMs: 1000 }],
    ["leaseMs", { task: "tick", everyMs: 1000, leaseMs: 5 }],
  ])("startCron refuses a bad %s before arming a timer", (field, schedule) => {
    const { sql } = db();
    let error: unknown = null;
    try {
      startCron(createLedger({ sql }), schedule, () => 1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it("startCron and runOnce refuse a fn that is not a function, naming fn", async () => {
    const { sql } = db();
    const notFn = "nope" as unknown as () => number;
    expect(() => startCron(createLedger({ sql }), { task: "tick", everyMs: 1000 }, notFn)).toThrow(new ValidationError("fn", "must be a function"));
    await expect(createLedger({ sql }).runOnce({ task: "t", key: "k", payload: 1 }, notFn)).rejects.toThrow(new ValidationError("fn", "must be a function"));
  });

  it("rejects a circular payload", async () => {
    const { sql } = db();
    const payload: Record<string, unknown> = {};
    payload.self = payload;
    await expect(createLedger({ sql }).runOnce({ task: "t", key: "k", payload }, () => 1)).rejects.toThrow(/payload: .*circular/);
  });

  it("rejects a result that is not JSON, and records the failure", async () => {
    const { sql } = db();
    await expect(createLedger({ sql }).runOnce({ task: "t", key: "k", payload: 1 }, () => ({ at: new Date() }))).rejects.toThrow(/^result: /);
    const [run] = await sql`SELECT status, error->>'class' AS class FROM idem.task_runs`;
    expect(run).toEqual({ status: "failed", class: "ValidationError" });
  });
});
