import { performance } from "node:perf_hooks";
import { CONSOLE_SQL_OPTIONS, createSql } from "@/lib/db";
import { env } from "@/lib/env";
import { migrateDatabase } from "@/lib/migrate";
import { buildCases, pickParameters, type Picks, type QueryCase } from "./console-cases";
import { DAYS, loadLedger, planLoad, relationSizes, TASKS, type LoadResult, type RelationSize } from "./console-data";
import { explainCase, type CaseExplain } from "./console-explain";
import { loadAverage } from "./harness/environment";
import { formatMs, percentile } from "./harness/measure";
import { thousands } from "./harness/tables";
import type { ResultTable, Suite, SuiteContext, SuiteReport } from "./harness/types";

/**
 * The console's queries on a ledger of 1M and 10M runs (100k with --quick): each size gets a fresh
 * database, loaded by bench/console-data.ts, then every case of bench/console-cases.ts is timed
 * through the console's own query functions, and every case over the target is EXPLAINed.
 */

const TARGET_MS = 50;
const FULL_SIZES = [1_000_000, 10_000_000];
const QUICK_SIZES = [100_000];
/** A case stops being repeated once its measured calls have taken this long (a pathological plan). */
const CASE_BUDGET_MS = 20_000;
/**
 * Warm-up rounds of the prepared-statement pass: enough for every statement to have run five times on
 * each connection of the pool, after which Postgres settles on a custom or a generic plan for good.
 */
const PREPARED_WARMUP = 20;
const STATEMENT_TIMEOUT = "30 s";

interface CaseTiming {
  case: QueryCase;
  samples: number[];
  rows: number;
  error: string | null;
}

interface SizeResult {
  runs: number;
  label: string;
  load: LoadResult;
  sizes: RelationSize[];
  databaseBytes: number;
  picks: Picks;
  timings: CaseTiming[];
  /** The same cases on named prepared statements (the console's client before CONSOLE_SQL_OPTIONS), if that differs. */
  prepared: CaseTiming[] | null;
  preparedWarmup: number;
  explains: Map<string, CaseExplain>;
  loadDuringTimings: { start: string; end: string };
  rounds: number;
  warmup: number;
}

