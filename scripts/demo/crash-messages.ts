import { z } from "zod";

/** What scenarios.ts and the crash-child.ts process say to each other over the IPC channel. */
export const childConfigSchema = z.object({
  scenario: z.enum(["crash_mid_run", "crash_before_unlock"]),
  databaseUrl: z.string(),
  redisUrl: z.string(),
  lockPrefix: z.string(),
  task: z.string(),
  key: z.string(),
  payload: z.record(z.string(), z.unknown()),
  source: z.string(),
  workerName: z.string(),
  leaseMs: z.number().int(),
  lockTtlMs: z.number().int(),
});
export type ChildConfig = z.infer<typeof childConfigSchema>;

export const childMessageSchema = z.object({
  phase: z.enum(["running", "completed", "error"]),
  runId: z.number().optional(),
  message: z.string().optional(),
});
export type ChildMessage = z.infer<typeof childMessageSchema>;
