-- The rollups now count only finished runs (succeeded, failed, cancelled); pending and running runs
-- are few, sit in partial indexes, and are counted live by the readers (lib/ledger/stats.ts). A run
-- reaches a finished status once, so the write path journals one row per run, at its completion,
-- instead of three (+1 running at the claim, -1 running / +1 succeeded at the completion), and the
-- claim fires no trigger at all (the WHEN clause is checked before any function is called).
CREATE OR REPLACE FUNCTION "idem"."journal_run_stats"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.status IN ('succeeded', 'failed', 'cancelled') THEN
    INSERT INTO idem.run_stats_journal (bucket, task_name, status, delta)
    VALUES (date_trunc('minute', OLD.created_at, 'UTC'), OLD.task_name, OLD.status, -1);
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.status IN ('succeeded', 'failed', 'cancelled') THEN
    INSERT INTO idem.run_stats_journal (bucket, task_name, status, delta)
    VALUES (date_trunc('minute', NEW.created_at, 'UTC'), NEW.task_name, NEW.status, 1);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
DROP TRIGGER "run_stats_on_insert" ON "idem"."task_runs";
--> statement-breakpoint
DROP TRIGGER "run_stats_on_update" ON "idem"."task_runs";
--> statement-breakpoint
DROP TRIGGER "run_stats_on_delete" ON "idem"."task_runs";
--> statement-breakpoint
CREATE TRIGGER "run_stats_on_insert" AFTER INSERT ON "idem"."task_runs"
  FOR EACH ROW WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled'))
  EXECUTE FUNCTION "idem"."journal_run_stats"();
--> statement-breakpoint
CREATE TRIGGER "run_stats_on_update" AFTER UPDATE OF "status", "created_at", "task_name" ON "idem"."task_runs"
  FOR EACH ROW
  WHEN ((OLD.status IN ('succeeded', 'failed', 'cancelled') OR NEW.status IN ('succeeded', 'failed', 'cancelled'))
        AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.task_name IS DISTINCT FROM NEW.task_name))
  EXECUTE FUNCTION "idem"."journal_run_stats"();
--> statement-breakpoint
CREATE TRIGGER "run_stats_on_delete" AFTER DELETE ON "idem"."task_runs"
  FOR EACH ROW WHEN (OLD.status IN ('succeeded', 'failed', 'cancelled'))
  EXECUTE FUNCTION "idem"."journal_run_stats"();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "idem"."rebuild_stats"() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  horizon timestamptz := idem.stats_minute_horizon();
BEGIN
  LOCK TABLE idem.task_runs, idem.duplicate_attempts IN SHARE ROW EXCLUSIVE MODE;
  PERFORM pg_advisory_xact_lock(501415938);
  TRUNCATE idem.run_stats_journal, idem.run_stats_minute, idem.run_stats_hour,
           idem.duplicate_stats_journal, idem.duplicate_stats_minute, idem.duplicate_stats_hour;

  INSERT INTO idem.run_stats_hour (bucket, task_name, status, runs)
  SELECT date_trunc('hour', r.created_at, 'UTC'), r.task_name, r.status, count(*)
  FROM idem.task_runs r WHERE r.status IN ('succeeded', 'failed', 'cancelled') GROUP BY 1, 2, 3;
  INSERT INTO idem.run_stats_minute (bucket, task_name, status, runs)
  SELECT date_trunc('minute', r.created_at, 'UTC'), r.task_name, r.status, count(*)
  FROM idem.task_runs r WHERE r.status IN ('succeeded', 'failed', 'cancelled') AND r.created_at >= horizon GROUP BY 1, 2, 3;

  INSERT INTO idem.duplicate_stats_hour (bucket, task_name, outcome, attempts)
  SELECT date_trunc('hour', d.attempted_at, 'UTC'), d.task_name, d.outcome, count(*)
  FROM idem.duplicate_attempts d GROUP BY 1, 2, 3;
  INSERT INTO idem.duplicate_stats_minute (bucket, task_name, outcome, attempts)
  SELECT date_trunc('minute', d.attempted_at, 'UTC'), d.task_name, d.outcome, count(*)
  FROM idem.duplicate_attempts d WHERE d.attempted_at >= horizon GROUP BY 1, 2, 3;
END;
$$;
--> statement-breakpoint
SELECT "idem"."rebuild_stats"();
