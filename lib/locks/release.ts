import "server-only";
import type postgres from "postgres";
import type { Json } from "@/lib/ledger/json";
import type { LockClass } from "./classify";
import { withLockCommands, type RedisClient } from "./commands";
import { isInventoried, type LockConfig } from "./config";
import { displayBytes, inspectLocks, type LockEntry } from "./inventory";
import { typableKey } from "./view";

/**
 * The console's release: compare-and-delete (RELEASE_SEEN_LUA: the SDK's release, which compares the value,
 * plus a check of the TTL) with the exact value the operator saw and the TTL they saw, so a lock set again
 * with the same shared value ("processing") since the page loaded is not deleted. Before that, the server reads the lock again and classifies it
 * the way the screen did, so a lock that became `held` since the page loaded is not released without
 * the key typed back and a reason. If the value is no longer the one seen, nothing is deleted and the
 * operator is told what is there now.
 */
export interface ReleaseRequest {
  /** As shown (the text, or the bytes escaped when binary). */
  key: string;
  /** The exact bytes; the key's UTF-8 when absent. */
  keyRaw?: Buffer;
  /** The exact bytes shown on screen (text is taken as UTF-8): the compare half of compare-and-delete. */
  valueSeen: Buffer | string;
  classSeen: LockClass;
  /** The PTTL shown and when it was read (server clock); null: compare the value only (an API caller that did not send them). */
  seen?: SeenTtl | null;
  reason: string | null;
  /** The key typed back by the operator; required when the lock is held. */
  confirmKey: string | null;
  /** Also end the run's lease now (its worker is gone), by CAS on the lease token the operator saw. */
  expireLease: boolean;
  leaseTokenSeen: string | null;
}

export interface SeenTtl {
  pttlMs: number;
  atMs: number;
}

export interface CurrentState {
  /** As shown (escaped when binary). */
  value: string;
  pttlMs: number;
  class: LockClass | null;
  /** Same value, but its TTL is not the one seen run down: set again or extended since. */
  ttlChanged?: { pttlSeen: number; elapsedMs: number };
}

/**
 * Slack for the TTL comparison: clocks of two console instances (seenAt from one, the release on
 * another) and Redis's millisecond rounding. A lock set again more than this after it was last set
 * before the page loaded is told apart.
 */
export const TTL_TOLERANCE_MS = 250;

export type LeaseExpiry =
  | { expired: true; runId: number; fencingToken: number }
  | { expired: false; runId: number; why: string };

export type ReleaseOutcome =
  | { result: "released"; lock: LockEntry; lease: LeaseExpiry | null }
  | { result: "changed"; current: CurrentState }
  | { result: "gone" }
  | {
      result: "refused";
      why: "not_inventoried" | "needs_confirmation" | "held_in_bulk" | "lease_not_this_locks";
      message: string;
      lock: LockEntry | null;
    };

export interface Operator {
  actor: string;
  requestId: string;
}

function describeCurrent(lock: LockEntry): CurrentState {
  // The preview, not the text: it escapes what the audit log's jsonb cannot hold (U+0000).
  return { value: lock.preview, pttlMs: lock.pttlMs, class: lock.classification.class };
}

type Normalised = ReleaseRequest & { keyRaw: Buffer; valueSeen: Buffer; seen: SeenTtl | null };

function normalise(request: ReleaseRequest): Normalised {
  const valueSeen = typeof request.valueSeen === "string" ? Buffer.from(request.valueSeen, "utf8") : request.valueSeen;
  const keyRaw = request.keyRaw ?? Buffer.from(request.key, "utf8");
  return { ...request, key: displayBytes(keyRaw), keyRaw, valueSeen, seen: request.seen ?? null };
}

/** Checks that need no Redis write: refused, changed or gone before compare-and-delete is even tried. */
function precheck(
  config: LockConfig,
  request: Normalised,
  current: LockEntry | null | undefined,
  bulk: boolean,
): Exclude<ReleaseOutcome, { result: "released" }> | null {
  if (!isInventoried(config, request.keyRaw)) {
    return {
      result: "refused",
      why: "not_inventoried",
      message: "This key is not under any configured lock pattern, so the console will not touch it.",
      lock: null,
    };
  }
  if (!current) return { result: "gone" };
  // A value the console cannot compare (not a string, too long) is never equal to one it showed.
  if (!current.raw || !current.raw.equals(request.valueSeen)) return { result: "changed", current: describeCurrent(current) };
  if (current.classification.class === "held") {
    const run = current.run ? `run #${current.run.id} (${current.run.taskName}), whose lease is live` : "a live run";
    if (bulk) {
      return {
        result: "refused",
        why: "held_in_bulk",
        message: `Held by ${run}: held locks are released one at a time, with the key typed back and a reason.`,
        lock: current,
      };
    }
    if (request.confirmKey !== typableKey(request.key) || !request.reason?.trim()) {
      return {
        result: "refused",
        why: "needs_confirmation",
        message:
          request.classSeen === "held"
            ? `Held by ${run}: releasing it needs the key typed back exactly and a reason.`
            : `It is now held by ${run} (it was ${request.classSeen} when the page loaded). Reload, and release it as a held lock if you must: that needs the key typed back and a reason.`,
        lock: current,
      };
    }
  }
  if (request.expireLease) return precheckLeaseExpiry(request, current);
  return null;
}

