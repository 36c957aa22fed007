import { z } from "zod";

/**
 * What the fault suite's orchestrator (run.ts) and its worker processes (worker.ts) say to each other
 * over the child-process IPC channel, validated with zod on both ends.
 */

export const TX_TASK = "faults.tx";
export const FENCED_TASK = "faults.fenced";

/** Sabotage switches, to show the suite fails when the property it checks is broken. */
/** no-faults: the schedule is drawn but nothing is injected, so the check that the faults happened must fail. */
export const sabotageSchema = z.enum(["none", "effect-outside-tx", "no-fencing", "no-faults"]);
export type Sabotage = z.infer<typeof sabotageSchema>;

export const submissionSchema = z.object({
  /** Dispatch sequence number: unique per delivery, not per key. */
  id: z.number().int().nonnegative(),
  key: z.string().min(1),
  kind: z.enum(["tx", "fenced"]),
  leaseMs: z.number().int().min(100),
  /** How long the task body "works" (a timer), so pauses and kills land inside it. */
  workMs: z.number().int().nonnegative(),
  /**
   * Transactional keys: write the effect row before the work (the transaction sits open with it) or
   * after it (the write comes after an await of something that is not the database, as most tasks do).
   */
  effectFirst: z.boolean(),
  /**
   * The stale-writer probe (run.ts runProbe): just before its effect can no longer be taken back (the
   * fenced write; for a transactional key, the completion after its effect row) the worker says
   * "holding" and waits for "release", so the orchestrator can SIGSTOP it there, have the run taken over
   * and finished, and SIGCONT it: the write then comes from an attempt that is certainly stale.
   */
  probe: z.boolean().default(false),
});
export type Submission = z.infer<typeof submissionSchema>;

export const workerConfigSchema = z.object({
  workerId: z.string().min(1),
  slot: z.number().int().nonnegative(),
  databaseUrl: z.string().url(),
  redisUrl: z.string().url(),
  concurrency: z.number().int().min(1).max(32),
  poolMax: z.number().int().min(2).max(50),
  sabotage: sabotageSchema,
});
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

export const outcomeSchema = z.enum(["executed", "replayed", "in_progress", "lock_contended", "lease_lost", "error"]);
export type Outcome = z.infer<typeof outcomeSchema>;

export const toWorkerSchema = z.discriminatedUnion("type", [
  /** The answer to a worker's "want": the next delivery for that slot, or null when nothing is queued. */
  z.object({ type: z.literal("work"), slot: z.number().int(), submission: submissionSchema.nullable() }),
  /** A probe delivery that said "holding" may go on (it is sent while the worker is stopped). */
  z.object({ type: z.literal("release"), id: z.number().int() }),
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

export const fromWorkerSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ready"), pid: z.number().int() }),
  z.object({ type: z.literal("want"), slot: z.number().int() }),
  /** A probe delivery is about to make its last write, as the attempt with this run id and token. */
  z.object({ type: z.literal("holding"), id: z.number().int(), runId: z.number().int(), fencingToken: z.number().int() }),
  z.object({
    type: z.literal("done"),
    id: z.number().int(),
    key: z.string(),
    outcome: outcomeSchema,
    /** For executed: the fencing token the completed attempt held. */
    fencingToken: z.number().int().nullable(),
    transientErrors: z.number().int().nonnegative(),
    message: z.string().nullable(),
  }),
]);
export type FromWorker = z.infer<typeof fromWorkerSchema>;

/** The value a task body returns, stored as the run's result: which attempt completed the run. */
export const taskResultSchema = z.object({ token: z.number().int(), worker: z.string() });
export type TaskResult = z.infer<typeof taskResultSchema>;

/** mulberry32: a tiny seeded PRNG, so a seed reproduces the chaos schedule and the plan's shape. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}
