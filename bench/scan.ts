import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { spawn, spawnSync } from "node:child_process";
import { setPriority, tmpdir } from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import type postgres from "postgres";
import { startRedisServer } from "@/lib/embedded/redis";
import { lockClasses, type LockClass } from "@/lib/locks/classify";
import { buildLockConfig, DEFAULT_MAX_KEYS, type LockConfig } from "@/lib/locks/config";
import { DEFAULT_MAX_SCAN_CALLS, DEFAULT_PIPELINE_KEYS, DEFAULT_TIME_BUDGET_MS, listLocks, walkLocks, type RedisCallTiming } from "@/lib/locks/inventory";
import { lockKeyFor } from "@/lib/locks/locks";
import { migrateDatabase } from "@/lib/migrate";
import { createRedis } from "@/lib/redis";
import { formatMs, percentile } from "./harness/measure";
import { thousands } from "./harness/tables";
import type { ResultTable, Suite, SuiteContext, SuiteReport } from "./harness/types";

/**
 * The Locks screen's inventory (lib/locks/inventory.ts) over a Redis holding a million lock keys: the
 * same code the page runs, with its limits lifted, against a PRIVATE redis-server (a million keys never
 * go into a shared Redis). The target, "no single Redis call over 10 ms", is judged on each command inside
 * Redis (INFO latencystats, p100 = the slowest call: what could block Redis's other clients), with
 * redis-server at normal priority as deployed; a miss makes the run exit non-zero. Each round trip as the
 * walker sees it (timed in Node: network, Redis, the walker's own event loop) is reported beside it with
 * this host's floor (a bare PING against an idle Redis), because on a shared 2-core machine that floor is
 * itself above 10 ms. A second walk with redis-server at real-time priority (chrt) shows how much of a
 * slow call is this machine preempting Redis.
 * Then a million keys that are NOT locks plus a thousand locks: what one page view costs there.
 */

const TARGET_MS = 10;
const COMMANDS = ["scan", "object|idletime", "type", "pttl", "getrange"];
const SDK_PREFIX = "idem:lock:";
const TASKS = ["send_email", "charge_invoice", "transcode_file", "daily_report", "webhook_deliver"] as const;
const LOAD_CHUNK = 10_000;
const ROOT = path.resolve(import.meta.dirname, "..");

interface Mix {
  total: number;
  sdk: number;
  order: number;
  task: number;
  report: number;
  runs: number;
}

function mixFor(total: number): Mix {
  const sdk = Math.round(total * 0.6);
  const order = Math.round(total * 0.2);
  const task = Math.round(total * 0.15);
  return { total, sdk, order, task, report: total - sdk - order - task, runs: Math.min(20_000, Math.round(sdk / 30)) };
}

/** Runs for the first `count` SDK keys: a third running with a live lease, the rest finished. */
async function seedRuns(ctx: SuiteContext, count: number) {
  const db = await ctx.resources.createDatabase("scan");
  await migrateDatabase(db.url);
  const sql = db.connect(4, "idem-bench-scan");
  await sql`
    INSERT INTO idem.task_runs (id, root_run_id, task_name, idempotency_key, fingerprint, payload, status, attempt, max_attempts,
                                lease_owner, lease_token, lease_expires_at, fencing_token, source, started_at, finished_at)
    SELECT g, g, (string_to_array(${TASKS.join(",")}::text, ','))[1 + g % 5], 'k' || g, 'bench', '{}'::jsonb,
           (CASE WHEN g % 3 = 0 THEN 'running' ELSE 'succeeded' END)::idem.run_status, 1, 1, 'bench-worker', gen_random_uuid(),
           CASE WHEN g % 3 = 0 THEN now() + interval '1 hour' END, 1, 'bench',
           now() - (g % 600) * interval '1 second', CASE WHEN g % 3 = 0 THEN NULL ELSE now() END
    FROM generate_series(1, ${count}::int) g`;
  const rows = await sql<{ id: string; lease_token: string }[]>`SELECT id, lease_token::text AS lease_token FROM idem.task_runs ORDER BY id`;
  return { sql, tokens: new Map(rows.map((r) => [Number(r.id), r.lease_token])) };
}

