import type { Redis } from "ioredis";
import Redlock from "redlock";
import { Mutex } from "redis-semaphore";
import { acquireLock, lockKeyFor, newLockToken, releaseLock } from "@/lib/locks/locks";
import { createRedis } from "@/lib/redis";
import { contender, formatRate, measureCell, splitEvenly, type AnyContender, type Measurement, type OpIndex } from "./harness/measure";
import { packageVersion } from "./harness/environment";
import { combineRuns, connectionArgs, findRedisBenchmark, runRedisBenchmark, type RedisBenchmarkRun } from "./harness/redis-benchmark";
import { comparisonTable, noiseCaveat, ratioOf, thousands, type CellGroup, type RatioColumn } from "./harness/tables";
import type { Suite, SuiteContext, SuiteReport } from "./harness/types";

/**
 * Lock acquire + release on the same Redis: Idem's locks (lib/locks) vs redlock (one instance) vs
 * redis-semaphore's Mutex, with redis-benchmark's SET NX PX as the physical ceiling.
 */

const IDEM = "Idem acquireLock + releaseLock";
const REDLOCK = "redlock acquire + release";
const SEMAPHORE = "redis-semaphore Mutex";
const CEILING = "redis-benchmark SET NX PX";

const TTL_MS = 10_000;

function clientName(label: string): string {
  return `idem-bench-locks-${label.split(" ")[0]!.toLowerCase()}`;
}

async function openRedis(url: string, label: string): Promise<Redis> {
  const redis = createRedis(url, { name: clientName(label) });
  await redis.ping();
  return redis;
}

const opKey = (cell: string, at: OpIndex) => `${cell}:${at.phase === "warmup" ? "w" : "k"}${at.index}`;

function idemContender(url: string, prefix: string, cell: string): AnyContender {
  return contender<Redis>({
    label: IDEM,
    open: () => openRedis(url, IDEM),
    async op(redis, at) {
      const key = lockKeyFor("bench", opKey(cell, at), `${prefix}idem:`);
      const token = newLockToken();
      if (!(await acquireLock(redis, key, token, TTL_MS))) throw new Error(`Idem: ${key} was already locked`);
      const released = await releaseLock(redis, key, token);
      if (!released.released) throw new Error(`Idem: releasing ${key} found ${JSON.stringify(released.current)}`);
    },
    async close(redis) {
      await redis.quit().catch(() => redis.disconnect());
    },
  });
}

function redlockContender(url: string, prefix: string, cell: string, onError: (error: unknown) => void): AnyContender {
  return contender<{ redis: Redis; redlock: Redlock }>({
    label: REDLOCK,
    async open() {
      const redis = await openRedis(url, REDLOCK);
      // One instance, no retries: an acquire either succeeds at once or throws (keys here are always free).
      const redlock = new Redlock([redis], { retryCount: 0 });
      redlock.on("error", onError);
      return { redis, redlock };
    },
    async op({ redlock }, at) {
      const lock = await redlock.acquire([`${prefix}redlock:${opKey(cell, at)}`], TTL_MS);
      await lock.release();
    },
    async close({ redis }) {
      await redis.quit().catch(() => redis.disconnect());
    },
  });
}

function semaphoreContender(url: string, prefix: string, cell: string): AnyContender {
  return contender<Redis>({
    label: SEMAPHORE,
    open: () => openRedis(url, SEMAPHORE),
    async op(redis, at) {
      // refreshInterval 0: no background refresh timer (neither Idem nor redlock's acquire starts one);
      // acquireAttemptsLimit 1: a single SET NX PX, like the others.
      const mutex = new Mutex(redis, `${prefix}sem:${opKey(cell, at)}`, { lockTimeout: TTL_MS, refreshInterval: 0, acquireAttemptsLimit: 1 });
      if (!(await mutex.tryAcquire())) throw new Error("redis-semaphore: the mutex was already taken");
      await mutex.release();
    },
    async close(redis) {
      await redis.quit().catch(() => redis.disconnect());
    },
  });
}