/**
 * Ending a run's lease through a lock is only safe when the lock IS that lease: an SDK key, whose value
 * is the lease token, held right now (its run running under exactly that token), and seen that way by
 * the operator. Any other combination could end a different, live worker's lease (a token_mismatch
 * lock points at a run another worker holds now; a foreign lock's value says nothing about leases), so
 * the whole request is refused before anything is deleted, and audited as refused.
 */
function precheckLeaseExpiry(request: Normalised, current: LockEntry): Exclude<ReleaseOutcome, { result: "released" }> | null {
  const refuse = (message: string) => ({ result: "refused" as const, why: "lease_not_this_locks" as const, message, lock: current });
  if (current.mapping?.source !== "sdk") {
    return refuse("only the Idem SDK's own locks hold their run's lease token; this key's value says nothing about any lease, so the console will not end one through it.");
  }
  if (!current.run) return refuse("no run maps to this lock, so there is no lease to end.");
  if (request.leaseTokenSeen === null || !Buffer.from(request.leaseTokenSeen, "utf8").equals(request.valueSeen)) {
    return refuse(`the lease token sent is not this lock's value, so the lock does not belong to that lease. Run #${current.run.id}'s lease was not touched.`);
  }
  if (request.classSeen !== "held" || current.classification.class !== "held") {
    return refuse(
      `a lease is ended only through the lock of a run that is running under it (held), as seen on screen and as it is now; this lock was ${request.classSeen.replace("_", " ")} when the page loaded and is ${current.classification.class.replace("_", " ")} now. Reload the page.`,
    );
  }
  return null;
}

/**
 * Ends the run's lease now, by compare-and-set on the lease token the operator saw, with its
 * run_events row in the same statement (the ledger's rule for every change). A run whose token changed
 * (claimed again) or that is no longer running matches no row and is left alone. Never extends a lease.
 */
export async function expireLeaseByOperator(
  sql: postgres.Sql,
  input: { runId: number; leaseTokenSeen: string; actor: string; lockKey: string; reason: string | null; requestId: string },
): Promise<{ runId: number; fencingToken: number } | null> {
  const rows = await sql<{ id: string; fencing_token: string }[]>`
    WITH prev AS (
      SELECT id, lease_expires_at, lease_owner FROM idem.task_runs WHERE id = ${input.runId}
    ), expired AS (
      UPDATE idem.task_runs r
      SET lease_expires_at = LEAST(r.lease_expires_at, now()), updated_at = now()
      FROM prev
      WHERE r.id = prev.id AND r.lease_token = ${input.leaseTokenSeen}::uuid AND r.status = 'running'
      RETURNING r.id, r.fencing_token, prev.lease_expires_at AS previous_lease_expires_at, prev.lease_owner
    ), event AS (
      INSERT INTO idem.run_events (run_id, kind, actor, fencing_token, detail)
      SELECT id, 'lease_expired_by_operator', ${input.actor}, fencing_token,
             jsonb_build_object('lock_key', ${input.lockKey}::text, 'lease_owner', lease_owner,
                                'previous_lease_expires_at', previous_lease_expires_at,
                                'reason', ${input.reason}::text, 'request_id', ${input.requestId}::text)
      FROM expired
    )
    SELECT id, fencing_token FROM expired`;
  const row = rows[0];
  return row ? { runId: Number(row.id), fencingToken: Number(row.fencing_token) } : null;
}

async function compareAndDelete(
  redis: RedisClient,
  sql: postgres.Sql,
  request: Normalised,
  current: LockEntry,
  operator: Operator,
): Promise<ReleaseOutcome> {
  const elapsedMs = request.seen ? Math.max(0, Date.now() - request.seen.atMs) : 0;
  const reply = await withLockCommands(redis).idemReleaseSeenLockBuffer(request.keyRaw, request.valueSeen, request.seen?.pttlMs ?? "", elapsedMs, TTL_TOLERANCE_MS);
  if (reply[0] !== 1) {
    // Changed or deleted between our read and the script: the script is what decides.
    const [, value, pttlMs, why] = reply;
    if (value === null || value === undefined) return { result: "gone" };
    const ttlChanged = why !== undefined && request.seen ? { pttlSeen: request.seen.pttlMs, elapsedMs } : undefined;
    return { result: "changed", current: { value: displayBytes(value), pttlMs, class: null, ...(ttlChanged ? { ttlChanged } : {}) } };
  }
  let lease: LeaseExpiry | null = null;
  if (request.expireLease) {
    // precheckLeaseExpiry refused the request unless a run maps to this lock and the token sent is the
    // lock's value; the CAS is on that token, not on the run's token now.
    const run = current.run!;
    const expired = await expireLeaseByOperator(sql, {
      runId: run.id,
      leaseTokenSeen: request.leaseTokenSeen!,
      actor: operator.actor,
      lockKey: request.key,
      reason: request.reason,
      requestId: operator.requestId,
    });
    lease = expired
      ? { expired: true, ...expired }
      : { expired: false, runId: run.id, why: "the run is no longer running under the lease you saw (it finished or was claimed again)" };
  }
  return { result: "released", lock: current, lease };
}

