import { randomBytes } from "node:crypto";
import type postgres from "postgres";
import { createLedger, type Json, type Ledger, type Worker } from "@/lib/ledger";
import { waitFor } from "../helpers/wait";

/**
 * Runs for the run-operation browser tests (retry, abandon, cancel, audit), written through the SDK
 * under task names unique to each call, so the demo workload beside them never mixes in.
 */
export function uniqueTask(what: string): string {
  return `e2e_${randomBytes(4).toString("hex")}.${what}`;
}

export function e2eLedger(sql: postgres.Sql, workerId = "e2e-worker"): Ledger {
  return createLedger({ sql, workerId, redis: null });
}

/** A run that failed for good, as a worker leaves it. */
export async function failedRun(ledger: Ledger, task: string, key: string, payload: Json): Promise<number> {
  let id = 0;
  await ledger
    .runOnce({ task, key, payload }, (ctx) => {
      id = ctx.runId;
      throw new Error("421 4.7.0 smtp.example.net: Too many concurrent SMTP connections; try again later");
    })
    .catch(() => undefined);
  if (!id) throw new Error("seed: expected the run to execute and fail");
  return id;
}

/** A run waiting out its backoff (a first attempt failed, one is left): pending, for a task nobody executes here. */
export async function pendingRun(ledger: Ledger, task: string, key: string): Promise<number> {
  let id = 0;
  await ledger
    .runOnce({ task, key, payload: { key }, maxAttempts: 2 }, (ctx) => {
      id = ctx.runId;
      throw new Error("ECONNRESET");
    })
    .catch(() => undefined);
  if (!id) throw new Error("seed: expected the run to execute");
  return id;
}

/** A run whose worker stopped heartbeating: running, lease expired. */
export async function stuckRun(ledger: Ledger, task: string, key: string): Promise<number> {
  const claim = await ledger.claimRun({ task, key, payload: { key }, leaseMs: 200 });
  if (claim.outcome !== "claimed") throw new Error("seed: expected a claim");
  await waitFor(async () => (await ledger.sql`SELECT 1 FROM idem.task_runs WHERE id = ${claim.run.id} AND lease_expires_at < now()`).length > 0, {
    what: "the lease to expire",
  });
  return claim.run.id;
}

/** An executor of the test's own task in the test process: the retries made in the browser run here. */
export async function startTestWorker(ledger: Ledger, task: string, handler: (key: string) => Json = (key) => ({ delivered: true, key })): Promise<Worker> {
  const worker = ledger.startWorker({ handlers: { [task]: (ctx) => handler(ctx.key) }, pollMs: 500, onError: () => undefined });
  await worker.ready;
  return worker;
}

export async function childrenOf(sql: postgres.Sql, runId: number) {
  return sql<{ id: number; key: string; status: string; payload: Json; lease_owner: string | null }[]>`
    SELECT id::int, idempotency_key AS key, status::text, payload, lease_owner FROM idem.task_runs WHERE retry_of = ${runId} ORDER BY id`;
}