async function countKeys(url: string, patterns: string[]): Promise<number> {
  const redis = createRedis(url, { name: "idem-bench-locks-check" });
  let count = 0;
  try {
    for (const pattern of patterns) {
      const stream = redis.scanStream({ match: pattern, count: 1000 });
      for await (const keys of stream as AsyncIterable<string[]>) count += keys.length;
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  return count;
}

export const locksSuite: Suite = {
  name: "locks",
  title: "Lock acquire + release: Idem locks vs redlock vs redis-semaphore, against redis-benchmark",
  summary: "Idem acquireLock+releaseLock vs redlock vs redis-semaphore Mutex; redis-benchmark SET NX PX as the ceiling",
  implemented: true,
  async run(ctx: SuiteContext): Promise<SuiteReport> {
    const quick = ctx.mode === "quick";
    const ops = quick ? 2_000 : 30_000;
    const warmupOps = quick ? 200 : 500;
    const benchmarkRequests = quick ? 10_000 : 150_000;
    const prefix = ctx.resources.redisPrefix("locks", (p) => [`mutex:${p}*`]);
    const ourPatterns = [`${prefix}idem:*`, `${prefix}redlock:*`, `mutex:${prefix}sem:*`];
    const binary = findRedisBenchmark();
    const { args: connArgs, display } = connectionArgs(ctx.redisUrl);
    const redlockVersion = await packageVersion("redlock");
    const errors: string[] = [];
    const groups: CellGroup[] = [];
    const byConcurrency = new Map<number, { results: Map<string, Measurement>; ceiling: Measurement | null }>();
    let commandShown = "";

    try {
      for (const concurrency of ctx.concurrency) {
        const cell = `c${concurrency}`;
        ctx.log(`  ${concurrency} client(s): ${thousands(ops)} acquire + release pairs each`);
        const results = await measureCell(
          [
            idemContender(ctx.redisUrl, prefix, cell),
            redlockContender(ctx.redisUrl, prefix, cell, (error) => errors.push(String(error))),
            semaphoreContender(ctx.redisUrl, prefix, cell),
          ],
          { concurrency, ops, warmupOps, rounds: ctx.rounds, signal: ctx.signal, primeOps: groups.length === 0 ? warmupOps * 4 : 0 },
          ctx.log,
        );

        let ceiling: Measurement | null = null;
        if (binary) {
          const runs: Array<{ requests: number; run: RedisBenchmarkRun }> = [];
          for (const requests of splitEvenly(benchmarkRequests, ctx.rounds)) {
            ctx.signal.throwIfAborted();
            const command = (n: string, c: string) =>
              ["-n", n, "-c", c, "-P", "1", "-r", "100000000", "--csv", "SET", `${prefix}rb:__rand_int__`, "v", "NX", "PX", String(TTL_MS)];
            commandShown = ["redis-benchmark", ...display, ...command("<requests>", "<clients>")].join(" ");
            runs.push({ requests, run: await runRedisBenchmark(binary, [...connArgs, ...command(String(requests), String(concurrency))]) });
          }
          ceiling = combineRuns(runs);
          ctx.log(`    ${CEILING.padEnd(34)} ${formatRate(ceiling.opsPerSec)} SET/s`);
        }
        byConcurrency.set(concurrency, { results, ceiling });
        const pairCeiling = ceiling ? ceiling.opsPerSec / 2 : Number.NaN;
        const rows = [IDEM, REDLOCK, SEMAPHORE].map((label) => {
          const m = results.get(label)!;
          return { label, m, note: ceiling ? `${((m.opsPerSec / pairCeiling) * 100).toFixed(0)}% of ${formatRate(pairCeiling)} pairs/s` : "" };
        });
        if (ceiling) rows.push({ label: CEILING, m: ceiling, note: "1 command per op (a pair is 2)" });
        groups.push({ cell: [String(concurrency)], rows });
      }
      const leftBehind = await countKeys(ctx.redisUrl, ourPatterns);

      const ratios: RatioColumn[] = [
        { header: "Idem speed (Idem ops/s ÷ this)", reference: IDEM, metric: "opsPerSec", order: "referenceOverThis" },
        { header: "p50 (this ÷ Idem)", reference: IDEM, metric: "p50Ms", order: "thisOverReference" },
        { header: "p99 (this ÷ Idem)", reference: IDEM, metric: "p99Ms", order: "thisOverReference" },
      ];
      const table = comparisonTable({
        title: "Acquire + release pairs per second (ratios above 1.00x: Idem is faster)",
        cellColumns: ["clients"],
        groups,
        ratios,
        noteHeader: "vs ceiling (SET/s ÷ 2)",
      });

      const findings: string[] = [];
      const speed = ratios[0]!;
      for (const [concurrency, { results, ceiling }] of byConcurrency) {
        const idem = results.get(IDEM)!;
        for (const peer of [REDLOCK, SEMAPHORE]) {
          const other = results.get(peer)!;
          const r = ratioOf(speed, other, idem);
          if (r < 0.95) findings.push(`Behind ${peer} at ${concurrency} client(s): Idem does ${(r * 100).toFixed(0)}% of its pairs per second${noiseCaveat(r, idem, other)}.`);
        }
        if (ceiling) {
          const share = idem.opsPerSec / (ceiling.opsPerSec / 2);
          findings.push(
            `${concurrency} client(s): Idem reaches ${(share * 100).toFixed(0)}% of the ceiling ` +
              `(${formatRate(ceiling.opsPerSec)} SET NX PX/s from redis-benchmark, so ${formatRate(ceiling.opsPerSec / 2)} two-command pairs/s)` +
              (share > 1
                ? ": above it, because the clients' commands share one ioredis connection and reach Redis several per read " +
                  "(implicit pipelining), while `-P 1` makes redis-benchmark wait for each reply on each of its connections."
                : "."),
          );
        }
      }
      if (!findings.some((f) => f.startsWith("Behind"))) findings.unshift("Idem is within 5% of, or ahead of, redlock and redis-semaphore at every concurrency.");
      findings.push(
        "Where the gap to the ceiling goes: redis-benchmark is a C client with one connection per client and no work between requests; the " +
          "Node libraries share one ioredis connection, and a single Node process (on the same cores as Redis) builds every command, " +
          "generates a random token and parses every reply. Idem's release does a little more inside Redis than the others' " +
          "(TYPE, then GET, then DEL, and reports what it found when it does not own the key), which is what lets the console tell " +
          "\"already gone\" from \"taken by someone else\".",
        leftBehind === 0
          ? "Every lock was released: no key of the three libraries was left under the run's prefix."
          : `${leftBehind} lock key(s) were left under the run's prefix after the run (a release that did not delete).`,
      );
      if (!binary) findings.push("redis-benchmark was not found (PATH, next to IDEM_REDIS_SERVER_BIN, /usr/bin): no ceiling measured.");
      if (errors.length) findings.push(`redlock emitted ${errors.length} error event(s); first: ${errors[0]}`);

      return {
        method: [
          `**${IDEM}**: \`acquireLock(redis, key, token, ${TTL_MS})\` (\`SET key token PX ${TTL_MS} NX\`) then \`releaseLock(redis, key, token)\` ` +
            "(compare-and-delete Lua script by EVALSHA) from `lib/locks/locks.ts`; the token is a random UUID. 2 round trips.",
          `**${REDLOCK}**: redlock ${redlockVersion} with one Redis instance and \`retryCount: 0\`: \`redlock.acquire([key], ${TTL_MS})\` ` +
            "(EVALSHA of its acquire script: EXISTS, then SET PX) then `lock.release()` (EVALSHA: GET, compare, DEL). 2 round trips.",
          `**${SEMAPHORE}**: \`new Mutex(redis, key, { lockTimeout: ${TTL_MS}, refreshInterval: 0, acquireAttemptsLimit: 1 })\`, ` +
            "`tryAcquire()` (`SET NX PX`) then `release()` (EVALSHA compare-and-delete). 2 round trips. It prefixes keys with `mutex:`.",
          `**${CEILING}**: ${commandShown ? `\`${commandShown}\`` : "not run"}: one \`SET NX PX\` per request on random fresh keys, ` +
            "`-P 1` (no pipelining), as many connections as clients. A lock pair needs two commands, so half its rate is the ceiling for a pair.",
          "Every pair uses a fresh key (never contended), all under this run's own key prefix, deleted afterwards (no FLUSHDB). The three " +
            "libraries get the same client: one ioredis connection from `lib/redis.ts`'s `createRedis`, opened anew each round and shared " +
            `by the concurrent loops. Per cell: ${ctx.rounds} interleaved round(s), ${thousands(warmupOps)} unmeasured warm-up pairs per round, ` +
            `${thousands(ops)} measured pairs per library; redis-benchmark: ${thousands(benchmarkRequests)} requests split over the rounds ` +
            "(its p50/p99 are the median round's, from its own histogram).",
        ],
        tables: [table],
        findings,
      };
    } finally {
      await ctx.resources.deleteRedisKeys();
    }
  },
};
