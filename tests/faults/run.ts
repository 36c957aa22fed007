import { fork, type ChildProcess } from "node:child_process";
import { randomInt as cryptoRandomInt, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import getPort, { portNumbers } from "get-port";
import type postgres from "postgres";
import { z } from "zod";
import { startEmbeddedPostgres } from "@/lib/embedded/postgres";
import { startRedisServer } from "@/lib/embedded/redis";
import { createSql } from "@/lib/db";
import { childProcessEnv, env, searchPath } from "@/lib/env";
import { LeaseLostError, createLedger } from "@/lib/ledger";
import type { LockClass } from "@/lib/locks/classify";
import { DEFAULT_LOCK_PREFIX, lockKeyFor } from "@/lib/locks/locks";
import { releaseInventoriedLock, releaseSelectedLocks } from "@/lib/locks/release";
import { migrateDatabase } from "@/lib/migrate";
import { createRedis } from "@/lib/redis";
import { gate, waitFor } from "@/tests/helpers/wait";
import { writeBenchmarks, type Figure } from "./benchmarks";
import {
  acquireBuildLock,
  buildConsole,
  buildState,
  createViewer,
  createViewerToken,
  isCompletePage,
  runLoad,
  signIn,
  startConsoleServer,
  type ConsoleServer,
  type HeldLock,
  type LoadResult,
  type LoadTarget,
} from "./console";
import { E2E_LOCK_FILE } from "@/scripts/build-lock";
import { EFFECTS_SCHEMA_SQL, connectPostgres, describeError, isTransient, submit } from "./effects";
import { findStuckRunsAndStaleLocks, suiteLockConfig } from "./inspect";
import { Plan, chaosWeights, drawSchedule, type Action, type ChaosEvent, type Kind } from "./plan";
import {
  FENCED_TASK,
  TX_TASK,
  fromWorkerSchema,
  prng,
  randomInt,
  sabotageSchema,
  toWorkerSchema,
  type Outcome,
  type Submission,
  type ToWorker,
  type WorkerConfig,
} from "./protocol";
import { Violations, checkDuplicatesRecorded, checkFinal, checkQuiescent, type ExecutedReport, type PlantedLock } from "./verify";

/**
 * `npm run test:faults` (and `--short`, run by `npm test`): the fault-injection suite. It starts its own
 * Postgres and redis-server (it restarts them, so never the machine's), forks N worker processes that
 * run a plan of keys with duplicate deliveries through the SDK, and meanwhile SIGKILLs, SIGSTOPs and
 * SIGCONTs workers, restarts and pauses Redis, restarts and crashes Postgres, on a schedule drawn from
 * a seeded PRNG. Before the faults, the console (`next start`) serves the suite's database under a
 * bounded load (autocannon, loopback only) while the workers write. After them it kills every worker at
 * once, checks that the console's own queries show every stuck run and stale lock, lets a sweeper
 * resubmit every key until it is finished, and verifies the guarantees stated in docs/guarantees.md.
 * Exits 1 on any violation. Runs under `tsx --conditions=react-server` (the console's query modules
 * `import "server-only"`).
 */

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const WORKER = path.join(import.meta.dirname, "worker.ts");
const LOCK_PREFIX = DEFAULT_LOCK_PREFIX;
/** The console's lock configuration for the suite's Redis: what its Locks screen would inventory. */
const LOCK_CONFIG = suiteLockConfig(LOCK_PREFIX);
/**
 * postgres.js 3.4.9 can throw from a setImmediate when a server closes a connection with a small write
 * buffered (porsager/postgres#1154, #1208; unfixed in any release): an uncatchable TypeError that kills
 * the process. patches/postgres+3.4.9.patch guards that write (checked at start-up, below), so this
 * must no longer happen: a worker that still dies of it is respawned like a SIGKILLed one, so that the
 * run goes on, and is a violation, as is the orchestrator meeting it (the patch has stopped covering it).
 */
const KNOWN_DRIVER_CRASH = /TypeError: Cannot read properties of null \(reading 'write'\)\s+at Immediate\.nextWrite \(\S*postgres\/src\/connection\.js/;
/**
 * The crash above, and the non-atomic transactions of docs/guarantees.md section 7, are fixed by
 * patches/postgres+3.4.9.patch, which patch-package applies on npm install and skips with only a
 * warning if it no longer fits. The suite refuses to run without it rather than find out by chance.
 */
async function assertDriverPatched() {
  const dir = path.dirname(fileURLToPath(import.meta.resolve("postgres")));
  const [connection, index] = await Promise.all([readFile(path.join(dir, "connection.js"), "utf8"), readFile(path.join(dir, "index.js"), "utf8")]);
  const missing = [
    ...(connection.includes("porsager/postgres#1209") ? [] : ["#1209 (nextWrite on a closed socket) in connection.js"]),
    ...(index.includes("closedError") ? [] : ["#1215 (queries after a transaction's connection closed) in index.js"]),
  ];
  if (missing.length) {
    console.error(`[faults] patches/postgres+3.4.9.patch is not applied to ${dir}: missing ${missing.join(", ")}; run npx patch-package`);
    process.exit(2);
  }
}
await assertDriverPatched();

/**
 * postgres.js 3.4.9 discards the promise of the array-type query each new connection runs first
 * (porsager/postgres#1192): a server going away during it is an unhandled rejection. The workers avoid
 * it with fetch_types: false; the console's queries need those types (the lock inventory sends arrays),
 * so the orchestrator's pools for them fetch types, and a rejection of that query is counted, not fatal.
 */
const TYPE_FETCH_QUERY = /from pg_catalog\.pg_type a[\s\S]*typcategory = 'A'/;

const USAGE = `usage: npm run test:faults -- [options]
  --short              the form npm test runs: ~9 s of chaos, 4 workers, a tiny console load if the console
                       build is fresh and its lock free (default: 90 s, 5 workers, 20 s of console load)
  --seed N             replay the chaos schedule and the plan's shape of an earlier run
  --duration S         seconds of chaos
  --workers N          worker processes; --concurrency N deliveries each
  --verbose            print every fault as it is injected
  --keep               keep the servers' data and the logs (always kept on failure, unless sabotaged)
  --no-write           do not write the figures to docs/BENCHMARKS.md (a standard full run writes them)
  --write-benchmarks   write them anyway
  --sabotage WHAT      break a guarantee on purpose to see the suite fail: effect-outside-tx | no-fencing |
                       no-faults (inject nothing: the run must fail as vacuous)
  --no-drop-connections  do not kill single worker connections (pg_terminate_backend), which the default
                       faults include (docs/guarantees.md, section 7)
  --pool-max N         connections per worker pool (default 2 x concurrency + 2)
  --keys K             a workload of K keys at most (probes and planted keys included); default: new keys
                       as fast as the workers take them, so K depends on throughput
  --no-load            skip the console under load (next start + autocannon)
  --require-load       a skipped console load (no fresh build, build lock busy) is a violation (npm test)
  --load-seconds S     seconds of load per target (4 targets; default 5, short 3)
  --load-connections N autocannon connections (default 10, short 4)`;

const ARG_OPTIONS = {
  short: { type: "boolean", default: false },
  seed: { type: "string" },
  duration: { type: "string" },
  workers: { type: "string" },
  concurrency: { type: "string" },
  sabotage: { type: "string", default: "none" },
  "write-benchmarks": { type: "boolean" },
  "no-write": { type: "boolean", default: false },
  keep: { type: "boolean", default: false },
  verbose: { type: "boolean", default: false },
  "no-drop-connections": { type: "boolean", default: false },
  "pool-max": { type: "string" },
  keys: { type: "string" },
  "no-load": { type: "boolean", default: false },
  "require-load": { type: "boolean", default: false },
  "load-seconds": { type: "string" },
  "load-connections": { type: "string" },
  help: { type: "boolean", default: false },
} as const;

const { values: argv } = (() => {
  try {
    return parseArgs({ options: ARG_OPTIONS, strict: true });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }
})();
if (argv.help) {
  console.log(USAGE);
  process.exit(0);
}

const optionsSchema = z.object({
  short: z.boolean(),
  seed: z.coerce.number().int().min(0).max(2 ** 32 - 1),
  durationS: z.coerce.number().min(2).max(3600),
  workers: z.coerce.number().int().min(2).max(16),
  concurrency: z.coerce.number().int().min(1).max(16),
  sabotage: sabotageSchema,
  poolMax: z.coerce.number().int().min(2).max(50).optional(),
  keys: z.coerce.number().int().min(10).max(1_000_000).optional(),
  load: z.boolean(),
  requireLoad: z.boolean(),
  loadSeconds: z.coerce.number().int().min(1).max(60),
  loadConnections: z.coerce.number().int().min(1).max(50),
});
const options = (() => {
  const parsed = optionsSchema.safeParse({
    short: argv.short,
    seed: argv.seed ?? cryptoRandomInt(2 ** 31),
    durationS: argv.duration ?? (argv.short ? 9 : 90),
    workers: argv.workers ?? (argv.short ? 4 : 5),
    concurrency: argv.concurrency ?? (argv.short ? 3 : 4),
    sabotage: argv.sabotage,
    poolMax: argv["pool-max"],
    keys: argv.keys,
    load: !argv["no-load"],
    requireLoad: argv["require-load"],
    // Short: 3 s, not less: on a busy machine a runs-list page can take over a second, and a target
    // that completed no request in its window measured nothing (a violation).
    loadSeconds: argv["load-seconds"] ?? (argv.short ? 3 : 5),
    loadConnections: argv["load-connections"] ?? (argv.short ? 4 : 10),
  });
  if (parsed.success && parsed.data.requireLoad && !parsed.data.load) {
    console.error("--require-load and --no-load contradict each other");
    process.exit(2);
  }
  if (!parsed.success) {
    console.error(`invalid options: ${parsed.error.issues.map((issue) => `--${issue.path.join(".")}: ${issue.message}`).join("; ")}`);
    process.exit(2);
  }
  return parsed.data;
})();
// Only a standard full run writes the figures: not a short one, a sabotaged one, or one with extra faults.
const writeFigures =
  argv["write-benchmarks"] ??
  (!options.short && options.sabotage === "none" && !argv["no-drop-connections"] && options.poolMax === undefined && options.keys === undefined && options.load && !argv["no-write"]);

const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1).padStart(5);
const log = (message: string) => console.log(`[faults ${elapsed()}s] ${message}`);
const verbose = (message: string) => {
  if (argv.verbose) log(message);
};

// ---------------------------------------------------------------------------------------------------

const violations = new Violations();
const counts = {
  kills: 0,
  pauses: 0,
  redisRestarts: 0,
  redisPauses: 0,
  postgresRestarts: 0,
  postgresCrashes: 0,
  planted: 0,
  finalKills: 0,
  crashedDeliveries: 0,
  transientRetries: 0,
  maxStuckSeen: 0,
  maxStaleLocksSeen: 0,
  inspections: 0,
  inspectionsFailed: 0,
  inspectionsWithoutRedis: 0,
  driverCrashes: 0,
  orchestratorDriverCrashes: 0,
  orchestratorTypeFetchRejections: 0,
  droppedConnections: 0,
  inspectionPages: 0,
};
/** Lock classes the console's inventory reported while the workers ran, at most at once. */
const maxLockClassSeen: Partial<Record<LockClass, number>> = {};
const outcomes: Record<Outcome, number> = { executed: 0, replayed: 0, in_progress: 0, lock_contended: 0, lease_lost: 0, error: 0 };
const executed: ExecutedReport[] = [];
const duplicatesReported = new Map<string, number>();
const planted: PlantedLock[] = [];

const tmp = await mkdtemp(path.join(os.tmpdir(), "idem-faults-"));
const logs = path.join(tmp, "logs");
await mkdir(logs, { recursive: true });

// Fixed ports for the whole run (restarts come back on the same one), chosen below the kernel's
// ephemeral range so a client socket cannot take the port while the server is down.
const pgPort = await getPort({ port: portNumbers(21000, 25999) });
const redisPort = await getPort({ port: portNumbers(26000, 29999) });
const pgLog = createWriteStream(path.join(logs, "postgres.log"));

log(`seed ${options.seed} (reproduce the schedule with --seed ${options.seed}); ${options.short ? "short" : "full"} mode, ${options.durationS}s of chaos, ${options.workers} workers x ${options.concurrency}${options.sabotage === "none" ? "" : `, SABOTAGE ${options.sabotage}`}`);
log(`own servers: Postgres on 127.0.0.1:${pgPort}, redis-server on 127.0.0.1:${redisPort}, data in ${tmp}`);

const pg = await startEmbeddedPostgres({
  dataDir: path.join(tmp, "pg"),
  port: pgPort,
  // The suite kills processes, not machines: the kernel's page cache survives a Postgres crash, so
  // skipping fsync changes nothing it tests and spares a shared disk.
  settings: { fsync: "off" },
  log: (line) => pgLog.write(line),
});
const redisServer = await startRedisServer({ dir: path.join(tmp, "redis"), port: redisPort, binary: env.IDEM_REDIS_SERVER_BIN, pathVariable: searchPath });
await migrateDatabase(pg.url);
const sql = connectPostgres(pg.url, { max: 12, applicationName: "faults-orchestrator" });
const redis = createRedis(redisServer.url, { name: "faults-orchestrator" });
await sql.unsafe(EFFECTS_SCHEMA_SQL);

// ---------------------------------------------------------------------------------------------------
// Workers

/**
 * Workers are respawned every few seconds, so their start-up time is chaos time lost: under tsx a
 * worker takes ~3 s to start on a busy two-core machine, bundled ~0.5 s. The bundle is the same source
 * compiled by esbuild (which tsx itself uses), with packages left to node_modules; it is written under
 * node_modules/.cache so that those imports resolve. Without esbuild, fall back to tsx.
 */
async function bundleWorker(): Promise<{ file: string; execArgv: string[]; cleanup: () => Promise<void> }> {
  const fallback = { file: WORKER, execArgv: ["--import", "tsx"], cleanup: async () => undefined };
  try {
    const { build } = await import("esbuild");
    const dir = path.join(ROOT, "node_modules", ".cache", "idem-faults");
    const file = path.join(dir, `worker-${process.pid}.mjs`);
    await build({
      entryPoints: [WORKER],
      outfile: file,
      bundle: true,
      packages: "external",
      platform: "node",
      format: "esm",
      target: "node20",
      tsconfig: path.join(ROOT, "tsconfig.json"),
      logLevel: "error",
    });
    return { file, execArgv: [], cleanup: () => rm(file, { force: true }) };
  } catch (error) {
    log(`could not bundle the worker (${describeError(error)}); running it under tsx`);
    return fallback;
  }
}
const workerEntry = await bundleWorker();

interface Slot {
  index: number;
  generation: number;
  workerId: string;
  child: ChildProcess | null;
  ready: boolean;
  paused: boolean;
  killing: boolean;
  inflight: Map<number, { sub: Submission; sentAt: number; redeliveries: number }>;
  resumeTimer: NodeJS.Timeout | null;
  exited: Promise<void>;
}

/** "load": the workers write while the console is under load, no faults yet; "chaos": the faults. */
let phase: "starting" | "load" | "chaos" | "ending" | "done" = "starting";
const working = () => phase === "load" || phase === "chaos";
const rngPlan = prng(options.seed ^ 0x5bd1e995);
const rngChaos = prng(options.seed);
const plan = new Plan(rngPlan, options.workers * options.concurrency * 2, options.keys ?? null);
const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({
  index,
  generation: 0,
  workerId: "",
  child: null,
  ready: false,
  paused: false,
  killing: false,
  inflight: new Map(),
  resumeTimer: null,
  exited: Promise.resolve(),
}));

