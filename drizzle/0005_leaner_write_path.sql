-- The write path, leaner (docs/BENCHMARKS.md, cycle): per claim + completion, 12 index entries on
-- task_runs instead of 18, one index per run_events row instead of two, and no foreign-key checks
-- (each locked the run row again).
ALTER TABLE "idem"."duplicate_attempts" DROP CONSTRAINT "duplicate_attempts_run_id_task_runs_id_fk";
--> statement-breakpoint
ALTER TABLE "idem"."run_events" DROP CONSTRAINT "run_events_run_id_task_runs_id_fk";
--> statement-breakpoint
DROP INDEX "idem"."run_events_run_idx";--> statement-breakpoint
DROP INDEX "idem"."task_runs_task_key_uq";--> statement-breakpoint
DROP INDEX "idem"."task_runs_status_created_idx";--> statement-breakpoint
DROP INDEX "idem"."task_runs_key_prefix_idx";--> statement-breakpoint
DROP INDEX "idem"."task_runs_root_idx";--> statement-breakpoint
ALTER TABLE "idem"."run_events" DROP CONSTRAINT "run_events_pkey";--> statement-breakpoint
ALTER TABLE "idem"."run_events" ADD CONSTRAINT "run_events_pk" PRIMARY KEY("run_id","id");--> statement-breakpoint
-- Byte order for keys: the unique index then serves exact and prefix search across tasks (LIKE and
-- range conditions), so no separate text_pattern_ops index is maintained on every write.
ALTER TABLE "idem"."task_runs" ALTER COLUMN "idempotency_key" TYPE text COLLATE "C";--> statement-breakpoint
CREATE UNIQUE INDEX "task_runs_key_task_uq" ON "idem"."task_runs" USING btree ("idempotency_key","task_name");--> statement-breakpoint
CREATE INDEX "task_runs_failed_created_idx" ON "idem"."task_runs" USING btree ("created_at","id") WHERE "idem"."task_runs"."status" = 'failed';--> statement-breakpoint
CREATE INDEX "task_runs_cancelled_created_idx" ON "idem"."task_runs" USING btree ("created_at","id") WHERE "idem"."task_runs"."status" = 'cancelled';--> statement-breakpoint
CREATE INDEX "task_runs_root_idx" ON "idem"."task_runs" USING btree ("root_run_id") WHERE "idem"."task_runs"."retry_of" IS NOT NULL;