/** Pipelined SETs in chunks: SDK locks (uuid values, an hour), then three shapes of other code's locks. */
async function loadKeys(redis: Redis, mix: Mix, tokens: Map<number, string>) {
  let pipeline = redis.pipeline();
  let queued = 0;
  const flush = async (force = false) => {
    if (queued === 0 || (!force && queued < LOAD_CHUNK)) return;
    await pipeline.exec();
    pipeline = redis.pipeline();
    queued = 0;
  };
  const add = async (write: () => void) => {
    write();
    queued++;
    await flush();
  };
  for (let i = 1; i <= mix.sdk; i++) {
    const key = lockKeyFor(TASKS[i % 5]!, `k${i}`, SDK_PREFIX);
    await add(() => pipeline.set(key, tokens.get(i) ?? randomUUID(), "PX", 3_600_000));
  }
  for (let i = 1; i <= mix.order; i++) await add(() => pipeline.set(`lock:order:${i}`, "processing", "EX", 3600));
  for (let i = 1; i <= mix.task; i++) await add(() => pipeline.set(`task:${randomUUID()}`, "1"));
  for (let i = 1; i <= mix.report; i++) await add(() => pipeline.set(`lock:report:${i}`, "1", "EX", 21_600));
  await flush(true);
}

/** Back to the normal scheduling class (SCHED_OTHER, nice 0), as a deployed Redis runs. */
function normalPriority(pid: number): string {
  spawnSync("chrt", ["-o", "-p", "0", String(pid)], { encoding: "utf8" });
  try {
    setPriority(pid, 0);
  } catch {
    // already 0
  }
  return "normal priority (SCHED_OTHER, nice 0)";
}

/** Keys that are not locks (a cache), and a few locks among them. */
async function loadOtherKeys(redis: Redis, others: number, locks: number) {
  let pipeline = redis.pipeline();
  for (let i = 1; i <= others; i++) {
    pipeline.set(`cache:${i}`, "x", "EX", 3600);
    if (i % LOAD_CHUNK === 0) {
      await pipeline.exec();
      pipeline = redis.pipeline();
    }
  }
  for (let i = 1; i <= locks; i++) pipeline.set(`lock:order:${i}`, "processing", "EX", 3600);
  await pipeline.exec();
}

/** SCHED_FIFO with chrt when allowed (root), else nice -10, else nothing; says which. */
function isolateRedis(pid: number): string {
  const fifo = spawnSync("chrt", ["-f", "-p", "5", String(pid)], { encoding: "utf8" });
  if (fifo.status === 0) return "SCHED_FIFO priority 5 (chrt)";
  try {
    setPriority(pid, -10);
    return "nice -10 (chrt was refused)";
  } catch {
    return "normal priority (neither chrt nor renice was allowed)";
  }
}

