-- The run page read every event of a run to show its few transitions and count its heartbeats:
-- 200 ms for a run with 100,000 heartbeats (docs/BENCHMARKS.md, console). Kind and lease in the
-- one index let it skip the heartbeats and count them from the index. Still one index per event.
ALTER TABLE "idem"."run_events" DROP CONSTRAINT "run_events_pk";--> statement-breakpoint
CREATE INDEX "run_events_timeline_idx" ON "idem"."run_events" USING btree ("run_id","kind","fencing_token","id");