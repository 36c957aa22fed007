import { rm } from "node:fs/promises";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "./postgres";
import { startRedisServer, type RedisServerHandle } from "./redis";

export interface Servers {
  databaseUrl: string;
  redisUrl: string;
  postgres: EmbeddedPostgresHandle | null;
  redis: RedisServerHandle | null;
  stop(): Promise<void>;
}

/**
 * The configured servers when DATABASE_URL / REDIS_URL are set; otherwise the embedded default: real
 * Postgres from npm with its data under `<dataDir>/pg` (a restart keeps the history) and a
 * redis-server child on a free port.
 */
export async function resolveServers(options: {
  dataDir: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** false: the caller needs Postgres only (migrations). */
  withRedis?: boolean;
  redisBinary?: string;
  pathVariable?: string;
  /** Take over servers a killed launcher left running on this data directory (and stop them at the end). */
  adopt?: boolean;
  /** The data directory is scratch (a test run's): stop() removes it, so runs do not pile up in /tmp. */
  temporary?: boolean;
  log?: (message: string) => void;
}): Promise<Servers> {
  const log = options.log ?? (() => undefined);
  const pg = options.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: path.join(options.dataDir, "pg"), adopt: options.adopt });
  if (pg) log(`embedded Postgres on 127.0.0.1:${pg.port} (data in ${pg.dataDir})`);
  let redis: RedisServerHandle | null = null;
  try {
    redis = options.redisUrl || options.withRedis === false
      ? null
      : await startRedisServer({
          dir: path.join(options.dataDir, "redis"),
          binary: options.redisBinary,
          pathVariable: options.pathVariable,
          adopt: options.adopt,
        });
  } catch (error) {
    await pg?.stop();
    throw error;
  }
  if (redis) log(`redis-server child on 127.0.0.1:${redis.port}`);
  return {
    databaseUrl: options.databaseUrl ?? pg!.url,
    redisUrl: options.redisUrl ?? redis?.url ?? "",
    postgres: pg,
    redis,
    async stop() {
      await Promise.allSettled([redis?.stop(), pg?.stop()]);
      if (options.temporary) await rm(options.dataDir, { recursive: true, force: true });
    },
  };
}
