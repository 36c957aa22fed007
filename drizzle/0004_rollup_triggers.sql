-- Keeps the overview's rollups (0003_rollup) exact as runs are created and change status, and as
-- duplicate attempts are recorded. See lib/ledger/stats-schema.ts for the design; in short:
--
-- * Row triggers append a +1 / -1 delta to a journal. They never update a rollup row: a hot rollup
--   row (this minute, this task, "running") would make every worker wait for the previous one's
--   commit. An insert into an index-less journal never waits on anyone.
-- * The UPDATE triggers name their columns and have a WHEN clause, so heartbeats and duplicate-count
--   bumps (most UPDATEs) queue no trigger at all.
-- * idem.fold_stats() moves journal rows into the rollups in one statement (DELETE ... RETURNING feeding
--   the upserts), so every delta is in exactly one of the two at any snapshot. Readers sum both.
-- * idem.rebuild_stats() recomputes everything from the ledger, with writers held off; this migration
--   runs it to backfill a database that already has history.

-- Nothing may commit between the backfill below and the triggers taking over: writers wait for this
-- migration's transaction (readers do not).
LOCK TABLE "idem"."task_runs", "idem"."duplicate_attempts" IN SHARE ROW EXCLUSIVE MODE;
--> statement-breakpoint
-- The journals churn (every row is deleted within seconds): vacuum them whenever autovacuum looks.
ALTER TABLE "idem"."run_stats_journal" SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000);
--> statement-breakpoint
ALTER TABLE "idem"."duplicate_stats_journal" SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000);
--> statement-breakpoint
-- Minute buckets older than this are dropped by the fold: windows up to 6 h read minute buckets, longer
-- ones hour buckets, which are kept for good.
CREATE FUNCTION "idem"."stats_minute_horizon"() RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT date_trunc('minute', now(), 'UTC') - interval '2 days'
$$;
--> statement-breakpoint
CREATE FUNCTION "idem"."journal_run_stats"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO idem.run_stats_journal (bucket, task_name, status, delta)
    VALUES (date_trunc('minute', NEW.created_at, 'UTC'), NEW.task_name, NEW.status, 1);
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO idem.run_stats_journal (bucket, task_name, status, delta)
    VALUES (date_trunc('minute', OLD.created_at, 'UTC'), OLD.task_name, OLD.status, -1),
           (date_trunc('minute', NEW.created_at, 'UTC'), NEW.task_name, NEW.status, 1);
  ELSE
    INSERT INTO idem.run_stats_journal (bucket, task_name, status, delta)
    VALUES (date_trunc('minute', OLD.created_at, 'UTC'), OLD.task_name, OLD.status, -1);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "idem"."journal_duplicate_stats"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO idem.duplicate_stats_journal (bucket, task_name, outcome, delta)
    VALUES (date_trunc('minute', NEW.attempted_at, 'UTC'), NEW.task_name, NEW.outcome, 1);
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO idem.duplicate_stats_journal (bucket, task_name, outcome, delta)
    VALUES (date_trunc('minute', OLD.attempted_at, 'UTC'), OLD.task_name, OLD.outcome, -1),
           (date_trunc('minute', NEW.attempted_at, 'UTC'), NEW.task_name, NEW.outcome, 1);
  ELSE
    INSERT INTO idem.duplicate_stats_journal (bucket, task_name, outcome, delta)
    VALUES (date_trunc('minute', OLD.attempted_at, 'UTC'), OLD.task_name, OLD.outcome, -1);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- A TRUNCATE fires no row triggers; the rollups of the truncated table start over with it.
CREATE FUNCTION "idem"."reset_run_stats"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE idem.run_stats_journal, idem.run_stats_minute, idem.run_stats_hour;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "idem"."reset_duplicate_stats"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE idem.duplicate_stats_journal, idem.duplicate_stats_minute, idem.duplicate_stats_hour;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "run_stats_on_insert" AFTER INSERT ON "idem"."task_runs"
  FOR EACH ROW EXECUTE FUNCTION "idem"."journal_run_stats"();
--> statement-breakpoint
CREATE TRIGGER "run_stats_on_update" AFTER UPDATE OF "status", "created_at", "task_name" ON "idem"."task_runs"
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.task_name IS DISTINCT FROM NEW.task_name)
  EXECUTE FUNCTION "idem"."journal_run_stats"();
--> statement-breakpoint
CREATE TRIGGER "run_stats_on_delete" AFTER DELETE ON "idem"."task_runs"
  FOR EACH ROW EXECUTE FUNCTION "idem"."journal_run_stats"();
--> statement-breakpoint
CREATE TRIGGER "run_stats_on_truncate" AFTER TRUNCATE ON "idem"."task_runs"
  FOR EACH STATEMENT EXECUTE FUNCTION "idem"."reset_run_stats"();
--> statement-breakpoint
CREATE TRIGGER "duplicate_stats_on_insert" AFTER INSERT ON "idem"."duplicate_attempts"
  FOR EACH ROW EXECUTE FUNCTION "idem"."journal_duplicate_stats"();
--> statement-breakpoint
CREATE TRIGGER "duplicate_stats_on_update" AFTER UPDATE OF "attempted_at", "task_name", "outcome" ON "idem"."duplicate_attempts"
  FOR EACH ROW
  WHEN (OLD.attempted_at IS DISTINCT FROM NEW.attempted_at OR OLD.task_name IS DISTINCT FROM NEW.task_name OR OLD.outcome IS DISTINCT FROM NEW.outcome)
  EXECUTE FUNCTION "idem"."journal_duplicate_stats"();
