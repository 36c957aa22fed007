import { randomBytes } from "node:crypto";
import type postgres from "postgres";
import { createSql } from "@/lib/db";
import { createRedis } from "@/lib/redis";

export interface BenchDatabase {
  name: string;
  url: string;
  /** A pool of at most `max` connections to this database (ended by cleanup if the caller does not). */
  connect(max: number, applicationName?: string): postgres.Sql;
  drop(): Promise<void>;
}

export function databaseUrlFor(baseUrl: string, database: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Everything a benchmark creates on the shared servers, so that it can all be removed afterwards,
 * including after a failure or Ctrl-C: one fresh database per contender (dropped WITH (FORCE)) and
 * Redis keys under a unique prefix (deleted by SCAN + DEL, never FLUSHDB: the Redis may be shared).
 */
export class BenchResources {
  readonly runId = randomBytes(4).toString("hex");
  private readonly databases = new Set<string>();
  private readonly redisPatterns = new Set<string>();
  private readonly pools = new Set<postgres.Sql>();
  private closed = false;

  constructor(
    private readonly baseUrl: string,
    private readonly redisUrl: string,
  ) {}

  private admin(): postgres.Sql {
    return createSql(this.baseUrl, { max: 1, applicationName: "idem-bench-admin" });
  }

  /** CREATE DATABASE idem_bench_<label>_<run>_<random>; empty (suites install their own schema). */
  async createDatabase(label: string): Promise<BenchDatabase> {
    const safe = label.toLowerCase().replace(/[^a-z0-9_]+/g, "_").slice(0, 30);
    const name = `idem_bench_${safe}_${this.runId}_${randomBytes(2).toString("hex")}`;
    if (this.closed) throw new Error("benchmark interrupted");
    const admin = this.admin();
    try {
      await admin.unsafe(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end({ timeout: 5 });
    }
    this.databases.add(name);
    // Created while shutdown() was already dropping everything: drop this one too.
    if (this.closed) {
      await this.dropDatabase(name);
      throw new Error("benchmark interrupted");
    }
    const url = databaseUrlFor(this.baseUrl, name);
    return {
      name,
      url,
      connect: (max, applicationName = "idem-bench") => {
        const pool = createSql(url, { max, applicationName });
        // Ending a pool twice is harmless, so cleanup simply ends every pool handed out.
        this.pools.add(pool);
        return pool;
      },
      drop: () => this.dropDatabase(name),
    };
  }

  async dropDatabase(name: string): Promise<void> {
    const admin = this.admin();
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      this.databases.delete(name);
    } finally {
      await admin.end({ timeout: 5 });
    }
  }

  /**
   * A key prefix no other run or test shares. Extra patterns cover libraries that put their own
   * prefix in front of ours (redis-semaphore writes `mutex:<key>`).
   */
  redisPrefix(label: string, extraPatterns: (prefix: string) => string[] = () => []): string {
    const prefix = `idem-bench:${this.runId}:${label}:`;
    this.redisPatterns.add(`${prefix}*`);
    for (const pattern of extraPatterns(prefix)) this.redisPatterns.add(pattern);
    return prefix;
  }

  /** Deletes the keys under the patterns registered so far; returns how many it deleted. */
  async deleteRedisKeys(): Promise<number> {
    if (!this.redisPatterns.size) return 0;
    const redis = createRedis(this.redisUrl, { name: "idem-bench-cleanup" });
    let deleted = 0;
    try {
      for (const pattern of this.redisPatterns) {
        const stream = redis.scanStream({ match: pattern, count: 1000 });
        for await (const keys of stream as AsyncIterable<string[]>) {
          if (keys.length) deleted += await redis.unlink(...keys);
        }
      }
    } finally {
      await redis.quit().catch(() => redis.disconnect());
    }
    return deleted;
  }

  /** Cleans up for good: databases a still-running suite creates from now on are dropped at once. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await this.cleanup();
  }

  /** Drops every database and deletes every key this run created. Safe to call more than once. */
  async cleanup(): Promise<void> {
    await Promise.allSettled([...this.pools].map((pool) => pool.end({ timeout: 2 })));
    this.pools.clear();
    const problems: string[] = [];
    for (const name of [...this.databases]) {
      try {
        await this.dropDatabase(name);
      } catch (error) {
        problems.push(`database ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    try {
      await this.deleteRedisKeys();
      this.redisPatterns.clear();
    } catch (error) {
      problems.push(`Redis keys: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (problems.length) throw new Error(`cleanup incomplete:\n  ${problems.join("\n  ")}`);
  }
}