interface CommandLatency {
  calls: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** INFO latencystats (microseconds; p100 is the slowest call) joined with INFO commandstats' call counts. */
async function serverLatencies(redis: Redis): Promise<Map<string, CommandLatency>> {
  const [latency, stats] = await Promise.all([redis.info("latencystats"), redis.info("commandstats")]);
  const calls = new Map<string, number>();
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  const out = new Map<string, CommandLatency>();
  for (const m of latency.matchAll(/^latency_percentiles_usec_([^:]+):(.*)$/gm)) {
    const values = Object.fromEntries(m[2]!.split(",").map((part) => part.split("=") as [string, string]));
    out.set(m[1]!, { calls: calls.get(m[1]!) ?? 0, p50: Number(values.p50), p99: Number(values.p99), p999: Number(values["p99.9"]), max: Number(values.p100) });
  }
  return out;
}

async function resetServerStats(redis: Redis) {
  await redis.config("RESETSTAT");
  await redis.slowlog("RESET");
}

interface ProbeResult {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** A PING about every millisecond, timed, until SIGINT; then prints the sorted latencies' summary as JSON. */
const PROBE_SCRIPT = `
const { Redis } = require("ioredis");
const redis = new Redis(Number(process.argv[1]), { connectionName: "idem-bench-scan-probe" });
const latencies = [];
let running = true;
process.on("SIGINT", () => { running = false; });
(async () => {
  while (running) {
    const started = performance.now();
    await redis.ping();
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil(p * latencies.length) - 1))] ?? null;
  process.stdout.write(JSON.stringify({ samples: latencies.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) }));
  redis.disconnect();
})();
`;

/**
 * Another client's view while the walk runs: a PING about every millisecond from a SEPARATE Node
 * process (so the walker's own event loop does not colour it), scheduled like the server when that
 * was possible, so it measures Redis rather than its own wait for a CPU.
 */
function startProbe(port: number, realtime: boolean) {
  const command = [process.execPath, "-e", PROBE_SCRIPT, String(port)];
  const child = realtime ? spawn("chrt", ["-f", "5", ...command], { cwd: ROOT }) : spawn(command[0]!, command.slice(1), { cwd: ROOT });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    async stop(): Promise<ProbeResult> {
      child.kill("SIGINT");
      await exited;
      try {
        return JSON.parse(output) as ProbeResult;
      } catch {
        return { samples: 0, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN };
      }
    },
  };
}

interface WalkResult {
  label: string;
  examined: number;
  scanCalls: number;
  pipelines: number;
  sqlQueries: number;
  seconds: number;
  counts: Record<LockClass, number>;
  client: Record<RedisCallTiming["command"], number[]>;
  server: Map<string, CommandLatency>;
  slowlog: number;
  probe: ProbeResult;
}

async function walk(
  label: string,
  redis: Redis,
  admin: Redis,
  probeAt: { port: number; realtime: boolean },
  sql: postgres.Sql,
  config: LockConfig,
  options: { scanCount: number; batchSize: number; pipelineKeys: number; maxKeys: number },
): Promise<WalkResult> {
  await resetServerStats(admin);
  const client: WalkResult["client"] = { SCAN: [], PIPELINE: [] };
  const counts = Object.fromEntries(lockClasses.map((c) => [c, 0])) as Record<LockClass, number>;
  const probe = startProbe(probeAt.port, probeAt.realtime);
  const started = performance.now();
  const stats = await walkLocks(redis, sql, config, { ...options, maxScanCalls: Infinity, timeBudgetMs: Infinity, onRedisCall: (call) => client[call.command].push(call.ms) }, (batch) => {
    for (const lock of batch) counts[lock.classification.class]++;
  });
  const seconds = (performance.now() - started) / 1000;
  const probeResult = await probe.stop();
  client.SCAN.sort((a, b) => a - b);
  client.PIPELINE.sort((a, b) => a - b);
  return {
    label,
    examined: stats.examined,
    scanCalls: stats.scanCalls,
    pipelines: stats.pipelines,
    sqlQueries: stats.sqlQueries,
    seconds,
    counts,
    client,
    server: await serverLatencies(admin),
    slowlog: Number(await admin.slowlog("LEN")),
    probe: probeResult,
  };
}

const redisSeconds = (w: WalkResult) => [...w.client.SCAN, ...w.client.PIPELINE].reduce((sum, v) => sum + v, 0) / 1000;
const ms = (values: number[], p: number) => formatMs(percentile(values, p));
const us = (micro: number | undefined) => (micro === undefined || !Number.isFinite(micro) ? "-" : micro < 1000 ? `${micro.toFixed(0)} µs` : `${(micro / 1000).toFixed(2)} ms`);

export const scanSuite: Suite = {
  name: "scan",
  title: "Lock SCAN over 1M keys",
  summary: "the console's lock inventory (SCAN, pipelines, one SQL query per batch) over 1M keys in a private Redis",
  implemented: true,
  async run(ctx): Promise<SuiteReport> {
    const mix = mixFor(ctx.mode === "quick" ? 100_000 : 1_000_000);
    const dir = await mkdtemp(path.join(tmpdir(), "idem-bench-scan-"));
    const server = await startRedisServer({
      dir,
      extraArgs: [
        "--latency-tracking", "yes",
        "--latency-tracking-info-percentiles", "50 99 99.9 100",
        "--slowlog-log-slower-than", "1000",
        "--slowlog-max-len", "10000",
      ],
    });
    const redis = createRedis(server.url, { name: "idem-bench-scan" });
    const admin = createRedis(server.url, { name: "idem-bench-scan-admin" });
    try {
      ctx.log(`  seeding ${thousands(mix.runs)} runs and loading ${thousands(mix.total)} keys into a private redis-server on port ${server.port}`);
      const { sql, tokens } = await seedRuns(ctx, mix.runs);
      const loadStarted = performance.now();
      await loadKeys(admin, mix, tokens);
      const loadSeconds = (performance.now() - loadStarted) / 1000;
      const dbsize = await admin.dbsize();
      const memory = /used_memory_human:(\S+)/.exec(await admin.info("memory"))?.[1] ?? "?";
      ctx.log(`  loaded ${thousands(dbsize)} keys (${memory}) in ${loadSeconds.toFixed(1)} s`);

      const config = buildLockConfig({
        sdkPrefix: SDK_PREFIX,
        patterns: ["lock:*", "task:*"],
        templates: ["lock:order:{key}=charge_invoice"],
      });

      // The page as an operator opens it: default limits, pipeline and batch sizes.
      const normal = normalPriority(server.pid);
      await resetServerStats(admin);
      const pageStarted = performance.now();
      const page = await listLocks(redis, sql, config);
      const pageMs = performance.now() - pageStarted;
      ctx.log(`  page view: ${thousands(page.examined)} keys examined (stopped by: ${page.stoppedBy ?? "nothing"}) in ${pageMs.toFixed(0)} ms`);

      // The machine's own noise: the same PING probe with nothing else running against this Redis.
      const idle = startProbe(server.port, false);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const baseline = await idle.stop();

      const walkOptions = { scanCount: 500, batchSize: 250, pipelineKeys: DEFAULT_PIPELINE_KEYS, maxKeys: 2 * mix.total };
      const walks: WalkResult[] = [];
      {
        const label = `all ${thousands(mix.total)} keys, redis-server at ${normal}`;
        ctx.log(`  walking ${label} ...`);
        walks.push(await walk(label, redis, admin, { port: server.port, realtime: false }, sql, config, walkOptions));
      }
      // The same walk with redis-server (and the probe) at real-time priority where allowed: what is left
      // of a slow call when this shared machine cannot preempt Redis mid-command.
      const isolation = isolateRedis(server.pid);
      ctx.log(`  redis-server scheduling for the second walk: ${isolation}`);
      {
        const label = `all ${thousands(mix.total)} keys, redis-server at ${isolation}`;
        ctx.log(`  walking ${label} ...`);
        walks.push(await walk(label, redis, admin, { port: server.port, realtime: isolation.startsWith("SCHED_FIFO") }, sql, config, walkOptions));
      }
      normalPriority(server.pid);
      for (const w of walks) {
        ctx.log(`    ${w.label}: ${thousands(w.examined)} keys in ${w.seconds.toFixed(1)} s; max SCAN ${ms(w.client.SCAN, 1)} ms, max pipeline ${ms(w.client.PIPELINE, 1)} ms`);
      }

      // A big Redis that is mostly not locks: the page view's cost is bounded by its SCAN-call and time
      // limits, not by the keyspace. This is the private server: FLUSHALL here touches nothing shared.
      await admin.flushall();
      const bigTotal = mix.total;
      const bigLocks = 1000;
      await loadOtherKeys(admin, bigTotal, bigLocks);
      const bigDbsize = await admin.dbsize();
      ctx.log(`  loaded ${thousands(bigDbsize)} keys, ${thousands(bigLocks)} of them locks`);
      const bigPageStarted = performance.now();
      const bigPage = await listLocks(redis, sql, config);
      const bigPageMs = performance.now() - bigPageStarted;
      const bigFullStarted = performance.now();
      const bigFull = await listLocks(redis, sql, config, { maxScanCalls: Infinity, timeBudgetMs: Infinity, maxKeys: 2 * bigTotal });
      const bigFullMs = performance.now() - bigFullStarted;
      ctx.log(`  page view over ${thousands(bigDbsize)} mostly other keys: ${bigPage.scanCalls} SCAN calls, ${bigPageMs.toFixed(0)} ms (stopped by: ${bigPage.stoppedBy ?? "nothing"}); unbounded: ${bigFull.scanCalls} SCAN calls, ${bigFullMs.toFixed(0)} ms`);

      const roundTrips = (w: WalkResult) => [...w.client.SCAN, ...w.client.PIPELINE].sort((a, b) => a - b);
      const serverMaxUs = (w: WalkResult) => Math.max(...COMMANDS.map((c) => w.server.get(c)?.max ?? 0));

      const walkTable: ResultTable = {
        title: "Inventory walks (lib/locks/inventory.ts walkLocks, the page's code with its limits lifted)",
        columns: ["walk", "keys examined", "SCAN calls", "pipelines", "SQL queries", "seconds", "keys/s"],
        numeric: [1, 2, 3, 4, 5, 6],
        rows: [
          [`page view (listLocks as the screen calls it: cap ${thousands(page.maxKeys)} keys, ${thousands(page.maxScanCalls)} SCAN calls, ${DEFAULT_TIME_BUDGET_MS / 1000} s)`, thousands(page.examined), thousands(page.scanCalls), thousands(page.pipelines), thousands(page.sqlQueries), (pageMs / 1000).toFixed(2), thousands(page.examined / (pageMs / 1000))],
          ...walks.map((w) => [w.label, thousands(w.examined), thousands(w.scanCalls), thousands(w.pipelines), thousands(w.sqlQueries), w.seconds.toFixed(1), thousands(w.examined / w.seconds)]),
        ],
      };
      const clientTable: ResultTable = {
        title: "Each Redis round trip as the walker sees it (timed in Node: network, Redis and the event loop) (reported beside the verdict, with this host's floor below)",
        columns: ["walk", "call", "calls", "p50 ms", "p99 ms", "p99.9 ms", "max ms", `over ${TARGET_MS} ms`],
        numeric: [2, 3, 4, 5, 6, 7],
        rows: walks.flatMap((w) =>
          (["SCAN", "PIPELINE"] as const).map((command, i) => [
            i === 0 ? w.label : "",
            command === "SCAN" ? "SCAN ... MATCH ... COUNT 500" : `pipeline of 4 × ≤${DEFAULT_PIPELINE_KEYS} commands`,
            thousands(w.client[command].length),
            ms(w.client[command], 0.5),
            ms(w.client[command], 0.99),
            ms(w.client[command], 0.999),
            ms(w.client[command], 1),
            thousands(w.client[command].filter((v) => v > TARGET_MS).length),
          ]),
        ),
      };
      const serverTable: ResultTable = {
        title: "Each command inside Redis (INFO latencystats; max = p100, the slowest single call) — the target's verdict",
        columns: ["walk", "command", "calls", "p50", "p99", "p99.9", "max", "SLOWLOG > 1 ms"],
        numeric: [2, 3, 4, 5, 6, 7],
        rows: walks.flatMap((w) =>
          COMMANDS.map((command, i) => {
            const l = w.server.get(command);
            return [i === 0 ? w.label : "", command.toUpperCase(), thousands(l?.calls ?? 0), us(l?.p50), us(l?.p99), us(l?.p999), us(l?.max), i === 0 ? String(w.slowlog) : ""];
          }),
        ),
      };
      const probeTable: ResultTable = {
        title: "Another client's PING during the walk (a separate process; is Redis ever blocked?)",
        columns: ["walk", "PINGs", "p50 ms", "p99 ms", "max ms"],
        numeric: [1, 2, 3, 4],
        rows: [baseline, ...walks.map((w) => w.probe)].map((probe, i) => [
          i === 0 ? "baseline: nothing else running (3 s, normal priority)" : walks[i - 1]!.label,
          thousands(probe.samples),
          formatMs(probe.p50Ms),
          formatMs(probe.p99Ms),
          formatMs(probe.maxMs),
        ]),
      };
      const bigTable: ResultTable = {
        title: `One page view over ${thousands(bigDbsize)} keys of which ${thousands(bigLocks)} are locks`,
        columns: ["view", "SCAN calls", "keys examined", "ms", "stopped by", "patterns not walked to the end"],
        numeric: [1, 2, 3],
        rows: [
          ["page view (default limits)", thousands(bigPage.scanCalls), thousands(bigPage.examined), bigPageMs.toFixed(0), bigPage.stoppedBy ?? "-", bigPage.unfinishedPatterns.join(", ") || "-"],
          ["the same view with no limits", thousands(bigFull.scanCalls), thousands(bigFull.examined), bigFullMs.toFixed(0), bigFull.stoppedBy ?? "-", bigFull.unfinishedPatterns.join(", ") || "-"],
        ],
      };

      const deployed = walks[0]!;
      const isolated = walks[1]!;
      const missed: string[] = [];
      const deployedTrips = roundTrips(deployed);
      const clientOver = deployedTrips.filter((v) => v > TARGET_MS).length;
      const clientMax = percentile(deployedTrips, 1);
      if (serverMaxUs(deployed) / 1000 >= TARGET_MS) missed.push(`slowest command inside Redis ${us(serverMaxUs(deployed))}`);
      const verdict = (ok: boolean) => (ok ? "met" : "**MISSED**");
      const findings: string[] = [
        `Target "no single Redis call over ${TARGET_MS} ms", redis-server at normal priority as deployed: ` +
          `inside Redis ${verdict(serverMaxUs(deployed) / 1000 < TARGET_MS)}: the slowest single command took ${us(serverMaxUs(deployed))}. ` +
          `Seen from the walker (Node, round trip; reported, not the verdict): ${thousands(clientOver)} of ${thousands(deployedTrips.length)} round trips took over ${TARGET_MS} ms, ` +
          `p99 ${formatMs(percentile(deployedTrips, 0.99))} ms, p99.9 ${formatMs(percentile(deployedTrips, 0.999))} ms, max ${formatMs(clientMax)} ms. ` +
          `This host's floor: a bare PING from a separate process against this Redis with nothing else running waited up to ${formatMs(baseline.maxMs)} ms; during the walk ` +
          `that PING waited at most ${formatMs(deployed.probe.maxMs)} ms (p99 ${formatMs(deployed.probe.p99Ms)} ms). A client-side max over 10 ms here is the ` +
          "machine's scheduler (2 shared cores, the walker's own event loop classifying the previous batch), not a Redis call taking that long.",
        `With redis-server at ${isolation}: round trips over ${TARGET_MS} ms ${thousands(roundTrips(isolated).filter((v) => v > TARGET_MS).length)} of ${thousands(roundTrips(isolated).length)} ` +
          `(max ${formatMs(percentile(roundTrips(isolated), 1))} ms); slowest command inside Redis ${us(serverMaxUs(isolated))}. ` +
          "What the two walks differ by is this shared 2-core machine preempting Redis (and the walker) mid-call, not the inventory's work; the walker's own " +
          "round trips also include its event loop finishing the previous batch.",
        `Pipelines are ${DEFAULT_PIPELINE_KEYS} keys (${DEFAULT_PIPELINE_KEYS * 4} commands) so each round trip stays short: p99 ${ms(deployed.client.PIPELINE, 0.99)} ms at normal priority. ` +
          `SCAN COUNT 500: p99 ${us(deployed.server.get("scan")?.p99)} per call inside Redis.`,
        `Where a walk's time goes: ${redisSeconds(deployed).toFixed(0)} s of the ${deployed.seconds.toFixed(0)} s were Redis round trips; the rest is one SQL query per 250 keys and Node's work (classification).`,
        `Classes found in the full walk: ${lockClasses.map((c) => `${c} ${thousands(deployed.counts[c])}`).join(", ")} ` +
          `(${thousands(mix.runs)} SDK keys have runs: a third running with a live lease and the lock's value as lease token, the rest finished).`,
        `A page view is bounded however big Redis is: over ${thousands(bigDbsize)} keys of which ${thousands(bigLocks)} are locks, the screen's view made ` +
          `${thousands(bigPage.scanCalls)} SCAN calls in ${bigPageMs.toFixed(0)} ms and said it was partial (${bigPage.stoppedBy ?? "not stopped"}); walking everything ` +
          `took ${thousands(bigFull.scanCalls)} SCAN calls and ${bigFullMs.toFixed(0)} ms (SCAN visits the whole keyspace once per pattern whatever MATCH filters).`,
        `Loading the ${thousands(mix.total)} keys (pipelined SETs of ${thousands(LOAD_CHUNK)}) took ${loadSeconds.toFixed(1)} s; Redis used ${memory}.`,
      ];

      return {
        method: [
          `A private \`redis-server\` child (lib/embedded/redis.ts, never the shared Redis) with \`latency-tracking\` on and percentiles 50/99/99.9/100, ` +
            `and \`slowlog-log-slower-than 1000\` (µs). Loaded with ${thousands(mix.total)} keys: ${thousands(mix.sdk)} SDK locks ` +
            `\`idem:lock:<task>:k<n>\` (uuid values, PX 1 h), ${thousands(mix.order)} \`lock:order:<n>\` "processing" EX 3600 (not 300: a walk takes minutes), ` +
            `${thousands(mix.task)} \`task:<uuid>\` "1" without TTL and ${thousands(mix.report)} \`lock:report:<n>\` "1" EX 6 h.`,
          `A fresh ledger database (migrated with lib/migrate.ts) holding ${thousands(mix.runs)} runs for the first SDK keys, so each batch's ` +
            "SQL query (runs by (task, key) and by id) finds real rows, and task p99s are computed from them.",
          "Each walk is `walkLocks` from lib/locks/inventory.ts with its per-view limits lifted: per pattern (`idem:lock:*`, `lock:*`, `task:*`, cursors taking turns) " +
            `SCAN MATCH COUNT 500; per ${DEFAULT_PIPELINE_KEYS} keys one pipeline of OBJECT IDLETIME, TYPE, PTTL, GETRANGE 0 1024 per key (no MULTI); per 250 keys one SQL query and the classification. ` +
            "walkLocks' `onRedisCall` hook times every Redis round trip with `performance.now()`; CONFIG RESETSTAT and SLOWLOG RESET before each walk.",
          `**The verdict is every command's time inside Redis** (INFO latencystats p100: the slowest single call, which is what would block Redis's other clients), ` +
            `in the first walk, which runs redis-server at ${normal} as a deployed Redis runs; a miss is written here and makes \`npm run bench -- scan\` exit non-zero. ` +
            "Every round trip as the walker sees it (Node: the network, Redis and the walker's own event loop) is reported beside it, with this host's floor " +
            `(a bare PING against an idle Redis), not judged: on a shared 2-core VM that floor itself passes 10 ms. The second walk runs at ${isolation}, ` +
            "only to show how much of a slow call is this shared machine preempting Redis.",
          "A separate Node process PINGs about once per millisecond throughout each walk, to show what other clients of Redis experience; " +
            "the baseline row is the same probe for 3 s with nothing else running against this Redis.",
          `Then the private server is flushed and loaded with ${thousands(bigTotal)} \`cache:<n>\` keys (not locks) and ${thousands(bigLocks)} \`lock:order:<n>\` locks, ` +
            `and \`listLocks\` runs as the screen calls it (its limits: ${thousands(DEFAULT_MAX_KEYS)} matching keys, ${thousands(DEFAULT_MAX_SCAN_CALLS)} SCAN calls, ${DEFAULT_TIME_BUDGET_MS / 1000} s) and with no limits.`,
          "The page view row is `listLocks` exactly as the Locks screen calls it.",
        ],
        tables: [walkTable, clientTable, serverTable, probeTable, bigTable],
        findings,
        missed,
      };
    } finally {
      redis.disconnect();
      admin.disconnect();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
