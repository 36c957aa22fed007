import { randomBytes, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type postgres from "postgres";
import { createLedger, LeaseLostError, PayloadMismatchError } from "@/lib/ledger";
import { acquireLock, lockKeyFor } from "@/lib/locks/locks";
import { waitFor } from "../helpers/wait";

/**
 * Runs for the Runs and Run detail browser tests, written through the real SDK wherever the SDK can
 * produce the state, under task names unique to this call so the demo workload running beside them
 * never mixes in. Retries with lineage are written with SQL: the retry operation does not exist yet.
 */
export interface RunsScenario {
  tag: string;
  /** 30 succeeded runs, keys welcome-00 … welcome-29, alternating workers. */
  emailTask: string;
  chargeTask: string;
  workerA: string;
  workerB: string;
  ids: {
    mismatch: number;
    failed: number;
    takeover: number;
    stuck: number;
    live: number;
    long: number;
    retry1: number;
    retry2: number;
    retrySibling: number;
  };
  keys: { mismatch: string; live: string };
}

export async function seedRunsScenario(sql: postgres.Sql, redis: Redis | null): Promise<RunsScenario> {
  const tag = `e2e_${randomBytes(4).toString("hex")}`;
  const emailTask = `${tag}.email`;
  const chargeTask = `${tag}.charge`;
  const workerA = `${tag}-worker-a`;
  const workerB = `${tag}-worker-b`;
  const a = createLedger({ sql, workerId: workerA, redis: null });
  const b = createLedger({ sql, workerId: workerB, redis: null });

  for (let i = 0; i < 30; i++) {
    const ledger = i % 2 === 0 ? a : b;
    await ledger.runOnce({ task: emailTask, key: `welcome-${String(i).padStart(2, "0")}`, payload: { to: `user${i}@example.com` } }, () => ({ sent: i }));
  }

  // A key with LIKE wildcards in it, replayed once and then reused for a different payload.
  const mismatchKey = "invoice-%_2026-0042";
  const order = { invoice: 42, cents: 1999, currency: "EUR", lines: [{ sku: "A-1", qty: 1 }], note: "first" };
  const mismatched = await a.runOnce({ task: chargeTask, key: mismatchKey, payload: order }, () => ({ charged: 1999 }));
  if (mismatched.outcome !== "executed") throw new Error("seed: expected the charge to run");
  await b.runOnce({ task: chargeTask, key: mismatchKey, payload: order }, () => ({ charged: 0 }));
  const changed = { ...order, cents: 2999, lines: [{ sku: "A-1", qty: 2 }], note: "<img src=x onerror=alert(1)>", coupon: "SPRING" };
  await b.runOnce({ task: chargeTask, key: mismatchKey, payload: changed }, () => null).catch((error: unknown) => {
    if (!(error instanceof PayloadMismatchError)) throw error;
  });

  // A failure with a stack trace.
  let failedId = 0;
  await a
    .runOnce({ task: chargeTask, key: "invoice-fail", payload: { invoice: 7 } }, (ctx) => {
      failedId = ctx.runId;
      throw new Error("card declined: insufficient funds");
    })
    .catch(() => undefined);

  // A takeover: A's lease expires, B takes the key over with fencing token 2, A's late heartbeat is refused.
  const claimA = await a.claimRun({ task: chargeTask, key: "invoice-takeover", payload: { invoice: 8 }, leaseMs: 150 });
  if (claimA.outcome !== "claimed") throw new Error("seed: expected a claim");
  await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${claimA.run.id} AND lease_expires_at < now()`).length > 0, {
    what: "the first lease to expire",
  });
  const claimB = await b.claimRun({ task: chargeTask, key: "invoice-takeover", payload: { invoice: 8 }, leaseMs: 30_000 });
  if (claimB.outcome !== "claimed") throw new Error("seed: expected a takeover");
  await a.heartbeat(claimA.lease).catch((error: unknown) => {
    if (!(error instanceof LeaseLostError)) throw error;
  });
  let leaseB = await b.heartbeat(claimB.lease);
  leaseB = await b.heartbeat(leaseB);
  await b.completeRun(leaseB, { charged: true, fencingToken: leaseB.fencingToken });

  // Stuck: claimed, then the worker vanished.
  const stuck = await a.claimRun({ task: chargeTask, key: "invoice-stuck", payload: { invoice: 9 }, leaseMs: 100 });
  if (stuck.outcome !== "claimed") throw new Error("seed: expected a claim");
  await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${stuck.run.id} AND lease_expires_at < now()`).length > 0, {
    what: "the stuck lease to expire",
  });

  // Running, holding a live lease and its Redis lock, as runOnce does.
  const liveKey = "invoice-live";
  const live = await b.claimRun({ task: chargeTask, key: liveKey, payload: { invoice: 10 }, leaseMs: 600_000 });
  if (live.outcome !== "claimed") throw new Error("seed: expected a claim");
  if (redis) await acquireLock(redis, lockKeyFor(chargeTask, liveKey), live.lease.token, 600_000);

  // A two-hour run with a heartbeat every 10 s, moved into the past (test setup: the SDK cannot age a run).
  const long = await a.claimRun({ task: chargeTask, key: "invoice-batch", payload: { batch: 1 }, leaseMs: 30_000 });
  if (long.outcome !== "claimed") throw new Error("seed: expected a claim");
  await sql`UPDATE idem.task_runs SET created_at = now() - interval '2 hours', started_at = now() - interval '2 hours' WHERE id = ${long.run.id}`;
  await sql`UPDATE idem.run_events SET at = now() - interval '2 hours' WHERE run_id = ${long.run.id}`;
  await sql`
    INSERT INTO idem.run_events (run_id, kind, actor, fencing_token, detail, at)
    SELECT ${long.run.id}, 'heartbeat', ${workerA}, 1,
           jsonb_build_object('lease_expires_at', now() - interval '2 hours' + g * interval '10 seconds' + interval '30 seconds'),
           now() - interval '2 hours' + g * interval '10 seconds'
    FROM generate_series(1, 715) g`;
  await a.completeRun(long.lease, { rows: 1_000_000 });

  // Lineage (test setup, SQL): the failed run was retried under new keys, one retry retried again.
  const retry = async (parent: number, key: string, status: "failed" | "succeeded") => {
    const rows = await sql<Array<{ id: string }>>`
      INSERT INTO idem.task_runs (id, root_run_id, retry_of, task_name, idempotency_key, fingerprint, payload, status, attempt,
                                  lease_owner, lease_token, created_at, started_at, finished_at, source, created_by, error)
      SELECT n.id, p.root_run_id, p.id, p.task_name, ${key}, p.fingerprint, p.payload, ${status}::idem.run_status, 1,
             ${workerB}, ${randomUUID()}::uuid, now(), now(), now(), 'console', 'operator',
             CASE WHEN ${status} = 'failed' THEN '{"message": "card declined again", "class": "Error", "stack": null}'::jsonb END
      FROM (SELECT nextval('idem.task_runs_id_seq') AS id) n, idem.task_runs p WHERE p.id = ${parent}
      RETURNING id`;
    return Number(rows[0]!.id);
  };
  const retry1 = await retry(failedId, "invoice-fail.retry-1", "failed");
  const retrySibling = await retry(failedId, "invoice-fail.retry-1b", "failed");
  const retry2 = await retry(retry1, "invoice-fail.retry-2", "succeeded");

  return {
    tag,
    emailTask,
    chargeTask,
    workerA,
    workerB,
    ids: {
      mismatch: mismatched.run.id,
      failed: failedId,
      takeover: claimA.run.id,
      stuck: stuck.run.id,
      live: live.run.id,
      long: long.run.id,
      retry1,
      retry2,
      retrySibling,
    },
    keys: { mismatch: mismatchKey, live: liveKey },
  };
}
