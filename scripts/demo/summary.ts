import type postgres from "postgres";
import type { ScenarioReport } from "./scenarios";

export interface DemoCounts {
  runs: number;
  failed: number;
  pending: number;
  running: number;
  days: number;
  duplicates: number;
  payloadMismatches: number;
}

export async function countDemo(sql: postgres.Sql): Promise<DemoCounts> {
  const [runs] = await sql<{ runs: number; failed: number; pending: number; running: number; days: number }[]>`
    SELECT count(*)::int AS runs,
           count(*) FILTER (WHERE status = 'failed')::int AS failed,
           count(*) FILTER (WHERE status = 'pending')::int AS pending,
           count(*) FILTER (WHERE status = 'running')::int AS running,
           coalesce(extract(epoch FROM now() - min(created_at)) / 86400, 0)::float8 AS days
    FROM idem.task_runs`;
  const [dups] = await sql<{ duplicates: number; mismatches: number }[]>`
    SELECT count(*)::int AS duplicates, count(*) FILTER (WHERE outcome = 'payload_mismatch')::int AS mismatches
    FROM idem.duplicate_attempts`;
  return {
    runs: runs?.runs ?? 0,
    failed: runs?.failed ?? 0,
    pending: runs?.pending ?? 0,
    running: runs?.running ?? 0,
    days: runs?.days ?? 0,
    duplicates: dups?.duplicates ?? 0,
    payloadMismatches: dups?.mismatches ?? 0,
  };
}

const n = (value: number) => value.toLocaleString("en-US");
const plural = (value: number, word: string) => `${n(value)} ${word}${value === 1 ? "" : "s"}`;

/** The line the launcher prints: "demo: 4,213 runs over 3 days, 612 duplicates, 3 stuck locks ...". */
export function summaryLine(counts: DemoCounts, scenarios: ScenarioReport | null): string {
  const stuck = scenarios?.scenarios.filter((s) => s.lockPresent).length ?? 0;
  const foreign = scenarios?.foreignLocks.filter((l) => l.present).length ?? 0;
  return (
    `demo: ${plural(counts.runs, "run")} over ${plural(Math.max(1, Math.round(counts.days)), "day")} ` +
    `(${n(counts.failed)} failed, ${n(counts.pending)} pending, ${n(counts.running)} running), ` +
    `${plural(counts.duplicates, "duplicate")} (${n(counts.payloadMismatches)} payload mismatches), ` +
    `${plural(stuck, "stuck lock")} and ${plural(foreign, "foreign lock")} in Redis`
  );
}
