import { bigint, integer, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { duplicateOutcome, idem, runStatus } from "./schema";

/**
 * The console's maintained rollups: how many runs were created per bucket, task and current status,
 * and how many duplicate attempts per bucket, task and outcome. Counting task_runs directly over days
 * takes hundreds of milliseconds at millions of rows; these answer the overview in a few.
 *
 * Kept exact by triggers (drizzle/0004_rollup_triggers.sql). A trigger never updates a rollup row
 * itself: 32 workers finishing runs of the same task in the same minute would all queue on that one
 * row until each other's commit. It appends a +1/-1 delta to a journal instead (an insert, which
 * never waits), and idem.fold_stats() moves the journal into the rollups. Readers add rollup and
 * journal in one statement, so a count is exact whether or not the fold has run.
 *
 * Buckets are UTC. Minute buckets are kept for two days (windows up to 6 h read them); hour buckets
 * forever. A bucket is the minute or hour of the run's created_at (of the attempt's attempted_at).
 */
const tz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const runStatsMinute = idem.table(
  "run_stats_minute",
  {
    bucket: tz("bucket").notNull(),
    taskName: text("task_name").notNull(),
    status: runStatus("status").notNull(),
    runs: bigint("runs", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ name: "run_stats_minute_pk", columns: [t.bucket, t.taskName, t.status] })],
);

export const runStatsHour = idem.table(
  "run_stats_hour",
  {
    bucket: tz("bucket").notNull(),
    taskName: text("task_name").notNull(),
    status: runStatus("status").notNull(),
    runs: bigint("runs", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ name: "run_stats_hour_pk", columns: [t.bucket, t.taskName, t.status] })],
);

/** Unfolded deltas. No index on purpose: the triggers' inserts stay as cheap as an insert can be. */
export const runStatsJournal = idem.table("run_stats_journal", {
  // The minute of the run's created_at.
  bucket: tz("bucket").notNull(),
  taskName: text("task_name").notNull(),
  status: runStatus("status").notNull(),
  delta: integer("delta").notNull(),
});

export const duplicateStatsMinute = idem.table(
  "duplicate_stats_minute",
  {
    bucket: tz("bucket").notNull(),
    taskName: text("task_name").notNull(),
    outcome: duplicateOutcome("outcome").notNull(),
    attempts: bigint("attempts", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ name: "duplicate_stats_minute_pk", columns: [t.bucket, t.taskName, t.outcome] })],
);

export const duplicateStatsHour = idem.table(
  "duplicate_stats_hour",
  {
    bucket: tz("bucket").notNull(),
    taskName: text("task_name").notNull(),
    outcome: duplicateOutcome("outcome").notNull(),
    attempts: bigint("attempts", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ name: "duplicate_stats_hour_pk", columns: [t.bucket, t.taskName, t.outcome] })],
);

export const duplicateStatsJournal = idem.table("duplicate_stats_journal", {
  bucket: tz("bucket").notNull(),
  taskName: text("task_name").notNull(),
  outcome: duplicateOutcome("outcome").notNull(),
  delta: integer("delta").notNull(),
});
