import { Cluster, Redis } from "ioredis";
import { env } from "./env";
import { AppError } from "./errors";
import type { RedisClient } from "./locks/commands";

/**
 * The process's one ioredis client. Commands wait for a connection only briefly (one reconnect attempt,
 * two seconds at most), so a dead Redis shows up as an error, and a banner in the console, never as a hang.
 */
const cache = globalThis as unknown as { __idemRedis?: RedisClient };

export function createRedis(url: string, options: { name?: string } = {}): Redis {
  const client = new Redis(url, {
    connectionName: options.name ?? "idem",
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Connection errors surface on the commands that fail; without a listener ioredis would also log each one.
  client.on("error", () => undefined);
  return client;
}

/** `redis://host:port?cluster=1`: the URL names one seed node of a Redis Cluster. */
export function isClusterUrl(url: string): boolean {
  const value = new URL(url).searchParams.get("cluster");
  return value === "1" || value === "true";
}

/**
 * A Redis Cluster client seeded from one node's URL (credentials and TLS from the URL); ioredis finds
 * the other nodes and routes each key to its slot's master. Same short timeouts as createRedis.
 */
export function createRedisCluster(url: string, options: { name?: string } = {}): Cluster {
  const parsed = new URL(url);
  const client = new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
    // Never give up: a console outlives a cluster restart. Callers bound their own waits.
    clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
    slotsRefreshTimeout: 2000,
    redisOptions: {
      connectionName: options.name ?? "idem",
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      tls: parsed.protocol === "rediss:" ? {} : undefined,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 2000,
    },
  });
  client.on("error", () => undefined);
  return client;
}

/** A single-node client, or a Cluster client when the URL says `?cluster=1`. */
export function createRedisClient(url: string, options: { name?: string } = {}): RedisClient {
  if (isClusterUrl(url)) return createRedisCluster(url, options);
  const parsed = new URL(url);
  parsed.searchParams.delete("cluster");
  return createRedis(parsed.toString(), options);
}

export function getRedis(): RedisClient {
  if (cache.__idemRedis) return cache.__idemRedis;
  if (!env.REDIS_URL) {
    throw new AppError("UNAVAILABLE", "REDIS_URL is not set. Start the console with `npm run demo` or `npm start`, or set REDIS_URL.");
  }
  cache.__idemRedis = createRedisClient(env.REDIS_URL, { name: "idem-console" });
  return cache.__idemRedis;
}