function sendTo(child: ChildProcess, message: ToWorker): boolean {
  if (!child.connected) return false;
  try {
    child.send(toWorkerSchema.parse(message));
    return true;
  } catch {
    return false;
  }
}

function onWorkerMessage(slot: Slot, child: ChildProcess, raw: unknown) {
  if (slot.child !== child) return;
  const parsed = fromWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    violations.add(`worker ${slot.workerId} sent a malformed message: ${parsed.error.message}`);
    return;
  }
  const message = parsed.data;
  switch (message.type) {
    case "ready":
      slot.ready = true;
      return;
    case "want": {
      const probe = working() ? probes.get(slot.index) : undefined;
      if (probe) probes.delete(slot.index);
      const sub = probe ?? (working() ? plan.next(slot.index) : null);
      if (sub) slot.inflight.set(sub.id, { sub, sentAt: Date.now(), redeliveries: 0 });
      if (!sendTo(child, { type: "work", slot: message.slot, submission: sub }) && sub) {
        slot.inflight.delete(sub.id);
        if (sub.probe) probes.set(slot.index, sub);
        else plan.requeue(sub);
      }
      return;
    }
    case "holding":
      probeHolding.get(message.id)?.({ runId: message.runId, fencingToken: message.fencingToken });
      probeHolding.delete(message.id);
      return;
    case "done": {
      probeDone.get(message.id)?.(message.outcome);
      probeDone.delete(message.id);
      slot.inflight.delete(message.id);
      outcomes[message.outcome]++;
      counts.transientRetries += message.transientErrors;
      if (message.outcome === "executed") executed.push({ key: message.key, workerId: slot.workerId, fencingToken: message.fencingToken });
      if (message.outcome === "replayed" || message.outcome === "in_progress" || message.outcome === "lock_contended") {
        duplicatesReported.set(slot.workerId, (duplicatesReported.get(slot.workerId) ?? 0) + 1);
      }
      if (message.outcome === "error") violations.add(`worker ${slot.workerId}: unexpected error on ${message.key}: ${message.message}`);
      return;
    }
  }
}

/** Probe deliveries waiting for a worker slot's next "want", and the probes' messages awaited. */
const probes = new Map<number, Submission>();
const probeHolding = new Map<number, (attempt: { runId: number; fencingToken: number }) => void>();
const probeDone = new Map<number, (outcome: Outcome) => void>();

