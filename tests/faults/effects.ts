import { setTimeout as delay } from "node:timers/promises";
import postgres from "postgres";
import type { Ledger, RunOnceResult } from "@/lib/ledger";
import { FENCED_TASK, TX_TASK, type Sabotage, type Submission, type TaskResult } from "./protocol";

/**
 * The task bodies the fault suite runs, shared by the worker processes and the final sweeper, and the
 * tables they write. Both bodies deliberately ignore the abort signal: they behave like the worst
 * real-world task, one that carries on writing after a pause cost it its lease, so only the ledger's
 * compare-and-set (transactional keys) or the fencing check (fenced keys) stands between a stale
 * worker and a second effect.
 */

export const EFFECTS_SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS faults;
-- Written in the same transaction as the run's completion (runOnceInTransaction). Deliberately no
-- unique constraint on key: a second effect must be visible as a second row, not hidden as an error.
CREATE TABLE IF NOT EXISTS faults.tx_effects (
  id bigserial PRIMARY KEY,
  key text NOT NULL,
  run_id bigint NOT NULL,
  fencing_token bigint NOT NULL,
  worker_id text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS tx_effects_key_idx ON faults.tx_effects (key);
-- A downstream resource outside the ledger's transaction that checks fencing tokens: it keeps the
-- highest token it has accepted per key and refuses writes carrying a lower or equal one.
CREATE TABLE IF NOT EXISTS faults.fenced_effects (
  key text PRIMARY KEY,
  fencing_token bigint NOT NULL,
  run_id bigint,
  worker_id text,
  writes integer NOT NULL DEFAULT 0,
  written_at timestamptz
);
-- Every write the resource was asked to make, accepted or refused, with the token it held before.
CREATE TABLE IF NOT EXISTS faults.fenced_log (
  id bigserial PRIMARY KEY,
  key text NOT NULL,
  fencing_token bigint NOT NULL,
  previous_token bigint NOT NULL,
  run_id bigint NOT NULL,
  worker_id text NOT NULL,
  accepted boolean NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS fenced_log_key_idx ON faults.fenced_log (key, id);
`;

/**
 * A postgres.js pool for the suite's processes: lib/db.ts's settings plus fetch_types: false.
 * postgres.js 3.4.9 discards the promise of the type query it runs first on every new connection
 * (porsager/postgres#1192): a server that goes away during it kills the process with an unhandled
 * rejection. What the suite calls (runOnce, runOnceInTransaction, its own queries) sends no array
 * parameters, so nothing needs the types, and an unhandled rejection that still happens is a finding,
 * not noise.
 */
export function connectPostgres(url: string, options: { max: number; applicationName: string }): postgres.Sql {
  return postgres(url, {
    max: options.max,
    idle_timeout: 30,
    connect_timeout: 5,
    fetch_types: false,
    onnotice: () => undefined,
    connection: { application_name: options.applicationName },
  });
}

/** The downstream resource refused a write: a newer holder of the key has already written. */
export class FencedOutError extends Error {
  constructor(
    readonly key: string,
    readonly fencingToken: number,
    readonly currentToken: number,
  ) {
    super(`write for ${key} with fencing token ${fencingToken} refused: the resource already holds token ${currentToken}`);
    this.name = "FencedOutError";
  }
}

/**
 * The fenced write, as a downstream service would implement it: under a row lock, accept the write only
 * if its token is higher than the highest accepted so far, and log the decision either way.
 */
export async function fencedWrite(
  sql: postgres.Sql,
  write: { key: string; fencingToken: number; runId: number; workerId: string },
  sabotage: Sabotage,
): Promise<{ accepted: boolean; previousToken: number }> {
  const ignoreFencing = sabotage === "no-fencing";
  return sql.begin(async (tx) => {
    await tx`INSERT INTO faults.fenced_effects (key, fencing_token) VALUES (${write.key}, 0) ON CONFLICT (key) DO NOTHING`;
    const [row] = await tx<{ fencing_token: string }[]>`
      SELECT fencing_token FROM faults.fenced_effects WHERE key = ${write.key} FOR UPDATE`;
    const previousToken = Number(row?.fencing_token ?? 0);
    const updated = await tx`
      UPDATE faults.fenced_effects
      SET fencing_token = ${write.fencingToken}, run_id = ${write.runId}, worker_id = ${write.workerId},
          writes = writes + 1, written_at = clock_timestamp()
      WHERE key = ${write.key} AND (fencing_token < ${write.fencingToken} OR ${ignoreFencing}::boolean)`;
    const accepted = updated.count === 1;
    await tx`
      INSERT INTO faults.fenced_log (key, fencing_token, previous_token, run_id, worker_id, accepted)
      VALUES (${write.key}, ${write.fencingToken}, ${previousToken}, ${write.runId}, ${write.workerId}, ${accepted})`;
    return { accepted, previousToken };
  });
}

/** Same payload for every delivery of a key, so every duplicate has the same fingerprint. */
export function payloadFor(sub: Pick<Submission, "key" | "kind">) {
  return { key: sub.key, kind: sub.kind };
}

/** Where a probe delivery waits (see Submission.probe): the attempt it is, about to make its last write. */
export type Hold = (attempt: { runId: number; fencingToken: number }) => Promise<void>;

/**
 * Submits one delivery through the SDK: runOnceInTransaction for "tx" keys (effect row and completion
 * in one transaction), runOnce with a fenced downstream write for "fenced" keys. `hold`, if given, is
 * awaited right before the fenced write, or for a transactional key after its effect row and right
 * before the completion.
 */
export function submit(
  ledger: Ledger,
  sql: postgres.Sql,
  sub: Pick<Submission, "key" | "kind" | "leaseMs" | "workMs" | "effectFirst">,
  sabotage: Sabotage,
  hold?: Hold,
): Promise<RunOnceResult<TaskResult>> {
  const spec = {
    task: sub.kind === "tx" ? TX_TASK : FENCED_TASK,
    key: sub.key,
    payload: payloadFor(sub),
    leaseMs: sub.leaseMs,
    // Connection errors during a Postgres restart fail an attempt; they must not spend the key.
    maxAttempts: 100,
    source: "faults",
  };
  const workerId = ledger.workerId;
  if (sub.kind === "tx") {
    return ledger.runOnceInTransaction<TaskResult>(spec, async (ctx, tx) => {
      const writer = sabotage === "effect-outside-tx" ? sql : tx;
      const write = () => writer`
        INSERT INTO faults.tx_effects (key, run_id, fencing_token, worker_id)
        VALUES (${sub.key}, ${ctx.runId}, ${ctx.fencingToken}, ${workerId})`;
      // Either way a pause, a kill or a Postgres restart lands inside the open transaction.
      if (sub.effectFirst) await write();
      if (sub.workMs > 0) await delay(sub.workMs);
      if (!sub.effectFirst) await write();
      await hold?.({ runId: ctx.runId, fencingToken: ctx.fencingToken });
      return { token: ctx.fencingToken, worker: workerId };
    });
  }
  return ledger.runOnce<TaskResult>(spec, async (ctx) => {
    if (sub.workMs > 0) await delay(sub.workMs);
    await hold?.({ runId: ctx.runId, fencingToken: ctx.fencingToken });
    const write = await fencedWrite(sql, { key: sub.key, fencingToken: ctx.fencingToken, runId: ctx.runId, workerId }, sabotage);
    if (!write.accepted) throw new FencedOutError(sub.key, ctx.fencingToken, write.previousToken);
    return { token: ctx.fencingToken, worker: workerId };
  });
}

const TRANSIENT_CODES = new Set([
  // postgres.js
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  // Node sockets
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  // Postgres: admin_shutdown, crash_shutdown, cannot_connect_now, connection_exception class
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
]);

/** A connection-level failure (server restarting or gone): the operation may be retried as a whole. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
  if (error instanceof AggregateError) return error.errors.some(isTransient);
  return error.cause !== undefined && error.cause !== error && isTransient(error.cause);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return `${error.name}${typeof code === "string" ? ` [${code}]` : ""}: ${error.message}`;
  }
  return String(error);
}
