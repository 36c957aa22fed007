import type postgres from "postgres";
import { z } from "zod";
import { LeaseLostError } from "./errors";
import type { Claimed, Logger, RunContext } from "./ledger";
import { PENDING_CHANNEL } from "./protocol";
import type { Run } from "./rows";
import { leaseMsSchema, parseOrThrow, taskNameSchema } from "./spec";

/** What a handler returns becomes the run's result (it must be plain JSON; undefined is stored as null). */
export type TaskHandler = (ctx: RunContext) => unknown;

export interface WorkerOptions {
  /** One handler per task name; the worker claims pending runs of exactly these tasks. */
  handlers: Record<string, TaskHandler>;
  /** Runs executed at once by this worker (default 4). */
  concurrency?: number;
  /** Fallback poll interval when no notification arrives (default 2,000 ms). */
  pollMs?: number;
  /** Lease taken on each claimed run, kept alive by heartbeats (default 30,000 ms). */
  leaseMs?: number;
  /** LISTEN for new pending runs (default true). Off, the worker only polls (e.g. behind a transaction-mode pooler). */
  listen?: boolean;
  /** Called when a handler throws (the failure is already recorded in the ledger) or the lease is lost. */
  onError?: (error: unknown, run: Run) => void;
}

export interface Worker {
  readonly tasks: readonly string[];
  /** Runs being executed right now. */
  readonly inFlight: number;
  /**
   * Resolves once the worker listens for notifications (or LISTEN failed and it only polls). While
   * Postgres is unreachable it waits for it; the worker polls meanwhile regardless.
   */
  readonly ready: Promise<void>;
  /** Look for work now instead of at the next notification or poll. */
  wake(): void;
  /** Stops claiming, then waits for the runs in flight to finish and record their outcome. */
  stop(): Promise<void>;
}

/** The part of a ledger the worker drives; createLedger's result is one. */
export interface WorkerLedger {
  sql: postgres.Sql;
  logger: Logger;
  claimPending(request: { tasks: readonly string[]; limit: number; leaseMs?: number }): Promise<Claimed[]>;
  executeClaimed<T>(claim: Claimed, fn: (ctx: RunContext) => Promise<T> | T): Promise<{ run: Run; result: T }>;
}

const optionsSchema = z.object({
  concurrency: z.number().int("must be a whole number").min(1, "must be at least 1").max(1000, "must be at most 1000").default(4),
  pollMs: z.number().int("must be a whole number of milliseconds").min(10, "must be at least 10 ms").max(3_600_000, "must be at most an hour").default(2000),
  leaseMs: leaseMsSchema.default(30_000),
  listen: z.boolean().default(true),
});

const WARN_EVERY_MS = 30_000;

/**
 * Executes the ledger's pending runs (operator retries, runs waiting out a backoff) for the tasks it
 * has handlers for, through the same claim / lease / complete path as runOnce. Any number of workers
 * may run against one ledger: the claim uses FOR UPDATE SKIP LOCKED, so each run is claimed by exactly
 * one of them. A NOTIFY on `idem_pending` wakes the worker at once; polling every `pollMs` covers
 * notifications missed while disconnected and runs whose backoff has just ended.
 */
