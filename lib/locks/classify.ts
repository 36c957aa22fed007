import type { RunStatus } from "@/lib/ledger/schema";

/**
 * What a lock is, from its Redis state and its run's state in the ledger. Pure, so every combination
 * is unit-tested (classify.test.ts).
 *
 * Each lock gets ONE class, by this precedence, plus every other class that also applies as a flag:
 *
 *   1. held            its run is `running` with a live lease and (for the SDK's own keys) the lock's
 *                      value is that lease's token. Someone is working under this lock right now, so it
 *                      wins over everything, even a missing TTL (which then shows as a flag).
 *   2. no_ttl          PTTL -1: it will never expire on its own. Whatever else is wrong with it, this is
 *                      the lock that stays stuck forever, so it is what the operator sees first.
 *   3. token_mismatch  its run is running with a live lease under a DIFFERENT token: this lock is not
 *                      the current holder's (a previous attempt's, or written by hand).
 *   4. stale           its run exists but nobody holds it: finished, failed, cancelled, back to pending
 *                      for a retry, or running with an expired lease (its worker is gone or paused).
 *   5. orphaned        no run in the ledger maps to this key.
 *
 * Everything but `held` may be released after a plain confirmation; `held` needs the key typed back
 * and a reason. Token comparison applies only to the SDK's keys: other code writes its own values.
 */
export const lockClasses = ["held", "no_ttl", "token_mismatch", "stale", "orphaned"] as const;
export type LockClass = (typeof lockClasses)[number];

export const lockClassLabels: Record<LockClass, string> = {
  held: "held",
  no_ttl: "no TTL",
  token_mismatch: "token mismatch",
  stale: "stale",
  orphaned: "orphaned",
};

export const lockClassDescriptions: Record<LockClass, string> = {
  held: "Its run is running with a live lease and this lock is that lease's: someone is working under it now.",
  no_ttl: "The lock has no expiry: it will never go away on its own.",
  token_mismatch: "Its run is running under a different lease token: this lock belongs to an earlier holder.",
  stale: "Its run is finished, failed, cancelled, pending, or its lease expired: nobody holds it any more.",
  orphaned: "No run in the ledger maps to this key.",
};

export interface LockRunState {
  status: RunStatus;
  leaseToken: string | null;
  /** status = 'running' and lease_expires_at > now(), on the database's clock. */
  leaseLive: boolean;
}

export interface ClassifyInput {
  /** The string value, or null for a non-string key (a hash another library uses as a lock). */
  value: string | null;
  /** Redis PTTL: -1 for no expiry. */
  pttlMs: number;
  /** The SDK's keys hold the run's lease token, so the value must match it. */
  compareToken: boolean;
  /** Whether any rule (the SDK prefix, a template) maps the key to a run. */
  mapped: boolean;
  run: LockRunState | null;
  /** The lock's full TTL when it was set (PTTL + idle time), when known. */
  ttlEstimateMs: number | null;
  /** p99 duration of the run's task over its recent finished runs, when there are enough of them. */
  taskP99Ms: number | null;
  /** The SDK extends its lock with every heartbeat, so its TTL need not cover the whole task. */
  extendedByHeartbeat: boolean;
}

export type LockWarningCode = "shared_value" | "ttl_below_p99" | "unmapped";

export interface LockWarning {
  code: LockWarningCode;
  message: string;
}

export interface Classification {
  class: LockClass;
  /** The other classes that also apply, in precedence order. */
  flags: LockClass[];
  warnings: LockWarning[];
}

/** Values any holder could have written: with these, compare-and-delete cannot tell holders apart. */
const SHARED_VALUES = new Set(["1", "0", "true", "yes", "ok", "on", "lock", "locked", "processing", "running", "busy", "taken", "held", "x", ""]);
/** Shorter than this, a value is too easy for two holders to share (a UUID has 36 characters). */
const MIN_TOKEN_LENGTH = 16;

export function isSharedValue(value: string): boolean {
  return SHARED_VALUES.has(value.trim().toLowerCase()) || value.length < MIN_TOKEN_LENGTH;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Postgres prints uuids in lowercase; a worker in another language may have written uppercase. */
export function tokensMatch(value: string | null, leaseToken: string | null): boolean {
  if (value === null || leaseToken === null) return false;
  if (value === leaseToken) return true;
  return UUID.test(value) && value.toLowerCase() === leaseToken.toLowerCase();
}

function humanMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

export function classifyLock(input: ClassifyInput): Classification {
  const { run } = input;
  const liveLease = run !== null && run.status === "running" && run.leaseLive;
  const tokenOk = !input.compareToken || tokensMatch(input.value, run?.leaseToken ?? null);

  const applies: Record<LockClass, boolean> = {
    held: liveLease && tokenOk,
    no_ttl: input.pttlMs === -1,
    token_mismatch: run !== null && input.compareToken && !tokensMatch(input.value, run.leaseToken),
    stale: run !== null && !liveLease,
    orphaned: run === null,
  };
  // A token mismatch only decides the class while someone else holds a live lease; on a finished run
  // it is a detail of a stale lock (shown as a flag).
  const primaryCandidates: Record<LockClass, boolean> = { ...applies, token_mismatch: applies.token_mismatch && liveLease };
  const primary = lockClasses.find((c) => primaryCandidates[c]) ?? "orphaned";
  const flags = lockClasses.filter((c) => c !== primary && applies[c]);

  const warnings: LockWarning[] = [];
  if (input.value !== null && isSharedValue(input.value)) {
    warnings.push({
      code: "shared_value",
      message: `The value ${JSON.stringify(input.value.length > 40 ? `${input.value.slice(0, 40)}…` : input.value)} is not a unique token: any holder (or any other worker) can delete this lock, not only the one that took it.`,
    });
  }
  if (
    !input.extendedByHeartbeat &&
    input.ttlEstimateMs !== null &&
    input.taskP99Ms !== null &&
    input.pttlMs !== -1 &&
    input.ttlEstimateMs < input.taskP99Ms
  ) {
    warnings.push({
      code: "ttl_below_p99",
      message: `Its TTL (about ${humanMs(input.ttlEstimateMs)}) is shorter than the task's p99 duration (${humanMs(input.taskP99Ms)}): the lock can expire while the work goes on, and a second worker can start the same work.`,
    });
  }
  if (!input.mapped) {
    warnings.push({
      code: "unmapped",
      message: "No key template maps this key to a run, so the console cannot tell whether whoever wrote it still needs it.",
    });
  }
  return { class: primary, flags, warnings };
}

/** Releasing these needs only a confirmation; `held` needs the key typed back and a reason. */
export function releasableWithoutTyping(lockClass: LockClass): boolean {
  return lockClass !== "held";
}
