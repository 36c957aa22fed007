import { setTimeout as delay } from "node:timers/promises";
import { LeaseLostError, createLedger } from "@/lib/ledger";
import { createRedis } from "@/lib/redis";
import { connectPostgres, describeError, isTransient, submit, type Hold } from "./effects";
import { fromWorkerSchema, toWorkerSchema, workerConfigSchema, type FromWorker, type Outcome, type Submission } from "./protocol";

/**
 * One worker process of the fault suite, forked by run.ts with an IPC channel. It has its own
 * postgres.js pool and ioredis client and runs `concurrency` deliveries at a time, each pulled from the
 * orchestrator's plan. The orchestrator SIGKILLs, SIGSTOPs and SIGCONTs it at will and restarts the
 * servers under it; the worker's only job is to behave like a real consumer: retry a delivery whose
 * claim or completion hit a connection error, and report what the ledger answered.
 */

const config = workerConfigSchema.parse(JSON.parse(process.argv[2] ?? "null"));

function send(message: FromWorker) {
  if (!process.send || !process.connected) return;
  process.send(fromWorkerSchema.parse(message));
}

const sql = connectPostgres(config.databaseUrl, { max: config.poolMax, applicationName: `faults-${config.workerId}` });
const redis = createRedis(config.redisUrl, { name: `faults-${config.workerId}` });
const ledger = createLedger({
  sql,
  redis,
  workerId: config.workerId,
  // The chaos makes these constant (Redis down, heartbeats failing while Postgres restarts): they go to
  // this worker's log file (stdout), not to the orchestrator's output.
  logger: { warn: (message, meta) => process.stdout.write(`[idem] ${message} ${meta ? JSON.stringify(meta) : ""}\n`) },
});

const waiting = new Map<number, (submission: Submission | null) => void>();
const held = new Map<number, () => void>();

process.on("message", (raw: unknown) => {
  const message = toWorkerSchema.parse(raw);
  if (message.type === "release") {
    held.get(message.id)?.();
    held.delete(message.id);
    return;
  }
  const resolve = waiting.get(message.slot);
  waiting.delete(message.slot);
  resolve?.(message.submission);
});

/** A probe delivery: say where it is and wait for the orchestrator's go (it stops this process meanwhile). */
function holdFor(sub: Submission): Hold | undefined {
  if (!sub.probe) return undefined;
  return (attempt) =>
    new Promise<void>((resolve) => {
      held.set(sub.id, resolve);
      send({ type: "holding", id: sub.id, ...attempt });
    });
}
// The orchestrator is gone: nobody will read our reports, and its servers are going away.
process.on("disconnect", () => process.exit(0));
// Die as Node would, but say which promise: the orchestrator shows this log for an unexplained exit.
process.on("unhandledRejection", (reason) => {
  const detail = reason instanceof Error ? `${reason.stack ?? reason.message}\n${JSON.stringify(reason)}` : String(reason);
  process.stderr.write(`unhandled rejection in worker ${config.workerId}: ${detail}\n`, () => process.exit(1));
});

function want(slot: number): Promise<Submission | null> {
  return new Promise((resolve) => {
    waiting.set(slot, resolve);
    send({ type: "want", slot });
  });
}

const RETRY_FOR_MS = 30_000;
const SLOW_MS = 5_000;

/** Deliveries in progress, for the log line about one that has taken far longer than any lease. */
const active = new Map<number, { key: string; startedAt: number; tries: number; lastError: string | null; logged: boolean }>();
setInterval(() => {
  const now = Date.now();
  for (const [id, entry] of active) {
    if (entry.logged || now - entry.startedAt < SLOW_MS) continue;
    entry.logged = true;
    process.stderr.write(
      `slow delivery ${id} (${entry.key}): ${now - entry.startedAt} ms, try ${entry.tries}, last error: ${entry.lastError ?? "none"}\n`,
    );
  }
}, 1000).unref();

type Report = Omit<Extract<FromWorker, { type: "done" }>, "type">;

/** One delivery, retried as a whole on connection errors, as a queue consumer would on a nack. */
async function deliver(sub: Submission): Promise<Report> {
  const entry = { key: sub.key, startedAt: Date.now(), tries: 0, lastError: null as string | null, logged: false };
  active.set(sub.id, entry);
  try {
    return await deliverWithRetries(sub, entry);
  } finally {
    active.delete(sub.id);
    if (entry.logged) process.stderr.write(`slow delivery ${sub.id} (${sub.key}) finished after ${Date.now() - entry.startedAt} ms\n`);
  }
}

async function deliverWithRetries(sub: Submission, entry: { startedAt: number; tries: number; lastError: string | null }): Promise<Report> {
  let transientErrors = 0;
  let lastError: unknown = null;
  const report = (outcome: Outcome, fencingToken: number | null, message: string | null): Report => ({
    id: sub.id,
    key: sub.key,
    outcome,
    fencingToken,
    transientErrors,
    message,
  });
  const retrying = () => Date.now() - entry.startedAt < RETRY_FOR_MS;
  for (;;) {
    entry.tries++;
    try {
      const result = await submit(ledger, sql, sub, config.sabotage, holdFor(sub));
      // An earlier try may have claimed the key and died on the connection: its own lease now blocks us
      // until it expires. A consumer would be redelivered; retry once the lease has had time to lapse.
      if (result.outcome === "in_progress" && transientErrors > 0 && retrying()) {
        await delay(sub.leaseMs);
        continue;
      }
      if (result.outcome === "executed") return report("executed", result.run.fencingToken, null);
      return report(result.outcome, null, null);
    } catch (error) {
      if (error instanceof LeaseLostError) return report("lease_lost", error.fencingToken, error.message);
      if (isTransient(error) && retrying()) {
        transientErrors++;
        lastError = error;
        entry.lastError = describeError(error);
        await delay(150 + Math.floor(Math.random() * 250));
        continue;
      }
      const after = lastError ? ` (after ${transientErrors} transient errors, last: ${describeError(lastError)})` : "";
      return report("error", null, describeError(error) + after);
    }
  }
}

// Runs until the orchestrator kills the process: every worker's life ends in a SIGKILL.
async function slot(index: number): Promise<never> {
  for (;;) {
    const sub = await want(index);
    if (!sub) {
      // Nothing queued right now; ask again shortly.
      await delay(50);
      continue;
    }
    send({ type: "done", ...(await deliver(sub)) });
  }
}

send({ type: "ready", pid: process.pid });
await Promise.all(Array.from({ length: config.concurrency }, (_, index) => slot(index)));
