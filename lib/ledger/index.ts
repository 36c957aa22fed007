// The worker SDK: what a Node worker imports. It reads no environment and opens no connections of its
// own; the caller passes a postgres.js client and, optionally, an ioredis client. (startWorker's LISTEN
// takes one more connection from that client, as postgres.js's sql.listen does.)
export { createLedger, defaultBackoffMs, defaultWorkerId, errorRecord } from "./ledger";
export type { ClaimResult, Claimed, FailOptions, Lease, Ledger, LedgerOptions, Logger, RunContext, RunOnceResult } from "./ledger";
export { startWorker, type TaskHandler, type Worker, type WorkerLedger, type WorkerOptions } from "./worker";
export { cronKey, cronSlot, runCronSlot, startCron } from "./cron";
export { LeaseLostError, PayloadMismatchError } from "./errors";
export { ValidationError } from "@/lib/errors";
export { canonicalJson, fingerprintOf, type Json } from "./json";
export type { Run, RunEvent, DuplicateAttempt, OperatorAction } from "./rows";
export type { RunStatus, DuplicateOutcome } from "./schema";
