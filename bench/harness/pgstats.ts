import { setTimeout as sleep } from "node:timers/promises";
import type postgres from "postgres";
import type { ResultTable } from "./types";
import { thousands } from "./tables";

/**
 * What the contenders cost Postgres, from the statistics of their own database (so other users of
 * the server do not count): rows written, how many updates were HOT (no index touched), buffer
 * accesses, and how much the tables and their indexes grew.
 */
export interface TableStats {
  inserts: number;
  updates: number;
  hotUpdates: number;
  indexes: number;
}

export interface WriteStats {
  inserts: number;
  updates: number;
  hotUpdates: number;
  heapBlocks: number;
  indexBlocks: number;
  tableBytes: number;
  indexBytes: number;
  /** Per table, keyed `schema.table` (partitions under their parent): where the rows went. */
  tables: Record<string, TableStats>;
}

interface StatsRow {
  name: string;
  inserts: string;
  updates: string;
  hot_updates: string;
  heap_blocks: string;
  index_blocks: string;
  table_bytes: string;
  index_bytes: string;
  indexes: string;
}

async function readStats(sql: postgres.Sql): Promise<WriteStats> {
  await sql`SELECT pg_stat_clear_snapshot()`;
  const rows = await sql<StatsRow[]>`
    SELECT coalesce(
             (SELECT pn.nspname || '.' || pc.relname FROM pg_inherits h
              JOIN pg_class pc ON pc.oid = h.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
              WHERE h.inhrelid = s.relid LIMIT 1),
             s.schemaname || '.' || s.relname) AS name,
           s.n_tup_ins::text AS inserts,
           s.n_tup_upd::text AS updates,
           s.n_tup_hot_upd::text AS hot_updates,
           (coalesce(io.heap_blks_hit, 0) + coalesce(io.heap_blks_read, 0)
            + coalesce(io.toast_blks_hit, 0) + coalesce(io.toast_blks_read, 0))::text AS heap_blocks,
           (coalesce(io.idx_blks_hit, 0) + coalesce(io.idx_blks_read, 0))::text AS index_blocks,
           pg_table_size(s.relid)::text AS table_bytes,
           pg_indexes_size(s.relid)::text AS index_bytes,
           (SELECT count(*) FROM pg_index i WHERE i.indrelid = s.relid)::text AS indexes
    FROM pg_stat_user_tables s JOIN pg_statio_user_tables io USING (relid)`;
  const total: WriteStats = { inserts: 0, updates: 0, hotUpdates: 0, heapBlocks: 0, indexBlocks: 0, tableBytes: 0, indexBytes: 0, tables: {} };
  for (const row of rows) {
    const t = { inserts: Number(row.inserts), updates: Number(row.updates), hotUpdates: Number(row.hot_updates), indexes: Number(row.indexes) };
    // Partitions (pg-boss keeps one per queue) are counted under their parent table.
    const seen = total.tables[row.name];
    total.tables[row.name] = seen
      ? { inserts: seen.inserts + t.inserts, updates: seen.updates + t.updates, hotUpdates: seen.hotUpdates + t.hotUpdates, indexes: Math.max(seen.indexes, t.indexes) }
      : t;
    total.inserts += t.inserts;
    total.updates += t.updates;
    total.hotUpdates += t.hotUpdates;
    total.heapBlocks += Number(row.heap_blocks);
    total.indexBlocks += Number(row.index_blocks);
    total.tableBytes += Number(row.table_bytes);
    total.indexBytes += Number(row.index_bytes);
  }
  return total;
}

export async function statsBaseline(sql: postgres.Sql): Promise<WriteStats> {
  return readStats(sql);
}

/**
 * Backends report their counters when they exit, a moment after the pool has closed: poll until two
 * readings agree and at least `minInserts` rows have been counted (or give up after `timeoutMs`).
 */
export async function settledStats(sql: postgres.Sql, minInserts: number, timeoutMs = 15_000): Promise<{ stats: WriteStats; settled: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let previous = await readStats(sql);
  for (;;) {
    await sleep(300);
    const current = await readStats(sql);
    const same = JSON.stringify(current) === JSON.stringify(previous);
    if (same && current.inserts >= minInserts) return { stats: current, settled: true };
    if (Date.now() > deadline) return { stats: current, settled: false };
    previous = current;
  }
}

type Counter = Exclude<keyof WriteStats, "tables">;

export function perOp(before: WriteStats, after: WriteStats, ops: number) {
  const d = (k: Counter) => (after[k] - before[k]) / ops;
  const updates = after.updates - before.updates;
  return {
    inserts: d("inserts"),
    updates: d("updates"),
    hotShare: updates > 0 ? (after.hotUpdates - before.hotUpdates) / updates : Number.NaN,
    blocks: d("heapBlocks") + d("indexBlocks"),
    tableBytes: d("tableBytes"),
    indexBytes: d("indexBytes"),
  };
}

/** For the method notes of suites that print a cost table. */
export const COST_TABLE_NOTE =
  "The cost table reads each contender's own database statistics after its pools have closed (`pg_stat_user_tables`, " +
  "`pg_statio_user_tables`, `pg_table_size`, `pg_indexes_size`), divided by every operation it ran, warm-ups included. " +
  "HOT updates touched no index. Table bytes include dead row versions not yet vacuumed, so they move with autovacuum's " +
  "timing; rows, HOT share, buffer accesses and index bytes are steadier.";

export interface CostRow {
  label: string;
  ops: number;
  before: WriteStats;
  after: WriteStats;
  settled: boolean;
}

export function costTable(title: string, rows: CostRow[]): ResultTable {
  return {
    title,
    columns: ["contender", "ops counted", "rows inserted/op", "rows updated/op", "HOT updates", "buffer accesses/op", "table bytes/op", "index bytes/op"],
    numeric: [1, 2, 3, 4, 5, 6, 7],
    rows: rows.map((r) => {
      const p = perOp(r.before, r.after, r.ops);
      return [
        r.label + (r.settled ? "" : " (stats not settled)"),
        thousands(r.ops),
        p.inserts.toFixed(2),
        p.updates.toFixed(2),
        Number.isFinite(p.hotShare) ? `${(p.hotShare * 100).toFixed(0)}%` : "-",
        p.blocks.toFixed(1),
        thousands(p.tableBytes),
        thousands(p.indexBytes),
      ];
    }),
  };
}

/**
 * Where each operation's writes went, e.g. "idem.task_runs 1.00 ins + 1.00 upd (0% HOT, 14 indexes)":
 * the tables that received at least 0.05 rows per operation, most first.
 */
export function writesByTable(before: WriteStats, after: WriteStats, ops: number): string {
  const parts = Object.entries(after.tables)
    .map(([name, t]) => {
      const b = before.tables[name] ?? { inserts: 0, updates: 0, hotUpdates: 0, indexes: t.indexes };
      const ins = (t.inserts - b.inserts) / ops;
      const updates = t.updates - b.updates;
      const upd = updates / ops;
      const hot = updates > 0 ? `, ${(((t.hotUpdates - b.hotUpdates) / updates) * 100).toFixed(0)}% HOT` : "";
      return { name, weight: ins + upd, text: `\`${name}\` ${ins.toFixed(2)} ins${upd >= 0.05 ? ` + ${upd.toFixed(2)} upd` : ""} (${t.indexes} indexes${upd >= 0.05 ? hot : ""})` };
    })
    .filter((p) => p.weight >= 0.05)
    .sort((a, b) => b.weight - a.weight);
  return parts.map((p) => p.text).join(", ") || "nothing";
}