const sizeLabel = (runs: number) => (runs >= 1_000_000 ? `${runs / 1_000_000}M` : `${runs / 1_000}k`);
const mib = (bytes: number) =>
  bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(0)} MiB` : `${Math.round(bytes / 1024)} KiB`;
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted.at(-1) ?? Number.NaN, n: sorted.length };
}

/**
 * Round-robin: every round calls every case once, in table order, so a burst of background load hits
 * all cases alike and each statement sees the others' traffic on the pool, as in the console.
 */
async function measureCases(cases: QueryCase[], warmup: number, rounds: number, ctx: SuiteContext): Promise<CaseTiming[]> {
  const timings = cases.map((c): CaseTiming => ({ case: c, samples: [], rows: 0, error: null }));
  const spent = new Map<string, number>();
  for (let round = -warmup; round < rounds; round++) {
    for (const timing of timings) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error("interrupted");
      if (timing.error !== null || (spent.get(timing.case.id) ?? 0) > CASE_BUDGET_MS) continue;
      const started = performance.now();
      try {
        timing.rows = await timing.case.run(round + warmup);
      } catch (error) {
        timing.error = message(error);
        ctx.log(`    ${timing.case.group} / ${timing.case.label}: ${timing.error}`);
        continue;
      }
      const ms = performance.now() - started;
      if (round >= 0) {
        timing.samples.push(ms);
        spent.set(timing.case.id, (spent.get(timing.case.id) ?? 0) + ms);
      }
    }
    if (round === -1 || (round >= 0 && (round + 1) % 10 === 0)) ctx.log(`    ${round < 0 ? "warm-up done" : `round ${round + 1}/${rounds}`}; load ${loadAverage()}`);
  }
  return timings;
}

async function runSize(ctx: SuiteContext, runs: number): Promise<SizeResult> {
  const label = sizeLabel(runs);
  ctx.log(`\n  --- ${label} runs`);
  const db = await ctx.resources.createDatabase(`console_${label}`);
  try {
    await migrateDatabase(db.url);
    const loader = db.connect(1, "idem-bench-console-load");
    // Ctrl-C: end the loading session at once, so a long INSERT does not hold up the cleanup.
    const stop = () => void loader.end({ timeout: 0 });
    ctx.signal.addEventListener("abort", stop, { once: true });
    const plan = planLoad(runs);
    let load: LoadResult;
    let sizes: RelationSize[];
    let databaseBytes: number;
    try {
      // Bounds a pathological plan; applies to the sessions opened after this (the timing pool), not to the loader's.
      await loader`ALTER DATABASE ${loader(db.name)} SET statement_timeout = '30s'`;
      ctx.log(`  loading ${thousands(runs)} runs into ${db.name} (load average ${loadAverage()})`);
      load = await loadLedger(loader, plan, ctx.log, ctx.signal);
      ctx.log(`  loaded in ${load.seconds.toFixed(0)} s`);
      sizes = await relationSizes(loader);
      const [row] = await loader<Array<{ bytes: string }>>`SELECT pg_database_size(current_database())::text AS bytes`;
      databaseBytes = Number(row?.bytes ?? 0);
    } finally {
      ctx.signal.removeEventListener("abort", stop);
      await loader.end({ timeout: 5 });
    }

    const picker = db.connect(1, "idem-bench-console-picks");
    let picks: Picks;
    try {
      picks = await pickParameters(picker, plan);
    } finally {
      await picker.end({ timeout: 5 });
    }

    // The console's own client (lib/db.ts CONSOLE_SQL_OPTIONS, pool size IDEM_DB_POOL_MAX).
    const warmup = ctx.mode === "quick" ? 1 : 3;
    const rounds = ctx.mode === "quick" ? 5 : 30;
    const loadStart = loadAverage();
    const pool = createSql(db.url, { ...CONSOLE_SQL_OPTIONS, max: env.IDEM_DB_POOL_MAX, applicationName: "idem-bench-console" });
    let timings: CaseTiming[];
    try {
      const cases = buildCases(pool, picks);
      ctx.log(`  timing ${cases.length} queries on the console's client: ${warmup} warm-up + ${rounds} measured round(s)`);
      timings = await measureCases(cases, warmup, rounds, ctx);
    } finally {
      await pool.end({ timeout: 5 });
    }
    // The same on named prepared statements, in the steady state where each statement has settled on
    // a custom or a generic plan: what the console did before it stopped preparing statements.
    let prepared: CaseTiming[] | null = null;
    const preparedWarmup = ctx.mode === "quick" ? 6 : PREPARED_WARMUP;
    const consolePrepares: boolean = CONSOLE_SQL_OPTIONS.prepare;
    if (!consolePrepares) {
      const preparedPool = createSql(db.url, { max: env.IDEM_DB_POOL_MAX, applicationName: "idem-bench-console-prepared", prepare: true });
      try {
        ctx.log(`  timing them again on prepared statements: ${preparedWarmup} warm-up + ${rounds} measured round(s)`);
        prepared = await measureCases(buildCases(preparedPool, picks), preparedWarmup, rounds, ctx);
      } finally {
        await preparedPool.end({ timeout: 5 });
      }
    }
    const loadEnd = loadAverage();

    const explains = new Map<string, CaseExplain>();
    const over = (list: CaseTiming[] | null) => new Set((list ?? []).filter((t) => t.error === null && stats(t.samples).p95 > TARGET_MS).map((t) => t.case.id));
    const overPrepared = over(prepared);
    const overConsole = over(timings);
    const slow = timings.filter((t) => overConsole.has(t.case.id) || overPrepared.has(t.case.id));
    if (slow.length) {
      ctx.log(`  EXPLAIN (ANALYZE, BUFFERS) of ${slow.length} case(s) over ${TARGET_MS} ms at p95`);
      for (const timing of slow) {
        if (ctx.signal.aborted) break;
        try {
          const explained = await explainCase(db.url, picks, timing.case.id);
          explains.set(timing.case.id, explained);
          ctx.log(`\n  ${timing.case.group} / ${timing.case.label}:\n${explained.text.map((line) => `    ${line}`).join("\n")}`);
        } catch (error) {
          ctx.log(`    EXPLAIN of ${timing.case.label} failed: ${message(error)}`);
        }
      }
    }
    return { runs, label, load, sizes, databaseBytes, picks, timings, prepared, preparedWarmup, explains, loadDuringTimings: { start: loadStart, end: loadEnd }, rounds, warmup };
  } finally {
    // A 10M database is several GiB: drop it before loading the next size.
    await db.drop();
  }
}

