import { getSql } from "@/lib/db";
import { env } from "@/lib/env";
import { startStatsFolding, type StatsFolding } from "./stats-maintenance";

const state = globalThis as unknown as { __idemStatsFolding?: StatsFolding };

/**
 * The console keeps the rollups' journals folded while it runs (instrumentation.ts), so the overview
 * reads a handful of rollup rows plus a few seconds of journal. Once per process: dev-mode reloads
 * re-run register().
 */
export function startConsoleStatsFolding(): void {
  if (state.__idemStatsFolding || !env.DATABASE_URL) return;
  state.__idemStatsFolding = startStatsFolding({
    sql: getSql,
    onError: (error) => console.warn(`[idem] folding the overview statistics failed: ${error instanceof Error ? error.message : String(error)}`),
  });
}