--> statement-breakpoint
CREATE TRIGGER "duplicate_stats_on_delete" AFTER DELETE ON "idem"."duplicate_attempts"
  FOR EACH ROW EXECUTE FUNCTION "idem"."journal_duplicate_stats"();
--> statement-breakpoint
CREATE TRIGGER "duplicate_stats_on_truncate" AFTER TRUNCATE ON "idem"."duplicate_attempts"
  FOR EACH STATEMENT EXECUTE FUNCTION "idem"."reset_duplicate_stats"();
--> statement-breakpoint
-- Moves every journal row it can see into the rollups and drops expired minute buckets; returns how
-- many it moved. Not batched: the console folds every few seconds, so the journal stays small, and a
-- large backlog (workers ran for days with no console) is folded in one linear pass that blocks no
-- writer (they only ever insert new journal rows). One folder at a time (advisory lock 0x1de30002): a
-- second caller returns 0 at once, which is fine since readers add the unfolded journal themselves.
CREATE FUNCTION "idem"."fold_stats"() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  horizon timestamptz := idem.stats_minute_horizon();
  folded_runs integer;
  folded_duplicates integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(501415938) THEN
    RETURN 0;
  END IF;

  WITH moved AS (
    -- The whole journal, as this statement's snapshot sees it; rows still being written stay for next time.
    DELETE FROM idem.run_stats_journal j WHERE true
    RETURNING j.bucket, j.task_name, j.status, j.delta
  ), per_minute AS (
    SELECT m.bucket, m.task_name, m.status, sum(m.delta) AS delta FROM moved m GROUP BY m.bucket, m.task_name, m.status
  ), to_minute AS (
    INSERT INTO idem.run_stats_minute AS s (bucket, task_name, status, runs)
    SELECT p.bucket, p.task_name, p.status, p.delta FROM per_minute p WHERE p.delta <> 0 AND p.bucket >= horizon
    ON CONFLICT (bucket, task_name, status) DO UPDATE SET runs = s.runs + excluded.runs
  ), to_hour AS (
    INSERT INTO idem.run_stats_hour AS s (bucket, task_name, status, runs)
    SELECT date_trunc('hour', p.bucket, 'UTC'), p.task_name, p.status, sum(p.delta)
    FROM per_minute p GROUP BY 1, 2, 3 HAVING sum(p.delta) <> 0
    ON CONFLICT (bucket, task_name, status) DO UPDATE SET runs = s.runs + excluded.runs
  )
  SELECT count(*) INTO folded_runs FROM moved;

  WITH moved AS (
    DELETE FROM idem.duplicate_stats_journal j WHERE true
    RETURNING j.bucket, j.task_name, j.outcome, j.delta
  ), per_minute AS (
    SELECT m.bucket, m.task_name, m.outcome, sum(m.delta) AS delta FROM moved m GROUP BY m.bucket, m.task_name, m.outcome
  ), to_minute AS (
    INSERT INTO idem.duplicate_stats_minute AS s (bucket, task_name, outcome, attempts)
    SELECT p.bucket, p.task_name, p.outcome, p.delta FROM per_minute p WHERE p.delta <> 0 AND p.bucket >= horizon
    ON CONFLICT (bucket, task_name, outcome) DO UPDATE SET attempts = s.attempts + excluded.attempts
  ), to_hour AS (
    INSERT INTO idem.duplicate_stats_hour AS s (bucket, task_name, outcome, attempts)
    SELECT date_trunc('hour', p.bucket, 'UTC'), p.task_name, p.outcome, sum(p.delta)
    FROM per_minute p GROUP BY 1, 2, 3 HAVING sum(p.delta) <> 0
    ON CONFLICT (bucket, task_name, outcome) DO UPDATE SET attempts = s.attempts + excluded.attempts
  )
  SELECT count(*) INTO folded_duplicates FROM moved;

  DELETE FROM idem.run_stats_minute WHERE bucket < horizon;
  DELETE FROM idem.duplicate_stats_minute WHERE bucket < horizon;
  RETURN folded_runs + folded_duplicates;
END;
$$;
--> statement-breakpoint
-- Recomputes every rollup from the ledger. For this migration's backfill, and to repair after a bulk
-- load that bypassed the triggers (session_replication_role = replica). Writers wait while it runs.
CREATE FUNCTION "idem"."rebuild_stats"() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  horizon timestamptz := idem.stats_minute_horizon();
BEGIN
  LOCK TABLE idem.task_runs, idem.duplicate_attempts IN SHARE ROW EXCLUSIVE MODE;
  PERFORM pg_advisory_xact_lock(501415938);
  TRUNCATE idem.run_stats_journal, idem.run_stats_minute, idem.run_stats_hour,
           idem.duplicate_stats_journal, idem.duplicate_stats_minute, idem.duplicate_stats_hour;

  INSERT INTO idem.run_stats_hour (bucket, task_name, status, runs)
  SELECT date_trunc('hour', r.created_at, 'UTC'), r.task_name, r.status, count(*)
  FROM idem.task_runs r GROUP BY 1, 2, 3;
  INSERT INTO idem.run_stats_minute (bucket, task_name, status, runs)
  SELECT date_trunc('minute', r.created_at, 'UTC'), r.task_name, r.status, count(*)
  FROM idem.task_runs r WHERE r.created_at >= horizon GROUP BY 1, 2, 3;

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
