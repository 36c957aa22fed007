import type postgres from "postgres";

/**
 * Upkeep of the overview's rollups (lib/ledger/stats-schema.ts). Not marked server-only: the console
 * runs the fold loop from instrumentation.ts, and scripts or a worker fleet without a console can call
 * the same functions.
 */

/**
 * Moves the journals into the rollups (idem.fold_stats). Reads are exact without it; it keeps the
 * journals, which every read scans, small. Returns the journal rows moved (0 when another fold is running).
 */
export async function foldStats(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<Array<{ folded: number }>>`SELECT idem.fold_stats() AS folded`;
  return Number(row?.folded ?? 0);
}

/**
 * Recomputes every rollup from the ledger (idem.rebuild_stats), holding writers off while it runs.
 * For after a bulk load that bypassed the triggers (session_replication_role = replica).
 */
export async function rebuildStats(sql: postgres.Sql): Promise<void> {
  await sql`SELECT idem.rebuild_stats()`;
}

export interface StatsFolding {
  stop(): Promise<void>;
}

/**
 * Folds every `everyMs` for the life of the process. Never overlaps itself, never keeps the process
 * alive, and reports a failing database once a minute rather than on every tick.
 */
export function startStatsFolding(options: {
  sql: () => postgres.Sql;
  everyMs?: number;
  onError?: (error: unknown) => void;
}): StatsFolding {
  const everyMs = options.everyMs ?? 5_000;
  let lastReport = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = foldStats(options.sql())
      .then(() => undefined)
      .catch((error: unknown) => {
        if (Date.now() - lastReport > 60_000) {
          lastReport = Date.now();
          options.onError?.(error);
        }
      })
      .finally(() => {
        if (stopped) return;
        // The next fold is timed from the end of this one, so a slow fold is never overlapped.
        timer = setTimeout(tick, everyMs);
        timer.unref();
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
