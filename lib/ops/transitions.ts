import "server-only";
import type postgres from "postgres";
import type { RunStatus } from "@/lib/ledger/schema";

/**
 * Operator transitions of a run other than retry. Each is one compare-and-set statement with its
 * run_events row: the WHERE clause is what the operator saw, and a stale view matches no row and
 * changes nothing. When nothing matched, a read of the run explains why.
 */

type Row = Record<string, unknown>;

export type TransitionResult =
  | { outcome: "done"; runId: number; message: string }
  | { outcome: "refused"; runId: number; why: string; message: string };

export interface AbandonRequest {
  runId: number;
  /** The lease token the operator saw: a worker that took the run over since has another one. */
  leaseToken: string;
  actor: string;
  reason: string;
}

/**
 * Ends a running run whose lease expired and whose worker is gone: it becomes failed with an error of
 * class Abandoned, so it can be retried under a new key. Refused while the lease is live or if the run
 * was taken over since (its lease token changed). The late worker, if it comes back, finds the run no
 * longer running: its heartbeat, complete and fail all match no row and it gets LeaseLostError.
 */
export async function abandonRun(sql: postgres.Sql, request: AbandonRequest): Promise<TransitionResult> {
  const message = `Marked abandoned by ${request.actor}: ${request.reason}`;
  const rows = await sql<Row[]>`
    WITH ended AS (
      UPDATE idem.task_runs
      SET status = 'failed',
          error = jsonb_build_object('class', 'Abandoned', 'message', ${message}::text, 'stack', NULL,
                                     'previous_owner', lease_owner, 'lease_expired_at', lease_expires_at),
          finished_at = now(), lease_expires_at = NULL, updated_at = now()
      WHERE id = ${request.runId} AND status = 'running' AND lease_token = ${request.leaseToken}::uuid AND lease_expires_at < now()
      RETURNING *
    ), event AS (
      INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail)
      SELECT id, 'abandoned', 'running', 'failed', ${request.actor}, fencing_token,
             jsonb_build_object('reason', ${request.reason}::text, 'previous_owner', error->'previous_owner',
                                'lease_token', lease_token, 'lease_expired_at', error->'lease_expired_at')
      FROM ended
    )
    SELECT id FROM ended`;
  if (rows[0]) return { outcome: "done", runId: request.runId, message: `Run #${request.runId} marked abandoned (now failed); it can be retried.` };

  const current = await sql<Row[]>`
    SELECT status, lease_token::text AS lease_token, lease_owner, lease_expires_at < now() AS expired
    FROM idem.task_runs WHERE id = ${request.runId}`;
  const run = current[0];
  const refused = (why: string, text: string): TransitionResult => ({ outcome: "refused", runId: request.runId, why, message: text });
  if (!run) return refused("not_found", `Run #${request.runId} does not exist.`);
  if (run.status !== "running") return refused("not_running", `Refused: run #${request.runId} is ${String(run.status)} now, no longer running. Nothing was changed.`);
  if (run.lease_token !== request.leaseToken) {
    return refused("token_changed", `Refused: run #${request.runId} was taken over by ${String(run.lease_owner ?? "another worker")} since you looked (new lease token). Nothing was changed.`);
  }
  return refused("lease_live", `Refused: the lease of run #${request.runId} is live again (${String(run.lease_owner ?? "its worker")} renewed it), so its worker is not gone. Nothing was changed.`);
}

export interface CancelRequest {
  runId: number;
  /**
   * The attempt the operator saw: a run that went pending -> running -> pending since (a worker
   * claimed it and it failed into a retry) has a higher one, and is not the run they decided about.
   * Omitted (an API client that sends none), only the status is compared.
   */
  seenAttempt?: number;
  actor: string;
  reason: string;
}

/** Cancels a run that is still pending (a retry nobody has started, a run waiting out its backoff). */
export async function cancelRun(sql: postgres.Sql, request: CancelRequest): Promise<TransitionResult> {
  const message = `Cancelled by ${request.actor}: ${request.reason}`;
  const rows = await sql<Row[]>`
    WITH cancelled AS (
      UPDATE idem.task_runs
      SET status = 'cancelled', error = jsonb_build_object('class', 'Cancelled', 'message', ${message}::text, 'stack', NULL),
          finished_at = now(), updated_at = now()
      WHERE id = ${request.runId} AND status = 'pending' AND (${request.seenAttempt ?? null}::int IS NULL OR attempt = ${request.seenAttempt ?? null}::int)
      RETURNING *
    ), event AS (
      INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail)
      SELECT id, 'cancelled', 'pending', 'cancelled', ${request.actor}, fencing_token, jsonb_build_object('reason', ${request.reason}::text)
      FROM cancelled
    )
    SELECT id FROM cancelled`;
  if (rows[0]) return { outcome: "done", runId: request.runId, message: `Run #${request.runId} cancelled; it will not run.` };
  const current = await sql<{ status: RunStatus; attempt: number }[]>`SELECT status, attempt FROM idem.task_runs WHERE id = ${request.runId}`;
  const status = current[0]?.status;
  if (!status) return { outcome: "refused", runId: request.runId, why: "not_found", message: `Run #${request.runId} does not exist.` };
  if (status === "pending" && request.seenAttempt !== undefined && current[0]!.attempt !== request.seenAttempt) {
    return {
      outcome: "refused",
      runId: request.runId,
      why: "state_changed",
      message: `Refused: run #${request.runId} ran since you looked (attempt ${current[0]!.attempt}, you saw ${request.seenAttempt}) and is pending again for another attempt. Nothing was changed; reload and decide again.`,
    };
  }
  return {
    outcome: "refused",
    runId: request.runId,
    why: "not_pending",
    message: `Refused: run #${request.runId} is ${status} now; only a pending run can be cancelled.${status === "running" ? " A worker picked it up." : ""}`,
  };
}