export async function releaseInventoriedLock(
  redis: RedisClient,
  sql: postgres.Sql,
  config: LockConfig,
  original: ReleaseRequest,
  operator: Operator,
): Promise<ReleaseOutcome> {
  const request = normalise(original);
  const current = isInventoried(config, request.keyRaw) ? (await inspectLocks(redis, sql, config, [request.keyRaw])).get(request.key) : null;
  const early = precheck(config, request, current, false);
  if (early) return early;
  return compareAndDelete(redis, sql, request, current!, operator);
}

export interface BulkItem {
  key: string;
  keyRaw?: Buffer;
  valueSeen: Buffer | string;
  classSeen: LockClass;
  seen?: SeenTtl | null;
}

/**
 * Releases exactly the locks the operator selected (a frozen list of key + value pairs, never "whatever
 * matches now"), each by compare-and-delete. Held locks are refused here: they go one at a time.
 */
export async function releaseSelectedLocks(
  redis: RedisClient,
  sql: postgres.Sql,
  config: LockConfig,
  items: BulkItem[],
  reason: string | null,
  operator: Operator,
  onEach?: (item: BulkItem, outcome: ReleaseOutcome, index: number) => Promise<void>,
): Promise<ReleaseOutcome[]> {
  const requests = items.map((item) => normalise({ ...item, reason, confirmKey: null, expireLease: false, leaseTokenSeen: null }));
  const current = await inspectLocks(redis, sql, config, requests.map((r) => r.keyRaw));
  const outcomes: ReleaseOutcome[] = [];
  for (const [index, item] of items.entries()) {
    const request = requests[index]!;
    const lock = current.get(request.key);
    const outcome = precheck(config, request, lock, true) ?? (await compareAndDelete(redis, sql, request, lock!, operator));
    outcomes.push(outcome);
    await onEach?.(item, outcome, index);
  }
  return outcomes;
}

/** What the audit log keeps of an outcome (JSON), and one sentence for the operator. */
export function describeOutcome(key: string, valueSeenBytes: Buffer | string, outcome: ReleaseOutcome): { message: string; detail: { [field: string]: Json } } {
  const valueSeen = displayBytes(valueSeenBytes);
  const shown = (value: string) => JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  const ttl = (ms: number) => (ms === -1 ? "no TTL" : ms < 0 ? "expired" : `expires in ${ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`}`);
  switch (outcome.result) {
    case "released": {
      const lease = outcome.lease;
      const leaseText = !lease
        ? ""
        : lease.expired
          ? ` Run #${lease.runId}'s lease is now expired, so another worker can take it over.`
          : ` The run's lease was left alone: ${lease.why}.`;
      return {
        message: `Released ${key} (it held ${shown(valueSeen)}).${leaseText}`,
        detail: {
          result: "released",
          class: outcome.lock.classification.class,
          runId: outcome.lock.run?.id ?? null,
          lease: lease ? (lease.expired ? { expired: true, runId: lease.runId } : { expired: false, why: lease.why }) : null,
        },
      };
    }
    case "changed":
      if (outcome.current.ttlChanged) {
        const { pttlSeen, elapsedMs } = outcome.current.ttlChanged;
        const was = pttlSeen === -1 ? "no TTL" : `${ttl(Math.max(0, pttlSeen - elapsedMs))} by now`;
        return {
          message: `Nothing was deleted: ${key} still holds ${shown(valueSeen)}, but it was set again or extended since you loaded the page (it would have had ${was}; it has ${ttl(outcome.current.pttlMs)}). Another holder may have taken it with the same value, or its holder is alive. Reload to see its new state.`,
          detail: { result: "changed", current: { value: outcome.current.value, pttlMs: outcome.current.pttlMs, class: null }, ttlChanged: { pttlSeen, elapsedMs } },
        };
      }
      return {
        message: `Nothing was deleted: ${key} changed since you loaded the page. It now holds ${shown(outcome.current.value)} (${ttl(outcome.current.pttlMs)}${outcome.current.class ? `, ${outcome.current.class.replace("_", " ")}` : ""}), not ${shown(valueSeen)}. Reload to see its new state.`,
        detail: { result: "changed", current: { value: outcome.current.value, pttlMs: outcome.current.pttlMs, class: outcome.current.class } },
      };
    case "gone":
      return { message: `Nothing was deleted: ${key} no longer exists (it expired or someone released it).`, detail: { result: "gone" } };
    case "refused":
      return { message: `Not released: ${outcome.message}`, detail: { result: "refused", why: outcome.why, class: outcome.lock?.classification.class ?? null } };
  }
}