function verdict(p50: number, p95: number): string {
  if (!Number.isFinite(p95)) return "-";
  if (p95 <= TARGET_MS) return "met";
  if (p50 <= TARGET_MS) return `p50 only (p95 ${formatMs(p95)})`;
  return `**missed** (${formatMs(p50)})`;
}

function resultsTable(results: SizeResult[], quick: boolean): ResultTable {
  const largest = results.at(-1)!;
  const withPrepared = results.filter((r) => r.prepared !== null);
  const columns = [
    "screen",
    "query",
    "selects",
    ...results.flatMap((r) => [`${r.label} p50`, `${r.label} p95`, `${r.label} max`]),
    ...withPrepared.map((r) => `${r.label} p50, prepared statements`),
    `rows (${largest.label})`,
    `≤ ${TARGET_MS} ms at ${largest.label}${quick ? " (quick)" : ""}`,
  ];
  const firstExtra = 3 + results.length * 3;
  const numeric = [...results.flatMap((_, i) => [3 + i * 3, 4 + i * 3, 5 + i * 3]), ...withPrepared.map((_, i) => firstExtra + i), firstExtra + withPrepared.length];
  const rows: string[][] = [];
  let group = "";
  for (const timing of largest.timings) {
    const c = timing.case;
    const cells = results.map((r) => r.timings.find((t) => t.case.id === c.id));
    const perSize = cells.flatMap((t) => {
      if (!t) return ["-", "-", "-"];
      if (t.error) return ["error", "", ""];
      const s = stats(t.samples);
      return [formatMs(s.p50), formatMs(s.p95), formatMs(s.max) + (s.n < largest.rounds ? ` (n=${s.n})` : "")];
    });
    const preparedP50 = withPrepared.map((r) => {
      const t = r.prepared?.find((p) => p.case.id === c.id);
      if (!t) return "-";
      if (t.error) return "error";
      return formatMs(stats(t.samples).p50);
    });
    const last = stats(timing.samples);
    rows.push([
      c.group === group ? "" : c.group,
      `\`${c.label}\``,
      c.detail ?? "",
      ...perSize,
      ...preparedP50,
      timing.error ? "" : thousands(timing.rows),
      timing.error ? `error: ${timing.error}` : verdict(last.p50, last.p95),
    ]);
    group = c.group;
  }
  return { title: `Each query: latency over ${largest.rounds} calls (ms, one client, round-robin over all queries)`, columns, numeric, rows };
}

