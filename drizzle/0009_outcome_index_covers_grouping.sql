-- The duplicates screen grouped by key and filtered to a rare outcome (`view=keys&outcome=payload_mismatch`)
-- read each of the newest 10,000 matching attempts from the heap to learn its key and source: mismatches
-- are ~2% of attempts, so those rows lay on ~7,000 heap pages, 48 ms at 10M runs (docs/BENCHMARKS.md,
-- console). Carrying what the grouped views read in the outcome index lets them group from the index
-- alone. Same index count on every duplicate's write, wider entries; attempts are never updated.
-- drizzle cannot express INCLUDE, so this migration is written by hand; the schema's index() keeps the
-- key columns and says so.
CREATE INDEX "duplicate_attempts_outcome_at_covering_idx" ON "idem"."duplicate_attempts" USING btree ("outcome","attempted_at","id") INCLUDE ("task_name","idempotency_key","run_id","source","worker_id");--> statement-breakpoint
DROP INDEX "idem"."duplicate_attempts_outcome_at_idx";--> statement-breakpoint
ALTER INDEX "idem"."duplicate_attempts_outcome_at_covering_idx" RENAME TO "duplicate_attempts_outcome_at_idx";
