import { z } from "zod";
import { ValidationError } from "@/lib/errors";
import type { Json } from "./json";
import type { Ledger, RunContext, RunOnceResult } from "./ledger";
import { assertFunction, leaseMsSchema, parseOrThrow, taskNameSchema } from "./spec";

const everyMsSchema = z
  .number({ error: "must be a number of milliseconds" })
  .int("must be a whole number of milliseconds")
  .min(1, "must be at least 1 ms")
  .max(366 * 24 * 3600 * 1000, "must be at most 366 days");

function assertValidDate(value: unknown, field: string): asserts value is Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new ValidationError(field, "must be a valid Date");
}

/** The start of the slot that `at` falls in, for a schedule that fires every `everyMs`. */
export function cronSlot(everyMs: number, at: Date = new Date()): Date {
  parseOrThrow(everyMsSchema, everyMs, "everyMs");
  assertValidDate(at, "at");
  return new Date(Math.floor(at.getTime() / everyMs) * everyMs);
}

/** The key of a cron slot: the task name is already the other half of the unique key. */
export function cronKey(slot: Date): string {
  assertValidDate(slot, "slot");
  return slot.toISOString();
}

export interface CronSlotInput {
  task: string;
  /** The scheduled time of this firing, as the scheduler computed it (not the time it actually fired). */
  slot: Date;
  payload?: Json;
  leaseMs?: number;
}

/**
 * Runs one slot of a schedule exactly once however many instances fire it: the key is the slot, so
 * every instance submits the same (task, key) and the ledger lets one of them run it.
 */
export function runCronSlot<T>(ledger: Ledger, input: CronSlotInput, fn: (ctx: RunContext) => Promise<T> | T): Promise<RunOnceResult<T>> {
  const key = cronKey(input.slot);
  return ledger.runOnce(
    { task: input.task, key, payload: input.payload ?? { slot: key }, scheduledFor: input.slot, leaseMs: input.leaseMs, source: "cron" },
    fn,
  );
}

/**
 * Fires `fn` at every `everyMs` boundary on this instance. Start it on every instance: each slot runs once.
 * Returns a stop function; its promise settles when a slot already fired has finished, so the caller
 * can close its pools safely afterwards.
 */
export function startCron<T>(
  ledger: Ledger,
  schedule: { task: string; everyMs: number; leaseMs?: number; onError?: (error: unknown) => void },
  fn: (ctx: RunContext) => Promise<T> | T,
): () => Promise<void> {
  parseOrThrow(everyMsSchema, schedule.everyMs, "everyMs");
  parseOrThrow(taskNameSchema, schedule.task, "task");
  if (schedule.leaseMs !== undefined) parseOrThrow(leaseMsSchema, schedule.leaseMs, "leaseMs");
  assertFunction(fn);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const inFlight = new Set<Promise<unknown>>();
  const arm = () => {
    const next = cronSlot(schedule.everyMs).getTime() + schedule.everyMs;
    timer = setTimeout(() => {
      if (stopped) return;
      const firing = runCronSlot(ledger, { task: schedule.task, slot: new Date(next), leaseMs: schedule.leaseMs }, fn).catch(
        schedule.onError ?? (() => undefined),
      );
      inFlight.add(firing);
      void firing.finally(() => inFlight.delete(firing));
      arm();
    }, Math.max(0, next - Date.now()));
  };
  arm();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await Promise.allSettled([...inFlight]);
  };
}
