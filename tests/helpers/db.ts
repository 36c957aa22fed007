import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterEach, beforeEach, inject } from "vitest";
import { createRedis } from "@/lib/redis";
import type { Redis } from "ioredis";
import { cloneDatabase, databaseUrlFor, dropDatabase } from "./template";

export interface TestDatabase {
  url: string;
  /** A pool for the test's own queries. */
  sql: postgres.Sql;
  /** Another pool, e.g. one per simulated worker. Closed after the test. */
  connect(options?: { max?: number }): postgres.Sql;
}

/** Each test gets its own database, cloned from the migrated template, dropped afterwards. */
export function useTestDatabase(): () => TestDatabase {
  let current: TestDatabase | null = null;
  let name = "";
  let pools: postgres.Sql[] = [];
  const baseUrl = inject("databaseUrl");

  beforeEach(async () => {
    name = await cloneDatabase(baseUrl, inject("templateDatabase"));
    const url = databaseUrlFor(baseUrl, name);
    const connect = (options: { max?: number } = {}) => {
      const pool = postgres(url, { max: options.max ?? 4, onnotice: () => undefined });
      pools.push(pool);
      return pool;
    };
    current = { url, sql: connect(), connect };
  });

  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.end({ timeout: 5 })));
    pools = [];
    current = null;
    await dropDatabase(baseUrl, name);
  });

  return () => {
    if (!current) throw new Error("useTestDatabase(): only available inside a test");
    return current;
  };
}

export interface TestRedis {
  redis: Redis;
  /** Lock keys of this test start with this prefix, so tests sharing a Redis never see each other's keys. */
  prefix: string;
}

export function useTestRedis(): () => TestRedis {
  let current: TestRedis | null = null;
  const clients: Redis[] = [];
  beforeEach(() => {
    const redis = createRedis(inject("redisUrl"), { name: "idem-test" });
    clients.push(redis);
    current = { redis, prefix: `test:${randomBytes(6).toString("hex")}:` };
  });
  afterEach(async () => {
    if (current) {
      const stream = current.redis.scanStream({ match: `${current.prefix}*`, count: 1000 });
      try {
        for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await current.redis.del(...keys);
      } catch {
        // a test that stopped Redis leaves nothing to clean
      }
    }
    await Promise.all(clients.splice(0).map((client) => client.quit().catch(() => client.disconnect())));
    current = null;
  });
  return () => {
    if (!current) throw new Error("useTestRedis(): only available inside a test");
    return current;
  };
}
