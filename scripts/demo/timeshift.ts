import type postgres from "postgres";

export interface ShiftTarget {
  task: string;
  key: string;
  /** When the run should appear to have been created. */
  at: number;
}

/** A run is still where the seed wrote it while it sits later than its target by more than this. */
const UNSHIFTED_MARGIN = "30 seconds";

/**
 * Demo-only time travel. The backfill writes its few thousand runs through the real SDK in a few
 * seconds, so every timestamp says "just now"; the console's charts need days of history. This moves
 * each run, with its events and duplicate attempts, back by one offset per run (target minus its
 * created_at), so durations, heartbeats and the order of everything within a run stay as they really
 * happened. Nothing outside the demo does this: the ledger's own statements only ever write now().
 *
 * Cron runs were submitted with their historical slot as key and scheduled_for, so scheduled_for is
 * already right and is not moved; their target is the slot plus the scheduler's delay.
 *
 * Idempotent: a run already moved sits at its target (or, once the plan's day grid has moved on, a
 * whole number of days before it) and is left alone; a run written by a seed that was interrupted
 * before this step is still later than its target and gets moved. One transaction, so a crash here
 * leaves either the whole shift or none of it.
 */
export async function shiftIntoPast(sql: postgres.Sql, targets: readonly ShiftTarget[]): Promise<number> {
  if (targets.length === 0) return 0;
  const rows = JSON.stringify(targets.map((t) => ({ task: t.task, key: t.key, at: new Date(t.at).toISOString() })));
  return sql.begin(async (tx) => {
    await tx`
      CREATE TEMP TABLE demo_shift (
        run_id bigint PRIMARY KEY, task_name text NOT NULL, idempotency_key text NOT NULL, delta interval NOT NULL
      ) ON COMMIT DROP`;
    const moved = await tx`
      INSERT INTO demo_shift (run_id, task_name, idempotency_key, delta)
      SELECT r.id, r.task_name, r.idempotency_key, t.at - r.created_at
      FROM jsonb_to_recordset(${rows}::text::jsonb) AS t(task text, key text, at timestamptz)
      JOIN idem.task_runs r ON r.task_name = t.task AND r.idempotency_key = t.key
      WHERE r.created_at > t.at + ${UNSHIFTED_MARGIN}::interval`;
    if (moved.count === 0) return 0;
    await tx`
      UPDATE idem.task_runs r SET
        created_at = r.created_at + s.delta,
        updated_at = r.updated_at + s.delta,
        started_at = r.started_at + s.delta,
        finished_at = r.finished_at + s.delta,
        heartbeat_at = r.heartbeat_at + s.delta,
        lease_expires_at = r.lease_expires_at + s.delta,
        available_at = r.available_at + s.delta,
        last_duplicate_at = r.last_duplicate_at + s.delta
      FROM demo_shift s
      WHERE r.id = s.run_id`;
    await tx`UPDATE idem.run_events e SET at = e.at + s.delta FROM demo_shift s WHERE e.run_id = s.run_id`;
    // Events also carry instants in their detail (the lease they granted, when a retry is due); the
    // timeline shows them, so they move with the run.
    for (const field of ["lease_expires_at", "available_at", "previous_lease_expired_at"]) {
      await tx`
        UPDATE idem.run_events e
        SET detail = jsonb_set(e.detail, ARRAY[${field}::text], to_jsonb((e.detail ->> ${field}::text)::timestamptz + s.delta))
        FROM demo_shift s
        WHERE e.run_id = s.run_id AND jsonb_typeof(e.detail -> ${field}::text) = 'string'`;
    }
    // By key rather than run_id: an attempt turned away by the Redis lock before the run existed has none.
    await tx`
      UPDATE idem.duplicate_attempts d SET attempted_at = d.attempted_at + s.delta
      FROM demo_shift s
      WHERE d.task_name = s.task_name AND d.idempotency_key = s.idempotency_key`;
    return moved.count;
  });
}
