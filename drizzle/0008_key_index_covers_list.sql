-- A key-prefix search on the runs list (`key=evt_3f&keyMatch=prefix`, thousands of matches) read every
-- matching row from the heap to learn its created_at before keeping the newest 50: 49 ms at 10M runs
-- (docs/BENCHMARKS.md, console). Carrying (created_at, id) in the key index lets the list pick the
-- page from the index alone. drizzle cannot express INCLUDE, so this migration is written by hand;
-- the schema's uniqueIndex() keeps the key columns and says so. Same index, same writes, wider entries:
-- created_at never changes, so HOT updates are unaffected.
CREATE UNIQUE INDEX "task_runs_key_task_covering_uq" ON "idem"."task_runs" USING btree ("idempotency_key","task_name") INCLUDE ("created_at","id");--> statement-breakpoint
DROP INDEX "idem"."task_runs_key_task_uq";--> statement-breakpoint
ALTER INDEX "idem"."task_runs_key_task_covering_uq" RENAME TO "task_runs_key_task_uq";