export function startWorker(ledger: WorkerLedger, options: WorkerOptions): Worker {
  if (!options || typeof options !== "object" || !options.handlers || typeof options.handlers !== "object") {
    throw new TypeError("startWorker: handlers is required, e.g. { handlers: { send_email: async (ctx) => ... } }");
  }
  const tasks = Object.keys(options.handlers);
  if (tasks.length === 0) throw new TypeError("startWorker: handlers must name at least one task");
  for (const task of tasks) {
    parseOrThrow(taskNameSchema, task, `handlers.${task}`);
    if (typeof options.handlers[task] !== "function") throw new TypeError(`startWorker: handlers.${task} must be a function`);
  }
  const { concurrency, pollMs, leaseMs, listen } = parseOrThrow(optionsSchema, {
    concurrency: options.concurrency,
    pollMs: options.pollMs,
    leaseMs: options.leaseMs,
    listen: options.listen,
  });
  const handled = new Set(tasks);
  const logger = ledger.logger;
  const onError =
    options.onError ??
    ((error: unknown, run: Run) =>
      logger.warn(`run ${run.id} (${run.taskName}) ${error instanceof LeaseLostError ? "lost its lease" : "failed"}`, {
        error: error instanceof Error ? error.message : String(error),
      }));

  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  // Set by every wake-up source; the loop clears it just before it claims, so a wake-up that arrives
  // while a claim is under way is not lost: the loop claims again instead of sleeping.
  let signalled = false;
  let wakeUp: (() => void) | null = null;
  // The last claim filled every free slot, so more runs may be waiting: a finished run should look again.
  let maybeMore = false;
  let lastWarning = 0;

  const wake = () => {
    signalled = true;
    wakeUp?.();
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signalled || stopped) return resolve();
      const done = () => {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakeUp = done;
    });

  const warn = (message: string, error: unknown) => {
    const now = Date.now();
    if (now - lastWarning < WARN_EVERY_MS) return;
    lastWarning = now;
    logger.warn(message, { error: error instanceof Error ? error.message : String(error) });
  };

  const execute = (claim: Claimed) => {
    const handler = options.handlers[claim.run.taskName]!;
    const running: Promise<void> = ledger
      .executeClaimed(claim, handler)
      .then(
        () => undefined,
        (error: unknown) => {
          try {
            onError(error, claim.run);
          } catch {
            // a throwing error callback must not take the worker down
          }
        },
      )
      .finally(() => {
        inFlight.delete(running);
        if (maybeMore) wake();
      });
    inFlight.add(running);
  };

  let listener: { unlisten(): Promise<void> } | null = null;
  let listenFailed = false;
  let relisten = false;
  const subscribe = async () => {
    try {
      const handle = await ledger.sql.listen(
        PENDING_CHANNEL,
        (task) => {
          if (handled.has(task)) wake();
        },
        // Called on every (re)connection of the listening connection: whatever was notified while it
        // was down is found by claiming now.
        wake,
      );
      listenFailed = false;
      if (stopped) await handle.unlisten();
      else listener = handle;
    } catch (error) {
      listenFailed = true;
      warn(`worker for ${tasks.join(", ")}: LISTEN ${PENDING_CHANNEL} failed, polling every ${pollMs} ms`, error);
    }
  };
  let subscribing: Promise<void> = listen ? subscribe() : Promise.resolve();
  const ready = subscribing;
  const resubscribe = () => {
    const previous = listener;
    listener = null;
    subscribing = subscribing.then(() => previous?.unlisten().catch(() => undefined)).then(subscribe);
  };

  const loop = async () => {
    let failures = 0;
    while (!stopped) {
      signalled = false;
      const free = concurrency - inFlight.size;
      if (free > 0) {
        let claims: Claimed[] = [];
        try {
          claims = await ledger.claimPending({ tasks, limit: free, leaseMs });
          failures = 0;
        } catch (error) {
          failures++;
          if (listenFailed) relisten = true;
          warn(`worker for ${tasks.join(", ")}: claiming pending runs failed, will retry`, error);
        }
        // postgres.js keeps a subscription across reconnects (and calls `wake` when it is back), but a
        // LISTEN that failed outright is gone: try once more when the database answers again.
        if (listen && failures === 0 && relisten) {
          relisten = false;
          resubscribe();
        }
        // Claimed runs are executed even if stop() was called meanwhile: they are ours now.
        for (const claim of claims) execute(claim);
        maybeMore = claims.length === free;
      } else {
        maybeMore = true;
      }
      if (stopped) break;
      await sleep(failures > 0 ? Math.min(pollMs, 100 * 2 ** Math.min(failures, 6)) : pollMs);
    }
  };
  const looping = loop();

  let stopping: Promise<void> | null = null;
  return {
    tasks,
    get inFlight() {
      return inFlight.size;
    },
    ready,
    wake,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        wakeUp?.();
        await looping;
        // Not awaiting a subscription still under way: while Postgres is down it waits for it to come
        // back. It unlistens by itself when it completes (stopped is set).
        await listener?.unlisten().catch(() => undefined);
        while (inFlight.size > 0) await Promise.all([...inFlight]);
      })();
      return stopping;
    },
  };
}