function dataTable(results: SizeResult[]): ResultTable {
  return {
    title: "The data sets (one fresh database each, dropped afterwards)",
    columns: ["runs", "duplicate attempts", "run events (sample)", "operator actions", "retries", "load time", "task_runs heap", "task_runs indexes", "database", "load average during the timings"],
    numeric: [0, 1, 2, 3, 4, 5, 6, 7, 8],
    rows: results.map((r) => {
      const heap = r.sizes.find((s) => s.kind === "table" && s.name === "task_runs")?.bytes ?? 0;
      const indexes = r.sizes.filter((s) => s.kind === "index" && s.table === "task_runs").reduce((sum, s) => sum + s.bytes, 0);
      return [
        thousands(r.runs),
        thousands(r.load.duplicateAttempts),
        thousands(r.load.runEvents),
        thousands(r.load.operatorActions),
        thousands(r.load.retries),
        `${Math.floor(r.load.seconds / 60)} min ${Math.round(r.load.seconds % 60)} s`,
        mib(heap),
        mib(indexes),
        mib(r.databaseBytes),
        `${r.loadDuringTimings.start.split(" ")[0]} → ${r.loadDuringTimings.end.split(" ")[0]} (1 min)`,
      ];
    }),
  };
}

function indexTable(results: SizeResult[]): ResultTable {
  const largest = results.at(-1)!;
  const indexes = largest.sizes.filter((s) => s.kind === "index" && (s.table === "task_runs" || s.table === "duplicate_attempts" || s.table === "run_events"));
  return {
    title: "Index sizes (what every write to these tables maintains)",
    columns: ["table", "index", ...results.map((r) => r.label)],
    numeric: results.map((_, i) => 2 + i),
    rows: indexes.map((index) => [
      index.table,
      index.name,
      ...results.map((r) => {
        const found = r.sizes.find((s) => s.name === index.name);
        return found ? mib(found.bytes) : "-";
      }),
    ]),
  };
}

