import type postgres from "postgres";
import type { RunCursor } from "@/lib/ledger/cursor";
import { listRuns, type RunListItem } from "@/lib/ledger/queries";
import { PAGE_SIZE_DEFAULT, pageSizeChoices, type RunFilters } from "@/lib/ledger/run-filters";
import type { RunStatus } from "@/lib/ledger/schema";
import { countStuckRuns } from "@/lib/ledger/stats";
import type { LockClass } from "@/lib/locks/classify";
import type { RedisClient } from "@/lib/locks/commands";
import { buildLockConfig, type LockConfig } from "@/lib/locks/config";
import { emptyCounts, listLocks } from "@/lib/locks/inventory";

/**
 * What an operator sees after a crash, read through the console's own queries: the runs list filtered
 * to stuck runs (lib/ledger/queries.ts listRuns, every page, following its cursors), the overview's
 * stuck-run count (lib/ledger/stats.ts countStuckRuns), and the Locks screen's inventory
 * (lib/locks/inventory.ts listLocks) with its classification. The suite checks these answers against
 * plain SQL and Redis reads (verify.ts checkQuiescent), so a console query that misses a stuck run or
 * a stale lock fails the suite.
 *
 * These modules `import "server-only"`: the suite runs under `tsx --conditions=react-server`, which
 * resolves that import to an empty module, as the Next server does.
 */

/** Every class but `held`: somebody has to look at the lock. */
export type StaleLockClass = Exclude<LockClass, "held">;

export interface StuckRun {
  id: number;
  task: string;
  key: string;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  fencingToken: number;
  attempt: number;
}

export interface StaleLock {
  lockKey: string;
  /** The exact value, the compare half of a compare-and-delete; null when the console cannot compare it. */
  value: string | null;
  preview: string;
  pttlMs: number;
  class: StaleLockClass;
  /** Other classes that also apply (a no_ttl lock on a finished run is also stale). */
  flags: LockClass[];
  runId: number | null;
  runStatus: RunStatus | null;
}

export interface LedgerInspection {
  /** The runs list with status "stuck": running with an expired lease, every page of it. */
  stuckRuns: StuckRun[];
  /** The overview's number of stuck runs, read in its own statement. */
  stuckCount: number;
  /** The runs list with status "pending" (retries waiting for a delivery), every page of it. */
  pendingRuns: RunListItem[];
  /** Pages of the runs list read. */
  pages: number;
  staleLocks: StaleLock[];
  /** Locks the inventory classifies `held`: a live lease whose token is the lock's value. */
  liveLocks: number;
  lockCounts: Record<LockClass, number>;
  /**
   * Why the locks could not be read (Redis down or not answering), or null. Stuck runs come from
   * Postgres alone and are still reported; staleLocks is then empty and means "unknown", not "none".
   */
  locksUnavailable: string | null;
  /** The inventory stopped at its key cap: it did not see every lock. */
  locksCapped: boolean;
}

/** The console's lock configuration for the suite's own Redis: the SDK's prefix, no foreign patterns, no cap in practice. */
export function suiteLockConfig(sdkPrefix: string): LockConfig {
  return buildLockConfig({ sdkPrefix, maxKeys: 1_000_000 });
}

const LIST_DEFAULTS: Omit<RunFilters, "status"> = { keyMatch: "exact", hasDuplicates: false, isRetry: false, sort: "created", order: "desc" };
/** The list's smallest page size, so that a few dozen stuck runs already take several pages. */
const SMALL_PAGE = pageSizeChoices[0];
const MAX_PAGES = 100_000;

/**
 * Every run the runs list shows for these filters, walking its keyset pages with the cursors it hands
 * out, as "Next" does. A run seen twice, or a cursor that does not move, is a pagination bug: thrown.
 */
export async function listEveryRun(
  sql: postgres.Sql,
  filters: Pick<RunFilters, "status">,
  pageSize: number = PAGE_SIZE_DEFAULT,
): Promise<{ runs: RunListItem[]; pages: number }> {
  const runs: RunListItem[] = [];
  const seen = new Set<number>();
  let cursor: RunCursor | undefined;
  let pages = 0;
  do {
    const page = await listRuns(sql, { ...LIST_DEFAULTS, ...filters, pageSize, cursor });
    pages++;
    if (page.runs.length > pageSize) throw new Error(`the runs list returned ${page.runs.length} runs for a page of ${pageSize}`);
    for (const run of page.runs) {
      if (seen.has(run.id)) throw new Error(`the runs list showed run ${run.id} twice (status filter ${filters.status ?? "none"}, page ${pages})`);
      seen.add(run.id);
      runs.push(run);
    }
    if (page.nextCursor && page.runs.length === 0) throw new Error(`the runs list handed out a next cursor after an empty page ${pages}`);
    cursor = page.nextCursor ?? undefined;
    if (pages > MAX_PAGES) throw new Error(`the runs list did not end after ${MAX_PAGES} pages`);
  } while (cursor);
  return { runs, pages };
}

/**
 * Stuck runs and stale locks, as the console shows them. Needs a pool like the console's (lib/db.ts
 * createSql): the inventory sends array parameters, which postgres.js serializes only with the array
 * types it fetches per connection.
 *
 * While workers are running, a lock can look stale for a moment that is not (`orphaned` between a
 * worker's SET NX and its claim, `stale` between SET NX and a takeover); an operator view should
 * treat a lock as stale only if it stays so, which `pttlMs` and a second look show.
 */
export async function findStuckRunsAndStaleLocks(sql: postgres.Sql, redis: RedisClient, config: LockConfig): Promise<LedgerInspection> {
  const [stuck, pending, stuckCount] = await Promise.all([
    listEveryRun(sql, { status: "stuck" }, SMALL_PAGE),
    listEveryRun(sql, { status: "pending" }, SMALL_PAGE),
    countStuckRuns(sql),
  ]);

  let locksUnavailable: string | null = null;
  let locksCapped = false;
  const staleLocks: StaleLock[] = [];
  let lockCounts = emptyCounts();
  try {
    const inventory = await listLocks(redis, sql, config);
    locksCapped = inventory.capped;
    lockCounts = inventory.counts;
    for (const lock of inventory.locks) {
      const lockClass = lock.classification.class;
      if (lockClass === "held") continue;
      staleLocks.push({
        lockKey: lock.key,
        value: lock.value,
        preview: lock.preview,
        pttlMs: lock.pttlMs,
        class: lockClass,
        flags: lock.classification.flags,
        runId: lock.run?.id ?? null,
        runStatus: lock.run?.status ?? null,
      });
    }
  } catch (error) {
    locksUnavailable = error instanceof Error ? error.message : String(error);
  }

  return {
    stuckRuns: stuck.runs.map((run) => ({
      id: run.id,
      task: run.taskName,
      key: run.idempotencyKey,
      leaseOwner: run.leaseOwner,
      leaseExpiresAt: run.leaseExpiresAt,
      fencingToken: run.fencingToken,
      attempt: run.attempt,
    })),
    stuckCount,
    pendingRuns: pending.runs,
    pages: stuck.pages + pending.pages,
    staleLocks,
    liveLocks: lockCounts.held,
    lockCounts,
    locksUnavailable,
    locksCapped,
  };
}

