import { randomBytes } from "node:crypto";
import type postgres from "postgres";
import { createLedger, PayloadMismatchError } from "@/lib/ledger";

/**
 * Runs and duplicate attempts for the Overview and Duplicates browser tests, written through the real
 * SDK under a task name and source unique to this call, so the demo workload beside them never mixes in.
 */
export interface StatsScenario {
  task: string;
  source: string;
  worker: string;
  /** The key that was replayed and then reused with another payload. */
  mismatchKey: string;
  mismatchRunId: number;
}

export function uniqueTag(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

export async function seedStatsScenario(
  sql: postgres.Sql,
  options: { failed: number; succeeded: number; replays?: number; tag?: string },
): Promise<StatsScenario> {
  const tag = options.tag ?? uniqueTag("e2e_stats");
  const task = `${tag}.sync`;
  const source = `${tag}-queue`;
  const worker = `${tag}-worker`;
  const ledger = createLedger({ sql, workerId: worker, redis: null, logger: { warn: () => undefined } });
  for (let i = 0; i < options.failed; i++) {
    await ledger
      .runOnce({ task, key: `fail-${i}`, payload: { i }, source }, () => {
        throw new Error(`upstream refused ${i}`);
      })
      .catch((error: unknown) => {
        if (!(error instanceof Error) || !error.message.startsWith("upstream refused")) throw error;
      });
  }
  for (let i = 0; i < options.succeeded; i++) await ledger.runOnce({ task, key: `ok-${i}`, payload: { i }, source }, () => ({ ok: i }));

  const mismatchKey = "ok-0";
  const first = await ledger.runOnce({ task, key: mismatchKey, payload: { i: 0 }, source }, () => null);
  if (first.outcome !== "replayed") throw new Error(`seed: expected a replay, got ${first.outcome}`);
  for (let i = 1; i < (options.replays ?? 1); i++) await ledger.runOnce({ task, key: mismatchKey, payload: { i: 0 }, source }, () => null);
  let mismatchRunId = 0;
  await ledger.runOnce({ task, key: mismatchKey, payload: { i: 0, amount: 2 }, source }, () => null).catch((error: unknown) => {
    if (!(error instanceof PayloadMismatchError)) throw error;
    mismatchRunId = error.runId;
  });
  if (!mismatchRunId) throw new Error("seed: expected a payload mismatch");
  return { task, source, worker, mismatchKey, mismatchRunId };
}