function spawnWorker(slot: Slot) {
  slot.generation++;
  slot.workerId = `w${slot.index}.${slot.generation}`;
  const config: WorkerConfig = {
    workerId: slot.workerId,
    slot: slot.index,
    databaseUrl: pg.url,
    redisUrl: redisServer.url,
    concurrency: options.concurrency,
    // Room for a transaction and a heartbeat per delivery, plus claims.
    poolMax: options.poolMax ?? options.concurrency * 2 + 2,
    sabotage: options.sabotage,
  };
  // A plain `node` process, never `npx tsx` (a wrapper): the pid we signal must be the worker itself.
  const child = fork(workerEntry.file, [JSON.stringify(config)], {
    cwd: ROOT,
    env: childProcessEnv({ DATABASE_URL: pg.url, REDIS_URL: redisServer.url }),
    execArgv: workerEntry.execArgv,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const logFile = createWriteStream(path.join(logs, `worker-${slot.workerId}.log`));
  let stderrTail = "";
  child.stdout?.pipe(logFile, { end: false });
  child.stderr?.on("data", (chunk: Buffer) => {
    logFile.write(chunk);
    stderrTail = (stderrTail + chunk.toString()).slice(-8192);
  });
  slot.child = child;
  slot.ready = false;
  slot.paused = false;
  slot.killing = false;
  // "close", not "exit": by then stderr is fully read, so a crash can be told by its last words.
  slot.exited = new Promise((resolve) => {
    child.once("close", (code, signal) => {
      if (slot.child === child) {
        counts.crashedDeliveries += slot.inflight.size;
        // The probe's takeover is the orchestrator's to make: no copy of it, here or on a visibility timeout.
        if (working()) for (const entry of slot.inflight.values()) if (entry.redeliveries === 0 && !entry.sub.probe) plan.redeliver(entry.sub);
        slot.inflight.clear();
        slot.child = null;
        slot.ready = false;
        if (slot.resumeTimer) clearTimeout(slot.resumeTimer);
        slot.resumeTimer = null;
        if (!slot.killing) {
          if (KNOWN_DRIVER_CRASH.test(stderrTail)) {
            counts.driverCrashes++;
            // Respawned so the run goes on, but a failure: the patch is checked at start-up, so this
            // means it no longer covers the crash.
            violations.add(`worker ${slot.workerId} died of the postgres.js nextWrite crash (porsager/postgres#1154) despite the patch; see ${logFile.path}`);
          } else {
            violations.add(`worker ${slot.workerId} exited by itself (code ${code}, signal ${signal}); see ${logFile.path}`);
          }
          if (working()) spawnWorker(slot);
        }
      }
      logFile.end();
      resolve();
    });
  });
  child.on("message", (raw) => onWorkerMessage(slot, child, raw));
  child.on("error", (error) => verbose(`worker ${slot.workerId}: ${describeError(error)}`));
}

type LiveSlot = Slot & { child: ChildProcess };
const canKill = (slot: Slot): slot is LiveSlot => slot.child !== null && !slot.killing;
const canPause = (slot: Slot): slot is LiveSlot => canKill(slot) && slot.ready && !slot.paused;

async function killWorker(slot: Slot, respawnAfterMs: number | null) {
  if (!canKill(slot)) return false;
  slot.killing = true;
  slot.child.kill("SIGKILL");
  await slot.exited;
  if (respawnAfterMs !== null) {
    await delay(respawnAfterMs);
    if (working()) spawnWorker(slot);
  }
  return true;
}

function pauseWorker(slot: Slot, forMs: number): boolean {
  if (!canPause(slot)) return false;
  const child = slot.child;
  child.kill("SIGSTOP");
  slot.paused = true;
  slot.resumeTimer = setTimeout(() => {
    slot.resumeTimer = null;
    if (slot.child === child) {
      child.kill("SIGCONT");
      slot.paused = false;
    }
  }, forMs);
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Servers

/** A pool for what the orchestrator asks Postgres during the chaos; dropped after it. */
let samplerSql: postgres.Sql | null = null;
/** Postgres is down or restarting; null while it is, else since when it has been answering. */
let postgresUpSince: number | null = Date.now();
let redisResumeTimer: NodeJS.Timeout | null = null;
let resumedRedis: (() => void) | null = null;

/**
 * One fault at a time per server, in schedule order: a fault that comes while the previous one on the
 * same server is still under way waits for it instead of being dropped (the audit found a run whose only
 * fast Postgres restart was skipped that way). drawSchedule spaces them so that waiting is rare.
 */
function serialQueue() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(operation: () => Promise<T>): Promise<T> => {
    const next = tail.then(operation);
    tail = next.catch(() => undefined);
    return next;
  };
}
const onPostgres = serialQueue();
const onRedis = serialQueue();

async function postmasterPid(): Promise<number> {
  const pid = Number((await readFile(path.join(pg.dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  if (!pid) throw new Error("no postmaster.pid");
  return pid;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startPostgresAgain() {
  for (let attempt = 1; ; attempt++) {
    try {
      await pg.start();
      return;
    } catch (error) {
      if (attempt >= 5) throw new Error(`Postgres did not come back after ${attempt} tries: ${describeError(error)}`);
      await delay(500);
    }
  }
}

/** A fault that only makes sense while the workers run: null when its turn came after the chaos ended. */
function stillChaos(): boolean {
  return phase === "chaos";
}

function restartPostgres(crash: boolean, downtimeMs: number): Promise<boolean> {
  return onPostgres(async () => {
    if (!stillChaos()) return false;
    verbose(`${crash ? "crash (SIGQUIT)" : "restart (fast shutdown)"} Postgres, down ${downtimeMs} ms`);
    postgresUpSince = null;
    try {
      if (crash) {
        // SIGQUIT alone is Postgres's immediate shutdown: every backend dies at once, no checkpoint,
        // crash recovery on the next start. (Not through stop(), whose SIGINT would be handled first.)
        const pid = await postmasterPid();
        process.kill(pid, "SIGQUIT");
        await waitFor(() => !processAlive(pid), { timeoutMs: 30_000, what: `postmaster ${pid} to exit` });
      } else {
        await pg.stop(); // SIGINT: fast shutdown, open transactions rolled back
      }
      await delay(downtimeMs);
      await startPostgresAgain();
      return true;
    } finally {
      postgresUpSince = Date.now();
    }
  });
}

function resumeRedis() {
  if (redisResumeTimer) {
    clearTimeout(redisResumeTimer);
    redisResumeTimer = null;
    redisServer.resume();
    resumedRedis?.();
    resumedRedis = null;
  }
}

function restartRedis(downtimeMs: number): Promise<boolean> {
  return onRedis(async () => {
    if (!stillChaos()) return false;
    verbose(`restart Redis (down ${downtimeMs} ms)`);
    await redisServer.stop();
    await delay(downtimeMs);
    await redisServer.start();
    return true;
  });
}

/** Holds the Redis queue for the whole pause; resumeRedis (the final crash) cuts it short. */
function pauseRedis(forMs: number): Promise<boolean> {
  return onRedis(async () => {
    if (!stillChaos()) return false;
    verbose(`SIGSTOP redis-server for ${forMs} ms`);
    redisServer.pause();
    await new Promise<void>((resolve) => {
      resumedRedis = resolve;
      redisResumeTimer = setTimeout(resumeRedis, forMs);
    });
    return true;
  });
}

/**
 * Debris of the kind an operator has to clean up: a lock with a long TTL on a key whose run has
 * finished, or on a key no run exists for yet. The SDK's own locks live no longer than their lease.
 */
async function plantStaleLock(event: ChaosEvent): Promise<boolean> {
  const value = `planted-${randomUUID()}`;
  // Variant 2 (only in the final debris): no TTL at all, the lock that never goes away by itself.
  const noTtl = event.variant === 2;
  const answer = <T>(reply: Promise<T>) => Promise.race([reply, delay(500).then(() => null)]).catch(() => null);
  const set = async (task: string, key: string, target: PlantedLock["target"]) => {
    const lockKey = lockKeyFor(task, key, LOCK_PREFIX);
    // Redis may be back from a restart while this client is still reconnecting: a SET that timed out
    // can land later, so a retry first looks for our own value.
    const took = await waitFor(
      async () => {
        if ((await answer(redis.get(lockKey))) === value) return true;
        const reply = await answer(noTtl ? redis.set(lockKey, value, "NX") : redis.set(lockKey, value, "PX", 600_000, "NX"));
        return reply === "OK";
      },
      { timeoutMs: 3000, everyMs: 100 },
    ).catch(() => false);
    if (!took) return false;
    planted.push({ lockKey, value, target });
    return true;
  };
  const taskOf = (kind: Kind) => (kind === "tx" ? TX_TASK : FENCED_TASK);
  if ((event.variant === 0 || event.variant === 2) && executed.length > 0) {
    const report = executed[event.target % executed.length];
    const kind = report ? plan.keys.get(report.key) : undefined;
    return report && kind ? set(taskOf(kind), report.key, "finished") : false;
  }
  const prepared = plan.prepare();
  const ok = await set(taskOf(prepared.kind), prepared.key, "unsubmitted");
  plan.enqueue(prepared);
  return ok;
}

/**
 * The worker a fault aims at: the drawn slot if it can take the fault, else the next one that can, else
 * (every worker dead, paused or starting) the first to become able within 5 s. Null if none did.
 */
async function targetSlot(event: ChaosEvent, eligible: (slot: Slot) => boolean): Promise<Slot | null> {
  const pick = () => {
    for (let offset = 0; offset < slots.length; offset++) {
      const slot = slots[(event.target + offset) % slots.length];
      if (slot && eligible(slot)) return slot;
    }
    return null;
  };
  const pickWhileChaos = () => {
    if (!stillChaos()) throw new Error("the chaos is over");
    return pick();
  };
  return pick() ?? waitFor(pickWhileChaos, { timeoutMs: 5000, everyMs: 25, what: "a worker able to take the fault" }).catch(() => null);
}

/**
 * One of a worker's connections dies under it, the server staying up: a network blip, a proxy's
 * timeout, an operator's pg_terminate_backend. Prefers one inside a transaction, and the drawn worker,
 * else any other with a connection. The sampler's pool may itself still be finding out that a restart
 * killed its connections, and respawned workers their first: retried for 3 s.
 */
async function dropConnection(event: ChaosEvent): Promise<boolean> {
  const sampler = samplerSql;
  if (!sampler || !stillChaos()) return false;
  const names = slots
    .map((_, offset) => slots[(event.target + offset) % slots.length])
    .flatMap((slot) => (slot && canKill(slot) ? [`faults-${slot.workerId}`] : []));
  if (names.length === 0) return false;
  const dropped = await waitFor(
    () =>
      sampler<{ pid: number; application_name: string }[]>`
        SELECT pg_terminate_backend(pid), pid, application_name FROM pg_stat_activity
        WHERE pid IN (
          SELECT pid FROM pg_stat_activity WHERE application_name IN ${sampler(names)}
          ORDER BY application_name = ${names[0] ?? ""} DESC, state = 'idle in transaction' DESC, state = 'active' DESC, random()
          LIMIT 1)`.then((rows) => (rows.length > 0 ? rows : null), () => null),
    { timeoutMs: 3000, everyMs: 100 },
  ).catch(() => null);
  const victim = dropped?.[0];
  if (!victim) return false;
  counts.droppedConnections++;
  verbose(`pg_terminate_backend on a connection of ${victim.application_name.replace(/^faults-/, "")}`);
  return true;
}

/** Scheduled faults that did not happen, and why: printed at the end of every run. */
const skippedFaults: string[] = [];

async function fire(event: ChaosEvent): Promise<void> {
  let done = false;
  let reason = "no worker could take it";
  if (options.sabotage === "no-faults") {
    skippedFaults.push(`${event.action} at ${(event.atMs / 1000).toFixed(1)} s (--sabotage no-faults)`);
    return;
  }
  switch (event.action) {
    case "kill_worker": {
      const slot = await targetSlot(event, canKill);
      if (slot && stillChaos()) {
        verbose(`SIGKILL ${slot.workerId} (${slot.inflight.size} in flight), respawn in ${event.durationMs} ms`);
        const killing = killWorker(slot, event.durationMs);
        counts.kills++;
        done = true;
        await killing;
      }
      break;
    }
    case "pause_worker": {
      const slot = await targetSlot(event, canPause);
      if (slot && stillChaos() && pauseWorker(slot, event.durationMs)) {
        counts.pauses++;
        done = true;
        verbose(`SIGSTOP ${slot.workerId} for ${event.durationMs} ms`);
      }
      break;
    }
    case "restart_redis":
      if ((done = await restartRedis(event.durationMs))) counts.redisRestarts++;
      break;
    case "pause_redis":
      if ((done = await pauseRedis(event.durationMs))) counts.redisPauses++;
      break;
    case "restart_postgres":
    case "crash_postgres": {
      const crash = event.action === "crash_postgres";
      if ((done = await restartPostgres(crash, event.durationMs))) {
        if (crash) counts.postgresCrashes++;
        else counts.postgresRestarts++;
      }
      break;
    }
    case "plant_stale_lock":
      // Not while Redis is down or paused: the plant would just time out.
      if ((done = await onRedis(() => (stillChaos() ? plantStaleLock(event) : Promise.resolve(false))))) counts.planted++;
      else reason = "Redis did not take the lock within 3 s";
      break;
    case "drop_connection":
      // Not while Postgres is restarting: there would be no connection to drop.
      done = await onPostgres(() => dropConnection(event));
      if (!done) reason = "no worker had a connection to drop";
      break;
  }
  if (!done) {
    skippedFaults.push(`${event.action} at ${(event.atMs / 1000).toFixed(1)} s (${stillChaos() ? reason : "its turn came after the chaos ended"})`);
  }
}

// ---------------------------------------------------------------------------------------------------
// The stale-writer probes: a write from an attempt that has certainly been taken over, every run.

/** What the probes found, for the figures. */
const probeResults: Array<{ kind: Kind; key: string; staleToken: number; newToken: number; refused: boolean }> = [];

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Leaves nothing to chance for the case fencing exists for. A probe delivery goes to `slot`'s worker,
 * which says "holding" right before its last write (the fenced write; for a transactional key, the
 * completion after its effect row). The orchestrator SIGSTOPs it there, waits for its lease to expire,
 * takes the run over and completes it with a ledger of its own (another worker, in effect), then
 * SIGCONTs it: the stopped attempt now writes after a newer one has. The fenced resource must refuse
 * that write (--sabotage no-fencing accepts it: a violation every time); the transactional attempt's
 * completion must be refused and its effect row rolled back (--sabotage effect-outside-tx keeps it: a
 * second effect, a violation every time).
 */
async function runProbe(kind: Kind, slot: Slot): Promise<void> {
  const sub = plan.addProbe(kind);
  const task = kind === "tx" ? TX_TASK : FENCED_TASK;
  const label = `stale-writer probe ${task}/${sub.key}`;
  const holding = new Promise<{ runId: number; fencingToken: number }>((resolve) => probeHolding.set(sub.id, resolve));
  const done = new Promise<Outcome>((resolve) => probeDone.set(sub.id, resolve));
  probes.set(slot.index, sub);
  const stale = await within(holding, 30_000, `${label}: its worker to reach the write`);
  const child = slot.child;
  if (!child) throw new Error(`${label}: the worker is gone`);
  child.kill("SIGSTOP");
  slot.paused = true;
  let newToken: number;
  try {
    // Delivered when it wakes; the stop comes first, so the write cannot slip out before the takeover.
    sendTo(child, { type: "release", id: sub.id });
    await waitFor(
      async () =>
        (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${stale.runId} AND status = 'running' AND lease_expires_at < now()`).length > 0,
      { timeoutMs: 30_000, everyMs: 50, what: `${label}: the stopped attempt's lease to expire` },
    );
    const taker = createLedger({ sql, redis, workerId: `probe-taker-${kind}`, logger: { warn: () => undefined } });
    // in_progress or lock_contended: the lease or the Redis lock (same TTL) has not quite gone yet.
    const result = await waitFor(
      async () => {
        const attempt = await submit(taker, sql, sub, options.sabotage);
        if (attempt.outcome === "replayed") throw new Error(`${label}: the stopped attempt completed the run`);
        return attempt.outcome === "executed" ? attempt : null;
      },
      { timeoutMs: 30_000, everyMs: 50, what: `${label}: the takeover` },
    );
    newToken = result.run.fencingToken;
    executed.push({ key: sub.key, workerId: taker.workerId, fencingToken: newToken });
  } finally {
    if (slot.child === child) child.kill("SIGCONT");
    slot.paused = false;
  }
  const outcome = await within(done, 30_000, `${label}: the stopped attempt to finish`);
  if (outcome !== "lease_lost") violations.add(`${label}: the stale attempt (token ${stale.fencingToken}) ended ${outcome}, expected lease_lost`);
  let refused: boolean;
  if (kind === "fenced") {
    const [write] = await sql<{ accepted: boolean }[]>`
      SELECT accepted FROM faults.fenced_log WHERE key = ${sub.key} AND fencing_token = ${stale.fencingToken}`;
    refused = write?.accepted === false;
    if (!write) violations.add(`${label}: the stale attempt (token ${stale.fencingToken}) made no fenced write`);
    else if (write.accepted) {
      violations.add(`fencing: ${label}: the stale attempt's write (token ${stale.fencingToken}) was accepted after the newer attempt's (token ${newToken})`);
    }
  } else {
    const [effects] = await sql<{ n: string }[]>`
      SELECT count(*) AS n FROM faults.tx_effects WHERE key = ${sub.key} AND fencing_token = ${stale.fencingToken}`;
    refused = Number(effects?.n) === 0;
    if (!refused) {
      violations.add(`exactly-once: ${label}: the stale attempt's effect row (token ${stale.fencingToken}) was kept beside the newer attempt's (token ${newToken})`);
    }
  }
  probeResults.push({ kind, key: sub.key, staleToken: stale.fencingToken, newToken, refused });
  log(
    `${label}: attempt ${stale.fencingToken} stopped before its ${kind === "tx" ? "completion" : "fenced write"}, taken over and completed by ` +
      `attempt ${newToken}, then resumed: its ${kind === "tx" ? "completion and effect" : "write"} ${refused ? "refused" : "KEPT"}`,
  );
}

/** A probe delivery on a live worker, held before its last write until the final crash kills it there. */
async function holdForTheCrash(): Promise<void> {
  const slot = slots.find(canPause);
  if (!slot) throw new Error("no live worker to hold a delivery on");
  const sub = plan.addProbe("tx");
  const holding = new Promise<{ runId: number; fencingToken: number }>((resolve) => probeHolding.set(sub.id, resolve));
  probes.set(slot.index, sub);
  const held = await within(holding, 30_000, `the probe ${sub.key} to reach its completion on ${slot.workerId}`);
  verbose(`probe ${sub.key} (run ${held.runId}) held on ${slot.workerId} for the final crash`);
}

/**
 * The one kind of stale lock the final crash cannot leave: token_mismatch, a lock whose run holds a
 * live lease under another token (a takeover's, while the old holder's lock lingers). The orchestrator
 * claims a fenced key with a long lease through a ledger of its own, holds its body, and replaces the
 * SDK's lock on the key with another value: the console must classify it token_mismatch, not held.
 * release() lets the body make its write and complete the run.
 */
async function holdLiveLease(): Promise<{ runId: number; release: () => void; finished: Promise<void> }> {
  const sub = plan.addProbe("fenced");
  const holder = createLedger({ sql, redis, workerId: "faults-lease-holder", logger: { warn: () => undefined } });
  const reached = gate();
  const release = gate();
  let runId = 0;
  const finished = submit(holder, sql, { ...sub, leaseMs: 120_000 }, options.sabotage, async (attempt) => {
    runId = attempt.runId;
    reached.open();
    await release.opened;
  }).then(
    (result) => {
      if (result.outcome === "executed") executed.push({ key: sub.key, workerId: holder.workerId, fencingToken: result.run.fencingToken });
      else violations.add(`the live-lease holder's delivery of ${sub.key} ended ${result.outcome}`);
    },
    (error: unknown) => void violations.add(`the live-lease holder's delivery of ${sub.key} failed: ${describeError(error)}`),
  );
  await within(reached.opened, 30_000, `the live-lease holder to claim ${sub.key}`);
  const lockKey = lockKeyFor(FENCED_TASK, sub.key, LOCK_PREFIX);
  const value = `planted-${randomUUID()}`;
  // XX: in place of the SDK's own lock, which its heartbeat and release compare with its token and leave alone.
  if ((await redis.set(lockKey, value, "PX", 600_000, "XX")) === "OK") {
    planted.push({ lockKey, value, target: "live" });
    counts.planted++;
  } else violations.add(`the live-lease holder's lock ${lockKey} was not there to replace`);
  return { runId, release: release.open, finished };
}

// ---------------------------------------------------------------------------------------------------
// The console under load

interface LoadedConsole {
  server: ConsoleServer;
  cookie: string;
  token: string;
}

let consoleServer: ConsoleServer | null = null;
let buildLock: HeldLock | null = null;
/** Pools built like the console's own (lib/db.ts): the console's queries need postgres.js's array types. */
let consoleSql: postgres.Sql | null = null;

async function stopConsole() {
  const server = consoleServer;
  consoleServer = null;
  await server?.stop().catch(() => undefined);
  const lock = buildLock;
  buildLock = null;
  await lock?.release().catch(() => undefined);
}

/**
 * Holds the build lock, builds if needed (never in --short, which skips the load instead), starts
 * `next start` on the suite's servers and signs a viewer in through the login form. A string says why
 * the load is skipped (--short only); a thrown error is a failure.
 */
async function prepareConsole(): Promise<LoadedConsole | string> {
  const waitS = options.short ? 5 : 900;
  let lock: HeldLock | null = null;
  try {
    lock = await acquireBuildLock(waitS);
    // flock ran and its wait ran out: someone else's e2e run is using .next.
    if (lock === null) {
      const busy = `the build lock (${E2E_LOCK_FILE}) was not free within ${waitS} s`;
      if (options.short) return busy;
      throw new Error(busy);
    }
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "ENOENT")) throw error;
    log("console: flock(1) is not installed; going on without the build lock");
  }
  buildLock = lock;
  verbose("console: build lock taken");
  const state = await buildState(ROOT);
  if (state !== "fresh") {
    if (options.short) return `the console build is ${state} (npm run build, or run the full suite, which builds it)`;
    log(`console: the build is ${state}; next build (log: ${path.join(logs, "console-build.log")}) ...`);
    await buildConsole(ROOT, path.join(logs, "console-build.log"));
    log("console: built");
  }
  const [server, account] = await Promise.all([
    startConsoleServer({
      root: ROOT,
      databaseUrl: pg.url,
      redisUrl: redisServer.url,
      lockPrefix: LOCK_PREFIX,
      logFile: path.join(logs, "console.log"),
      timeoutMs: 120_000,
    }).then((started) => {
      verbose(`console: next start answers at ${started.baseURL}`);
      return started;
    }),
    createViewer(ROOT, pg.url).then((created) => {
      verbose(`console: viewer "${created.username}" created with scripts/user-add.ts`);
      return created;
    }),
  ]);
  consoleServer = server;
  const cookie = await signIn(server.baseURL, account);
  verbose("console: signed in through the login form");
  const token = await createViewerToken(sql);
  return { server, cookie, token };
}

interface LoadFigures {
  results: LoadResult[];
  deliveries: number;
  executedDuring: number;
  runIds: number[];
  serverErrors: string[];
}

/** The load itself: the runs list, the failed filter, a few run details and the JSON API, one after another. */
async function loadConsole(loaded: LoadedConsole): Promise<LoadFigures> {
  // Real ids to read: the newest succeeded runs and whatever is in flight.
  await waitFor(async () => Number((await sql<{ n: string }[]>`SELECT count(*) AS n FROM idem.task_runs WHERE status = 'succeeded'`)[0]?.n) >= 5, {
    timeoutMs: 60_000,
    everyMs: 100,
    what: "the workers to finish a few runs",
  });
  const ids = await sql<{ id: string }[]>`
    (SELECT id FROM idem.task_runs WHERE status = 'succeeded' ORDER BY id DESC LIMIT 3)
    UNION ALL
    (SELECT id FROM idem.task_runs WHERE status <> 'succeeded' ORDER BY id DESC LIMIT 2)`;
  const runIds = ids.map((row) => Number(row.id));
  const page = { cookie: loaded.cookie };
  const targets: LoadTarget[] = [
    { name: "runs list", paths: ["/runs"], headers: page, verifyBody: (body) => isCompletePage(body, /href="\/runs\/\d+"/) },
    {
      name: "runs list, failed",
      paths: ["/runs?status=failed"],
      headers: page,
      verifyBody: (body) => isCompletePage(body, /href="\/runs\/\d+"|No runs match these filters/),
    },
    {
      name: "run detail",
      paths: runIds.map((id) => `/runs/${id}`),
      headers: page,
      verifyBody: (body) => isCompletePage(body, /faults\.(tx|fenced)/),
    },
    {
      name: "JSON API /api/v1/runs",
      paths: ["/api/v1/runs"],
      headers: { authorization: `Bearer ${loaded.token}` },
      verifyBody: (body) => body.startsWith('{"runs":[{'),
    },
  ];
  const before = { deliveries: plan.dispatched, executed: outcomes.executed };
  log(
    `console under load: ${targets.length} targets x ${options.loadSeconds} s, ${options.loadConnections} connections, ` +
      `${loaded.server.baseURL} (run details ${runIds.join(", ")})`,
  );
  const results = await runLoad(loaded.server.baseURL, targets, { connections: options.loadConnections, secondsPerTarget: options.loadSeconds });
  return {
    results,
    deliveries: plan.dispatched - before.deliveries,
    executedDuring: outcomes.executed - before.executed,
    runIds,
    serverErrors: loaded.server.errorLines(),
  };
}

function checkLoad(figures: LoadFigures) {
  for (const result of figures.results) {
    const codes = Object.entries(result.statusCodes)
      .filter(([code]) => !code.startsWith("2"))
      .map(([code, n]) => `${n} x ${code}`)
      .join(", ");
    if (result.non2xx) violations.add(`console under load: ${result.name}: ${result.non2xx} non-2xx answers (${codes})`);
    if (result.errors) violations.add(`console under load: ${result.name}: ${result.errors} request errors (${result.timeouts} timeouts)`);
    if (result.mismatches) violations.add(`console under load: ${result.name}: ${result.mismatches} answers that were not the page asked for`);
    if (result.requests === 0) violations.add(`console under load: ${result.name}: no request completed`);
  }
  if (figures.deliveries === 0) violations.add("console under load: the workers delivered nothing meanwhile");
  for (const line of figures.serverErrors.slice(0, 10)) violations.add(`console under load: the server logged: ${line}`);
}

function loadTable(results: LoadResult[]): string[] {
  const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
  return [
    "| target | paths | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | errors |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.paths.map((p) => `\`${p}\``).join(" ")} | ${r.requests} | ${r.requestsPerSecond.toFixed(1)} | ${ms(r.latencyMs.p50)} | ` +
        `${ms(r.latencyMs.p90)} | ${ms(r.latencyMs.p99)} | ${ms(r.latencyMs.max)} | ${r.non2xx} | ${r.errors + r.mismatches} |`,
    ),
  ];
}

async function cleanup() {
  for (const slot of slots) {
    if (slot.resumeTimer) clearTimeout(slot.resumeTimer);
    slot.killing = true;
    slot.child?.kill("SIGKILL");
  }
  await Promise.all(slots.map((slot) => slot.exited));
  await stopConsole();
  resumeRedis();
  redis.disconnect();
  await consoleSql?.end({ timeout: 2 }).catch(() => undefined);
  await sql.end({ timeout: 2 }).catch(() => undefined);
  await redisServer.stop().catch(() => undefined);
  await pg.stop().catch(() => undefined);
  pgLog.end();
  await workerEntry.cleanup();
}

// The sampler's pool lives through the restarts, so it can meet the same driver crash as a worker
// (KNOWN_DRIVER_CRASH). The suite must not die of it: the pool is dropped after the chaos, and
// everything that is verified is read through a pool that never saw a restart mid-query.
process.on("uncaughtException", (error) => {
  if (KNOWN_DRIVER_CRASH.test(String(error.stack))) {
    counts.orchestratorDriverCrashes++;
    violations.add("the orchestrator's sampler met the postgres.js nextWrite crash (porsager/postgres#1154) despite the patch");
    return;
  }
  console.error(`[faults] the suite itself failed: ${error.stack ?? error.message}`);
  void cleanup().finally(() => process.exit(2));
});
process.on("unhandledRejection", (reason) => {
  const query = reason instanceof Error ? Reflect.get(reason, "query") : undefined;
  if (typeof query === "string" && TYPE_FETCH_QUERY.test(query)) {
    counts.orchestratorTypeFetchRejections++;
    return;
  }
  console.error(`[faults] the suite itself failed: unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  void cleanup().finally(() => process.exit(2));
});

process.on("SIGINT", () => {
  log("interrupted: stopping workers and servers");
  void cleanup().finally(() => process.exit(130));
});

function classList(counts: Partial<Record<LockClass, number>>): string {
  return Object.entries(counts).map(([lockClass, n]) => `${n} ${lockClass}`).join(", ") || "none";
}

function statusLine(): string {
  return (
    `delivered ${plan.dispatched} (${plan.keys.size} keys): ${outcomes.executed} executed, ${outcomes.replayed} replayed, ` +
    `${outcomes.in_progress} in progress, ${outcomes.lock_contended} lock-contended, ${outcomes.lease_lost} lease lost, ${outcomes.error} errors | ` +
    `${counts.kills} kills, ${counts.pauses} pauses, Redis ${counts.redisRestarts} restarts/${counts.redisPauses} pauses, ` +
    `Postgres ${counts.postgresRestarts} restarts/${counts.postgresCrashes} crashes`
  );
}

let exitCode = 0;
let loadFigures: LoadFigures | null = null;
let loadSkipped: string | null = options.load ? null : "--no-load";
try {
  // The console starts (and, in a full run, builds if it must) while the workers start.
  const consoleReady: Promise<LoadedConsole | string | Error> = options.load
    ? prepareConsole().catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
    : Promise.resolve("--no-load");
  for (const slot of slots) spawnWorker(slot);
  await waitFor(() => slots.every((slot) => slot.ready), { timeoutMs: 120_000, everyMs: 50, what: "every worker to start" });
  log(`${options.workers} workers up`);
  const loaded = await consoleReady;

  // ------------------------------------------------------------------------------------------------
  // Chaos
  const durationMs = options.durationS * 1000;
  const drops = !argv["no-drop-connections"];
  const standard: Record<Action, number> = options.short
    ? { kill_worker: 2, pause_worker: 3, restart_redis: 1, pause_redis: 1, restart_postgres: 1, crash_postgres: 1, plant_stale_lock: 2, drop_connection: drops ? 2 : 0 }
    : { kill_worker: 10, pause_worker: 12, restart_redis: 4, pause_redis: 3, restart_postgres: 4, crash_postgres: 4, plant_stale_lock: 5, drop_connection: drops ? 6 : 0 };
  // Each kind of fault at least this often, in the schedule and (checked at the end) in fact; a chaos
  // shorter than the mode's default asks for proportionally fewer.
  const scale = Math.min(1, options.durationS / (options.short ? 9 : 90));
  const minimum = Object.fromEntries(Object.entries(standard).map(([action, n]) => [action, Math.floor(n * scale)])) as Record<Action, number>;
  const schedule = drawSchedule(rngChaos, {
    durationMs,
    meanGapMs: options.short ? 400 : 650,
    weights: chaosWeights({ dropConnections: drops }),
    minimum,
  });
  phase = "load";
  const pending = new Set<Promise<void>>();
  let statusAt = 0;
  const status = () => {
    statusAt = Date.now();
    log(statusLine());
  };
  const statusTimer = setInterval(status, options.short ? 3000 : 10_000);
  // The console's detection queries under load: they must keep answering while the servers come and go.
  samplerSql = createSql(pg.url, { max: 2, applicationName: "faults-sampler" });
  const sampler = samplerSql;
  let inspecting = false;
  const inspectTimer = setInterval(() => {
    if (inspecting) return;
    inspecting = true;
    const upSince = postgresUpSince;
    const startedAt = Date.now();
    findStuckRunsAndStaleLocks(sampler, redis, LOCK_CONFIG)
      .then((inspection) => {
        counts.inspections++;
        counts.inspectionPages += inspection.pages;
        if (inspection.locksUnavailable) counts.inspectionsWithoutRedis++;
        counts.maxStuckSeen = Math.max(counts.maxStuckSeen, inspection.stuckRuns.length);
        counts.maxStaleLocksSeen = Math.max(counts.maxStaleLocksSeen, inspection.staleLocks.length);
        if (!inspection.locksUnavailable) {
          for (const [lockClass, n] of Object.entries(inspection.lockCounts) as Array<[LockClass, number]>) {
            if (n > 0) maxLockClassSeen[lockClass] = Math.max(maxLockClassSeen[lockClass] ?? 0, n);
          }
        }
      })
      .catch((error: unknown) => {
        // Excused while Postgres is down, restarting, or back for less than a second (the pool is still
        // finding out which of its connections died); any other failure means the operator's screen
        // would fail too.
        counts.inspectionsFailed++;
        if (upSince !== null && postgresUpSince === upSince && startedAt - upSince >= 1000) {
          violations.add(`the console's stuck-run and stale-lock queries failed with Postgres up (for ${startedAt - upSince} ms): ${describeError(error)}`);
        } else verbose(`detection query failed while Postgres was down or restarting: ${describeError(error)}`);
      })
      .finally(() => {
        inspecting = false;
      });
  }, 2000);
  // The visibility timeout: every lease + 300 ms a delivery stays unacknowledged, up to three times, a
  // copy goes to another worker. A copy that arrives while the lease still lives gets in_progress; a
  // later one takes the run over from the paused or dead holder.
  const REDELIVERY_MARGIN_MS = 300;
  const redeliveryTimer = setInterval(() => {
    const now = Date.now();
    for (const slot of slots) {
      for (const entry of slot.inflight.values()) {
        const due = entry.sentAt + (entry.redeliveries + 1) * (entry.sub.leaseMs + REDELIVERY_MARGIN_MS);
        if (!entry.sub.probe && entry.redeliveries < 3 && now > due) {
          entry.redeliveries++;
          plan.redeliver(entry.sub);
        }
      }
    }
  }, 100);

  // ------------------------------------------------------------------------------------------------
  // The stale-writer probes, one per kind of key, on two workers while the others write.
  try {
    const [first, second] = slots;
    if (first && second) await Promise.all([runProbe("fenced", first), runProbe("tx", second)]);
  } catch (error) {
    violations.add(`the stale-writer probe failed: ${describeError(error)}`);
  }

  // ------------------------------------------------------------------------------------------------
  // The console under load, while the workers write (no faults yet: a fault would fail requests).
  if (typeof loaded === "string") {
    loadSkipped = loaded;
    if (options.load) log(`console under load: skipped: ${loaded}`);
    // npm test builds the console before it runs this: a load that did not happen there is a failure.
    if (options.requireLoad) violations.add(`console under load: skipped (${loaded}), and --require-load says it must run`);
  } else if (loaded instanceof Error) {
    loadSkipped = `failed: ${loaded.message.split("\n")[0]}`;
    violations.add(`the console could not be started for the load: ${loaded.message}`);
    await stopConsole();
  } else {
    try {
      loadFigures = await loadConsole(loaded);
      checkLoad(loadFigures);
      console.log("");
      for (const line of loadTable(loadFigures.results)) console.log(`  ${line}`);
      console.log("");
      log(`console under load: done; the workers delivered ${loadFigures.deliveries} meanwhile (${loadFigures.executedDuring} executed)`);
    } catch (error) {
      violations.add(`the console load failed: ${describeError(error)}`);
    } finally {
      if (loaded.server.exited()) violations.add(`the console exited during the load; see ${path.join(logs, "console.log")}`);
      await stopConsole();
    }
  }

  log(`chaos: ${schedule.length} scheduled faults over ${options.durationS}s`);
  phase = "chaos";
  const chaosStart = Date.now();
  for (const event of schedule) {
    const wait = chaosStart + event.atMs - Date.now();
    if (wait > 0) await delay(wait); // the schedule, not a synchronisation
    const action = fire(event).catch((error: unknown) => violations.add(`chaos action ${event.action} failed: ${describeError(error)}`));
    pending.add(action);
    void action.finally(() => pending.delete(action));
  }
  const rest = chaosStart + durationMs - Date.now();
  if (rest > 0) await delay(rest);
  if (options.keys !== undefined) {
    // A fixed workload: every planned copy of every key is sent before the final crash (no more faults).
    log(`chaos over; the workers finish the plan's ${options.keys} keys`);
    await waitFor(() => plan.exhausted(), { timeoutMs: 600_000, everyMs: 100, what: `the plan's ${options.keys} keys and their copies to be sent` });
  }
  // One delivery certainly mid-flight when the crash comes, so the quiet point certainly has a stuck
  // run to find: a probe that holds before its last write, and is killed there.
  await holdForTheCrash().catch((error: unknown) => violations.add(`the probe held for the final crash failed: ${describeError(error)}`));

  // ------------------------------------------------------------------------------------------------
  // Final crash: every worker dies at once, mid-flight.
  phase = "ending";
  plan.open = false;
  clearInterval(statusTimer);
  clearInterval(inspectTimer);
  clearInterval(redeliveryTimer);
  if (Date.now() - statusAt > 1000) status(); // unless the timer has just printed it
  const inflightAtCrash = slots.reduce((sum, slot) => sum + slot.inflight.size, 0);
  // A delivery that has been in flight far longer than any lease plus retries is hung, not slow.
  const oldestInflightMs = Math.max(0, ...slots.flatMap((slot) => [...slot.inflight.values()].map((entry) => Date.now() - entry.sentAt)));
  // A worker gives up retrying a delivery after 30 s (worker.ts RETRY_FOR_MS) and a pause lasts at most
  // 4 s: a delivery older than that plus a margin is hung, which the redeliveries would only hide.
  if (oldestInflightMs > 45_000) violations.add(`a delivery had been in flight for ${(oldestInflightMs / 1000).toFixed(1)} s at the final crash: hung`);
  for (const slot of slots) {
    if (slot.child && !slot.killing) {
      counts.finalKills++;
      void killWorker(slot, null);
    }
  }
  log(`final crash: SIGKILL to all ${counts.finalKills} live workers (${inflightAtCrash} deliveries in flight)`);
  resumeRedis();
  await Promise.all(pending);
  await sampler.end({ timeout: 1 }).catch(() => undefined);
  samplerSql = null;
  await waitFor(() => slots.every((slot) => slot.child === null), { timeoutMs: 30_000, what: "every worker to exit" });
  await waitFor(
    async () => {
      try {
        await sql`SELECT 1`;
        return (await redis.ping()) === "PONG";
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, everyMs: 100, what: "Postgres and Redis to answer" },
  );
  // Debris that outlives the crash (Redis restarts wiped most locks planted earlier): a long-lived lock
  // on a finished key, one on a key no worker has seen, which only an operator's release frees, one
  // without a TTL on a finished key, and (holdLiveLease) one whose run another attempt holds.
  const plantedDuringChaos = counts.planted;
  for (const variant of [0, 1, 2]) {
    const event: ChaosEvent = { atMs: 0, action: "plant_stale_lock", target: randomInt(rngChaos, 0, 1_000_000), durationMs: 0, variant };
    if (await plantStaleLock(event)) counts.planted++;
  }
  const liveHold = await holdLiveLease();
  await waitFor(
    async () =>
      Number(
        (await sql<{ n: string }[]>`
          SELECT count(*) AS n FROM idem.task_runs WHERE status = 'running' AND lease_expires_at > now() AND id <> ${liveHold.runId}`)[0]?.n,
      ) === 0,
    { timeoutMs: 30_000, everyMs: 100, what: "every lease to expire" },
  );

  // ------------------------------------------------------------------------------------------------
  // Everything is dead: the console's queries must show every stuck run and every stale lock. Through a
  // pool that saw no restart, built like the console's.
  consoleSql = createSql(pg.url, { max: 4, applicationName: "faults-console-queries" });
  const viewSql = consoleSql;
  const quiescent = await checkQuiescent(sql, viewSql, redis, LOCK_CONFIG, planted, new Set([liveHold.runId]), violations);
  // The held run completes now, so the sweeper finds it finished and its planted lock stale.
  liveHold.release();
  await liveHold.finished;
  log(
    `after the crash, in the console's queries: ${quiescent.figures.stuckRunning} stuck runs, ${quiescent.figures.overduePending} overdue and ` +
      `${quiescent.figures.scheduledPending} scheduled retries pending, ${quiescent.figures.staleLocks} stale locks ` +
      `(${JSON.stringify(quiescent.figures.staleLocksByClass)}; ${quiescent.figures.plantedPresent} of ${planted.length} planted still present); ` +
      `${quiescent.figures.runsListed} runs in the runs list: ` +
      `${violations.count === 0 ? "all shown" : `${violations.count} violations so far`}`,
  );

  // ------------------------------------------------------------------------------------------------
  // The sweeper: resubmit every key until it is finished, as a redelivering queue eventually would.
  const sweepWarnings = { count: 0 };
  const sweeper = createLedger({ sql, redis, workerId: "sweeper", logger: { warn: () => void sweepWarnings.count++ } });
  const sweep = { executed: 0, replayed: 0, finishedBehindLock: 0, locksReleased: 0, waits: 0, duplicatesReported: 0 };
  const keys = [...plan.keys];
  let nextIndex = 0;
  const sweepKey = async (key: string, kind: Kind) => {
    const task = kind === "tx" ? TX_TASK : FENCED_TASK;
    const lockKey = lockKeyFor(task, key, LOCK_PREFIX);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      let result;
      try {
        result = await submit(sweeper, sql, { key, kind, leaseMs: 2000, workMs: 0, effectFirst: true }, options.sabotage);
      } catch (error) {
        if (error instanceof LeaseLostError || isTransient(error)) continue;
        violations.add(`sweeper: ${key}: ${describeError(error)}`);
        return;
      }
      if (result.outcome !== "executed") sweep.duplicatesReported++;
      switch (result.outcome) {
        case "executed":
          sweep.executed++;
          executed.push({ key, workerId: "sweeper", fencingToken: result.run.fencingToken });
          return;
        case "replayed":
          if (result.run.status === "succeeded") sweep.replayed++;
          else violations.add(`key lost: ${task}/${key} is ${result.run.status}`);
          return;
        case "in_progress":
          sweep.waits++;
          await waitFor(
            async () =>
              (await sql`SELECT 1 FROM idem.task_runs WHERE task_name = ${task} AND idempotency_key = ${key} AND status = 'running' AND lease_expires_at > now()`)
                .length === 0,
            { timeoutMs: 30_000, everyMs: 100, what: `the lease on ${key} to expire` },
          );
          continue;
        case "lock_contended": {
          const [run] = await sql<{ status: string }[]>`SELECT status FROM idem.task_runs WHERE task_name = ${task} AND idempotency_key = ${key}`;
          if (run?.status === "succeeded") {
            sweep.finishedBehindLock++;
            return;
          }
          // What an operator does from the console: find the stale lock on the Locks screen, release it
          // with the console's release (compare-and-delete with the value they saw: a lock re-taken
          // meanwhile is left alone), and redeliver.
          const inspection = await findStuckRunsAndStaleLocks(viewSql, redis, LOCK_CONFIG);
          const stale = inspection.staleLocks.find((lock) => lock.lockKey === lockKey);
          if (stale && stale.value !== null) {
            const outcome = await releaseInventoriedLock(
              redis,
              viewSql,
              LOCK_CONFIG,
              {
                key: lockKey,
                valueSeen: stale.value,
                classSeen: stale.class,
                reason: "fault suite sweeper: a stale lock blocks this key's delivery",
                confirmKey: null,
                expireLease: false,
                leaseTokenSeen: null,
              },
              { actor: "faults-sweeper", requestId: randomUUID() },
            );
            if (outcome.result === "released") sweep.locksReleased++;
          } else {
            sweep.waits++;
            const seen = await redis.get(lockKey);
            await waitFor(async () => (await redis.get(lockKey)) !== seen, { timeoutMs: 30_000, what: `the lock on ${key} to go` });
          }
          continue;
        }
      }
    }
    violations.add(`sweeper could not finish ${task}/${key} within 60 s`);
  };
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let index = nextIndex++; index < keys.length; index = nextIndex++) {
        const entry = keys[index];
        if (entry) await sweepKey(entry[0], entry[1]);
      }
    }),
  );
  duplicatesReported.set("sweeper", sweep.duplicatesReported);
  log(
    `sweeper: ${keys.length} keys resubmitted: ${sweep.executed} executed, ${sweep.replayed} replayed, ` +
      `${sweep.finishedBehindLock} finished behind a stale lock, ${sweep.locksReleased} stale locks released`,
  );

  // ------------------------------------------------------------------------------------------------
  // The guarantees.
  const final = await checkFinal(sql, plan.keys, executed, violations);
  await checkDuplicatesRecorded(sql, duplicatesReported, violations);
  const afterSweep = await findStuckRunsAndStaleLocks(viewSql, redis, LOCK_CONFIG);
  if (afterSweep.locksUnavailable) violations.add(`after the sweeper the locks could not be read: ${afterSweep.locksUnavailable}`);
  if (afterSweep.stuckRuns.length || afterSweep.stuckCount) {
    violations.add(`${afterSweep.stuckRuns.length} runs still listed stuck (overview: ${afterSweep.stuckCount}) after the sweeper`);
  }
  if (afterSweep.pendingRuns.length) violations.add(`${afterSweep.pendingRuns.length} runs still pending after the sweeper`);
  // What is left is debris on finished keys: released in bulk, as an operator selects them on the Locks screen.
  const leftovers = afterSweep.staleLocks.flatMap((lock) => {
    if ((lock.class !== "stale" && lock.class !== "no_ttl") || lock.runStatus !== "succeeded") {
      violations.add(`after the sweeper, lock ${lock.lockKey} is ${lock.class} (run ${lock.runStatus ?? "none"})`);
    }
    return lock.value === null ? [] : [{ key: lock.lockKey, valueSeen: lock.value, classSeen: lock.class }];
  });
  const released = await releaseSelectedLocks(redis, viewSql, LOCK_CONFIG, leftovers, "fault suite: debris after the sweeper", {
    actor: "faults-suite",
    requestId: randomUUID(),
  });
  const releasedAfterSweep = released.filter((outcome) => outcome.result === "released").length;
  released.forEach((outcome, index) => {
    if (outcome.result !== "released") violations.add(`releasing ${leftovers[index]?.key} from the console's inventory: ${outcome.result}`);
  });
  const clean = await findStuckRunsAndStaleLocks(viewSql, redis, LOCK_CONFIG);
  if (clean.locksUnavailable) violations.add(`the final lock check could not read the locks: ${clean.locksUnavailable}`);
  if (clean.staleLocks.length || clean.liveLocks) violations.add(`locks left after releasing the stale ones: ${clean.staleLocks.length + clean.liveLocks}`);
  let remaining = 0;
  for await (const batch of redis.scanStream({ match: `${LOCK_PREFIX}*`, count: 1000 }) as AsyncIterable<string[]>) remaining += batch.length;
  if (remaining) violations.add(`${remaining} lock keys left in Redis after the console released every stale lock`);

  // ------------------------------------------------------------------------------------------------
  // A run in which the faults did not happen proves nothing: each kind must have happened as often as
  // the schedule promised, and the cases the guarantees are about must have come up.
  const happened: Array<[string, number, number]> = [
    ["worker kills (SIGKILL) during the chaos", counts.kills, minimum.kill_worker],
    ["worker pauses (SIGSTOP/SIGCONT)", counts.pauses, minimum.pause_worker],
    ["Redis restarts", counts.redisRestarts, minimum.restart_redis],
    ["Redis pauses", counts.redisPauses, minimum.pause_redis],
    ["fast Postgres restarts", counts.postgresRestarts, minimum.restart_postgres],
    ["Postgres crashes (SIGQUIT)", counts.postgresCrashes, minimum.crash_postgres],
    ["stale locks planted during the chaos", plantedDuringChaos, minimum.plant_stale_lock],
    ["worker connections dropped", counts.droppedConnections, minimum.drop_connection],
    ["takeovers of expired leases", final.takeovers, 1],
    ["stale writes refused by the fencing check", final.staleWritesRejectedByFencing, 1],
    ["transactional keys run by more than one attempt", final.txKeysExecutedMoreThanOnce, 1],
    ["stuck runs at the quiet point after the final crash", quiescent.figures.stuckRunning, 1],
    ["answers of the console's stuck-run and stale-lock queries while the workers ran", counts.inspections, 1],
  ];
  for (const [what, count, least] of happened) {
    if (count < least) violations.add(`vacuous: ${what}: ${count}, at least ${least} required`);
  }
  if (skippedFaults.length) log(`${skippedFaults.length} scheduled faults did not happen: ${skippedFaults.join("; ")}`);

  const keysTx = [...plan.keys.values()].filter((kind) => kind === "tx").length;
  const staleByLedger = Object.values(final.staleWritesRejectedByLedger).reduce((sum, n) => sum + n, 0);
  const figures: Figure[] = [
    ["seed", String(options.seed)],
    ["chaos", `${options.durationS} s, ${options.workers} worker processes x ${options.concurrency} concurrent deliveries, leases 400-1000 ms`],
    ["keys", `${plan.keys.size} (${keysTx} transactional, ${plan.keys.size - keysTx} fenced)${options.keys ? `, --keys ${options.keys}` : ""}`],
    [
      "deliveries",
      `${plan.dispatched}` +
        (loadFigures ? `, ${loadFigures.deliveries} of them while the console was under load, before the faults` : "") +
        // Copies still queued or not yet due when the final crash stopped the plan: never sent to a worker
        // (the sweeper then delivers every key once more).
        ` (${plan.undelivered()} planned copies never sent: still queued or not yet due at the final crash)`,
    ],
    [
      "duplicates injected",
      `${plan.dispatched - plan.keysDelivered()} (${plan.lateCopies} planned seconds late, ${plan.redeliveries} redeliveries after a visibility timeout); ` +
        `plus ${keys.length} sweeper resubmissions`,
    ],
    [
      "worker outcomes",
      `${outcomes.executed} executed, ${outcomes.replayed} replayed, ${outcomes.in_progress} in progress, ${outcomes.lock_contended} lock-contended, ` +
        `${outcomes.lease_lost} lease lost, ${counts.crashedDeliveries} died with their worker, ${counts.transientRetries} retries after connection errors`,
    ],
    [
      "worker kills (SIGKILL)",
      `${counts.kills} during chaos + ${counts.finalKills} in the final crash` +
        (counts.driverCrashes ? `; plus ${counts.driverCrashes} workers killed by the postgres.js nextWrite crash (porsager/postgres#1154)` : "") +
        (counts.orchestratorDriverCrashes ? `; the orchestrator's sampler survived it ${counts.orchestratorDriverCrashes} times` : ""),
    ],
    [
      "crashes from the driver",
      `${counts.driverCrashes} workers died of the nextWrite crash (porsager/postgres#1154, patched), ` +
        `${counts.orchestratorDriverCrashes} in the orchestrator; ${counts.orchestratorTypeFetchRejections} unhandled type-fetch rejections ` +
        `(porsager/postgres#1192) in the console-query pools, survived`,
    ],
    ["worker pauses (SIGSTOP/SIGCONT)", String(counts.pauses)],
    ["oldest delivery in flight at the final crash", `${(oldestInflightMs / 1000).toFixed(1)} s`],
    ["Redis restarts / pauses", `${counts.redisRestarts} / ${counts.redisPauses}`],
    ["Postgres restarts (fast / crash)", `${counts.postgresRestarts + counts.postgresCrashes} (${counts.postgresRestarts} / ${counts.postgresCrashes})`],
    ["worker connections dropped (pg_terminate_backend)", String(counts.droppedConnections)],
    ["takeovers of expired leases", String(final.takeovers)],
    ["re-claims of runs sent back to pending", String(final.claimsAfterRetry)],
    [
      "stale writes rejected",
      `${staleByLedger} by the ledger (${Object.entries(final.staleWritesRejectedByLedger).map(([what, n]) => `${n} ${what}`).join(", ") || "none"}), ` +
        `${final.staleWritesRejectedByFencing} by the fencing check`,
    ],
    [
      "stale-writer probes (stopped at the write, taken over, resumed)",
      probeResults.map((p) => `${p.kind}: token ${p.staleToken} after ${p.newToken} ${p.refused ? "refused" : "KEPT"}`).join("; ") || "none",
    ],
    [
      "transactional keys run by more than one attempt",
      `${final.txKeysExecutedMoreThanOnce} (${final.txEffectsRolledBack} attempts before the completing ones, each either stopped before its effect ` +
        `or had it rolled back: not told apart, only the tx probe's is certain), each with exactly 1 effect`,
    ],
    ["fenced keys whose effect was applied more than once", `${final.fencedKeysWithRepeatedEffect} (${final.fencedWritesAccepted} accepted writes for ${plan.keys.size - keysTx} keys)`],
    ["highest fencing token", String(final.maxFencingToken)],
    ["duplicate_attempts rows", Object.entries(final.duplicateAttempts).map(([outcome, n]) => `${n} ${outcome}`).join(", ")],
    [
      "visible in the console after the final crash",
      `${quiescent.figures.stuckRunning} stuck runs (runs list filtered to stuck, every page; the overview's count agrees), ` +
        `${quiescent.figures.overduePending + quiescent.figures.scheduledPending} pending; ` +
        `${quiescent.figures.staleLocks} stale locks on the Locks inventory (${classList(quiescent.figures.staleLocksByClass)}; ` +
        `${counts.planted} planted, ${quiescent.figures.plantedPresent} of them still there: Redis restarts wipe locks); ` +
        `all ${quiescent.figures.runsListed} runs in the unfiltered list, each once with its status (${quiescent.figures.pagesRead} pages); checked against plain SQL and Redis`,
    ],
    [
      "console queries while the workers ran",
      `${counts.inspections} answers (${counts.inspectionPages} pages of the runs list; ${counts.inspectionsFailed} failed, each while Postgres was down) while servers came and went ` +
        `(${counts.inspectionsWithoutRedis} with Redis unavailable: runs only); at most ${counts.maxStuckSeen} stuck runs and ` +
        `${counts.maxStaleLocksSeen} stale locks at once; lock classes seen (most at once): ${classList(maxLockClassSeen)}`,
    ],
    ["stale locks released through the console's release, by the sweeper / afterwards", `${sweep.locksReleased} / ${releasedAfterSweep}`],
    [
      "console under load",
      loadFigures
        ? `${loadFigures.results.reduce((sum, r) => sum + r.requests, 0)} requests, ` +
          `${loadFigures.results.reduce((sum, r) => sum + r.non2xx, 0)} non-2xx, ` +
          `${loadFigures.results.reduce((sum, r) => sum + r.errors + r.mismatches, 0)} errors, p99 ` +
          `${loadFigures.results.map((r) => `${r.latencyMs.p99} ms (${r.name})`).join(", ")}; ` +
          `the workers delivered ${loadFigures.deliveries} meanwhile (${loadFigures.executedDuring} executed)`
        : `not measured (${loadSkipped ?? "?"})`,
    ],
    ["violations", String(violations.count)],
  ];

  console.log("");
  const width = Math.max(...figures.map(([name]) => name.length));
  for (const [name, value] of figures) console.log(`  ${name.padEnd(width)}  ${value}`);
  console.log("");
  if (violations.count) {
    console.log(`VIOLATIONS (${violations.count}):`);
    for (const line of violations.lines.slice(0, 40)) console.log(`  - ${line}`);
    if (violations.count > 40) console.log(`  ... and ${violations.count - 40} more`);
    exitCode = 1;
  } else {
    log(`no violations (${final.runs} runs checked) in ${elapsed().trim()} s`);
  }

  if (writeFigures && violations.count === 0) {
    const file = await writeBenchmarks(ROOT, figures, {
      command:
        `npm run test:faults -- ${options.short ? "--short " : ""}--seed ${options.seed}` +
        `${argv.duration ? ` --duration ${options.durationS}` : ""}${options.keys ? ` --keys ${options.keys}` : ""}`,
      pgVersion: (await sql<{ server_version: string }[]>`SHOW server_version`)[0]?.server_version ?? "?",
      redisVersion: /redis_version:(\S+)/.exec(await redis.info("server"))?.[1] ?? "?",
      load: loadFigures
        ? {
            setup:
              `autocannon, ${options.loadConnections} connections, ${options.loadSeconds} s per target, one target after another, ` +
              "against `next start` (production build) on 127.0.0.1 serving the suite's database, before the faults begin; " +
              "pages with the session cookie of a viewer signed in through the login form in Chromium, the API with a viewer token; " +
              `the ${options.workers} worker processes delivered ${loadFigures.deliveries} submissions (${loadFigures.executedDuring} executed) meanwhile. ` +
              "A request counts as an error unless it is a 2xx whose body is the complete page (no error boundary, no health banner) or the JSON list.",
            table: loadTable(loadFigures.results),
          }
        : null,
    });
    log(`figures written to ${path.relative(ROOT, file)}`);
  }
} catch (error) {
  console.error(`[faults] the suite itself failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  exitCode = 2;
} finally {
  phase = "done";
  await cleanup();
  // A sabotaged run is meant to find violations: its data is only kept if asked for.
  const expected = exitCode === 0 || (exitCode === 1 && options.sabotage !== "none");
  if (expected && !argv.keep) await rm(tmp, { recursive: true, force: true });
  else log(`logs and data kept in ${tmp}`);
}
process.exit(exitCode);
