import { Redis } from "ioredis";
import { env } from "./env";
import { AppError } from "./errors";

/**
 * The process's one ioredis client. Commands wait for a connection only briefly (one reconnect attempt,
 * two seconds at most), so a dead Redis shows up as an error, and a banner in the console, never as a hang.
 */
const cache = globalThis as unknown as { __idemRedis?: Redis };

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

export function getRedis(): Redis {
  if (cache.__idemRedis) return cache.__idemRedis;
  if (!env.REDIS_URL) {
    throw new AppError("UNAVAILABLE", "REDIS_URL is not set. Start the console with `npm run demo` or `npm start`, or set REDIS_URL.");
  }
  cache.__idemRedis = createRedis(env.REDIS_URL, { name: "idem-console" });
  return cache.__idemRedis;
}