function findings(results: SizeResult[], quick: boolean): string[] {
  const out: string[] = [];
  const groupOrder = [...new Set(results.at(-1)!.timings.map((t) => t.case.group))];
  const largest = results.at(-1)!;
  const measured = largest.timings.filter((t) => t.error === null && t.samples.length > 0);
  const met = measured.filter((t) => stats(t.samples).p95 <= TARGET_MS);
  const p50Only = measured.filter((t) => stats(t.samples).p95 > TARGET_MS && stats(t.samples).p50 <= TARGET_MS);
  const missed = measured.filter((t) => stats(t.samples).p50 > TARGET_MS);
  const errors = largest.timings.filter((t) => t.error !== null);
  out.push(
    `${quick ? "Quick mode, not the target size: at" : "At"} ${largest.label} runs, ${met.length} of ${largest.timings.length} queries met ${TARGET_MS} ms at p95` +
      (p50Only.length ? `, ${p50Only.length} only at p50` : "") +
      (missed.length ? `, ${missed.length} missed at p50` : "") +
      (errors.length ? `, ${errors.length} failed` : "") +
      ". The slowest p50 / p95 per screen: " +
      groupOrder
        .map((group) => {
          const inGroup = measured.filter((t) => t.case.group === group);
          if (!inGroup.length) return null;
          const p50 = Math.max(...inGroup.map((t) => stats(t.samples).p50));
          const p95 = Math.max(...inGroup.map((t) => stats(t.samples).p95));
          return `${group} ${formatMs(p50)} / ${formatMs(p95)} ms`;
        })
        .filter((text): text is string => text !== null)
        .join(", ") +
      " (each the worst query of its screen; the rest of the table is mostly 1 to 10 ms).",
  );
  for (const timing of [...missed, ...p50Only]) {
    const s = stats(timing.samples);
    const explained = largest.explains.get(timing.case.id);
    out.push(
      `${timing.case.group}, \`${timing.case.label}\`: p50 ${formatMs(s.p50)} ms, p95 ${formatMs(s.p95)} ms, max ${formatMs(s.max)} ms.` +
        (explained ? ` ${explained.summary}` : "") +
        (timing.case.whenSlow ? ` ${timing.case.whenSlow}` : ""),
    );
  }
  for (const timing of errors) out.push(`${timing.case.group}, \`${timing.case.label}\` failed: ${timing.error}.`);
  for (const r of results) {
    if (!r.prepared) continue;
    const worse = r.prepared
      .map((p) => ({ p, t: r.timings.find((t) => t.case.id === p.case.id) }))
      .filter((x): x is { p: CaseTiming; t: CaseTiming } => x.t !== undefined && x.p.error === null && x.t.error === null)
      .map((x) => ({ ...x, before: stats(x.p.samples).p50, now: stats(x.t.samples).p50 }))
      .filter((x) => x.before > 5 && x.before > 2 * x.now)
      .sort((a, b) => b.before - a.before);
    const explained = worse.map((x) => {
      const plan = r.explains.get(x.t.case.id);
      return `\`${x.t.case.label}\` ${formatMs(x.before)} ms against ${formatMs(x.now)} ms${plan && r === largest ? ` (${plan.summary.replace(/\.$/, "")})` : ""}`;
    });
    out.push(
      worse.length
        ? `Prepared statements at ${r.label} (the console's client before it stopped preparing them; ${r.preparedWarmup} warm-up rounds, so each statement had settled on its plan): ${explained.join("; ")}. A generic plan is chosen once it looks no dearer than the first five custom plans, and then serves every value, however selective.`
        : `Prepared statements at ${r.label}: no query was more than twice as slow as on the console's client (p50), after ${r.preparedWarmup} warm-up rounds.`,
    );
  }
  const slowest = [...measured].sort((a, b) => stats(b.samples).p50 - stats(a.samples).p50).slice(0, 5);
  out.push(`Slowest at ${largest.label} by p50: ${slowest.map((t) => `\`${t.case.label}\` (${t.case.group}) ${formatMs(stats(t.samples).p50)} ms`).join("; ")}.`);
  for (const r of results) {
    const phases = r.load.phases.map((p) => `${p.phase} ${p.seconds.toFixed(0)} s`).join(", ");
    out.push(`Loading ${r.label}: ${phases}; ${r.load.seconds.toFixed(0)} s in all.`);
  }
  return out;
}

function method(results: SizeResult[]): string[] {
  const largest = results.at(-1)!;
  const tasks = TASKS.map((t) => `${t.name} ${(t.share * 100).toFixed(t.share < 0.001 ? 3 : t.share < 0.01 ? 2 : 0)}%`).join(", ");
  return [
    `**Data**: per size a fresh database migrated with \`lib/migrate.ts\` and filled by set-based SQL (\`bench/console-data.ts\`); every random choice is a hash of the run id, so two loads of a size differ only where the time of day and week of the load moves the daily curve. ${DAYS} days of runs ending when the load started, with a daily curve (peak 14:00 UTC, a midnight cron bump), quieter weekends and growth; ids follow created_at. Tasks with skew: ${tasks}. About 95% succeeded, 3% failed, 1% cancelled, runs still running where their (lognormal, per-task) duration reaches past the end, a few pending (queued, or waiting out a backoff), 0.03% stuck (running, lease long expired). 20 workers with Zipf-like skew plus a canary and a developer laptop. Keys as applications write them (\`user:<uid>:receipt:<n>\`, \`evt_<24 hex>\`, \`invoice-<n>\`, \`media/<uuid>\`, ...). ~5% of runs have duplicate attempts (hot keys up to 3,050), with matching \`duplicate_attempts\` rows (outcome by timing, 2% payload mismatches, 5% lock contention, several sources); ~0.5% are console retries in chains of up to three generations. \`run_events\` for a 2% sample plus every retry chain (claimed, heartbeats every 10 s, takeovers, stale writes, the outcome), and two long timelines (10,000 and 100,000 heartbeats). One operator action per 200 runs.`,
    "**Loading**: one session with `session_replication_role = replica` (the rollup triggers and the retry_of foreign key do not fire), the secondary indexes of `task_runs` and `duplicate_attempts` dropped and rebuilt from their own `pg_get_indexdef` after the rows are in, chunks of ~1M rows, then `idem.rebuild_stats()` and `VACUUM (ANALYZE)`. So indexes are freshly built (no bloat) and the heap is in created_at order, as appends leave it; a long-lived ledger with non-HOT updates has some index bloat, which this does not model. This server runs with `autovacuum = off`, hence the explicit VACUUM.",
    `**Timing**: the console's own functions (\`listRuns\` after the runs page's zod schema and \`toRunListQuery\`, \`getRun\`, \`listRunEvents\`, \`listRunDuplicates\`, \`getLineage\`, the overview's \`lib/ledger/stats.ts\`, \`lib/ledger/duplicates.ts\`, \`listOperatorActions\`) on a pool made like the console's (\`createSql\` with \`CONSOLE_SQL_OPTIONS\` from \`lib/db.ts\`: ${CONSOLE_SQL_OPTIONS.prepare ? "named prepared statements" : "unprepared statements, so every query is planned with its values"}; ${env.IDEM_DB_POOL_MAX} connections). One client, ${largest.warmup} unmeasured warm-up rounds then ${largest.rounds} measured rounds; each round calls every query once, in table order (round-robin), so background load hits all alike; exact keys, prefixes and ids rotate per call. Times are wall clock around the function call in the benchmark process, network and result parsing included. A query whose measured calls exceed ${CASE_BUDGET_MS / 1000} s in total stops being repeated (n shown); \`statement_timeout\` is ${STATEMENT_TIMEOUT}.`,
    ...(results.some((r) => r.prepared)
      ? [
          `**Prepared statements** (the "p50, prepared statements" columns): the same rounds on a pool with postgres.js's default named prepared statements, as the console connected before, after ${largest.preparedWarmup} warm-up rounds: enough for each statement to run more than five times on every connection the pool opened, after which Postgres has settled, per connection, on custom plans or on one generic plan for all values.`,
        ]
      : []),
    `**Target**: ${TARGET_MS} ms at the ${largest.label} size; "met" means p95 ≤ ${TARGET_MS} ms, "p50 only" that the median is under it but the p95 is not. Every query over the target at p95 (in either pass) is run once more with its statements captured and \`EXPLAIN (ANALYZE, BUFFERS)\`ed twice: as a custom plan (planned with the parameters' values) and as the generic plan (\`PREPARE\` with \`plan_cache_mode = force_generic_plan\`, then \`EXPLAIN EXECUTE\`); the findings quote each plan's key node (the node that read the most rows) and its time.`,
    "**Caveat**: the machine has 2 cores shared with other engineers' builds and tests while these numbers were taken (load averages in the data-set table); p95 and max move with that, p50 much less. Plans were checked with the machine as it was; on a quiet machine expect lower p95s, not other plans.",
    "**Reproduce**: `DATABASE_URL=postgres://root@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run bench -- console` (7 to 12 minutes here depending on the machine's load, most of it loading the 10M database; it needs ~8 GiB of free disk while the 10M database exists). `npm run bench -- console --quick` does the same on 100k runs in under a minute and writes nothing. Without DATABASE_URL the suite runs on the embedded Postgres, whose settings differ.",
  ];
}

function report(results: SizeResult[], quick: boolean): SuiteReport {
  return {
    method: method(results),
    tables: [dataTable(results), resultsTable(results, quick), indexTable(results)],
    findings: findings(results, quick),
  };
}

export const consoleSuite: Suite = {
  name: "console",
  title: "Console queries at 1M and 10M runs",
  summary: "the console's queries on a ledger of 1M and 10M runs (100k with --quick); ~25 min",
  implemented: true,
  async run(ctx) {
    const sizes = ctx.mode === "quick" ? QUICK_SIZES : FULL_SIZES;
    const results: SizeResult[] = [];
    for (const runs of sizes) {
      if (ctx.signal.aborted) break;
      results.push(await runSize(ctx, runs));
    }
    if (results.length === 0) return null;
    return report(results, ctx.mode === "quick");
  },
};
