// The worker SDK: what a Node worker imports. It reads no environment and opens no connections of its
// own; the caller passes a postgres.js client and, optionally, an ioredis client.
export { createLedger, defaultWorkerId, errorRecord } from "./ledger";
export type { ClaimResult, FailOptions, Lease, Ledger, LedgerOptions, RunContext, RunOnceResult } from "./ledger";
export { cronKey, cronSlot, runCronSlot, startCron } from "./cron";
export { LeaseLostError, PayloadMismatchError } from "./errors";
export { ValidationError } from "@/lib/errors";
export { canonicalJson, fingerprintOf, type Json } from "./json";
export type { Run, RunEvent, DuplicateAttempt, OperatorAction } from "./rows";
export type { RunStatus, DuplicateOutcome } from "./schema";
