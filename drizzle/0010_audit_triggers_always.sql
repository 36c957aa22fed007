-- The audit log's append-only triggers (0001) were ordinary triggers, which do not fire while
-- session_replication_role = replica: the setting this repo's protocol doc itself suggests for bulk
-- loads, and one any superuser or replication tool may set. `SET LOCAL session_replication_role =
-- replica; DELETE FROM idem.operator_actions` deleted rows. ENABLE ALWAYS makes them fire in every
-- replication role. The statistics triggers stay ordinary on purpose: a bulk load may bypass them
-- and then run idem.rebuild_stats().
ALTER TABLE "idem"."operator_actions" ENABLE ALWAYS TRIGGER "operator_actions_no_update_delete";
--> statement-breakpoint
ALTER TABLE "idem"."operator_actions" ENABLE ALWAYS TRIGGER "operator_actions_no_truncate";
