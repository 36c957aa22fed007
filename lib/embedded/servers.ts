import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
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
export async function resolveServers(options: (
  | { dataDir: string; scratchPrefix?: never }
  /**
   * A test run's: when an embedded server is needed, its data go to a new directory under the
   * system temporary directory named with this prefix, which stop() removes (runs do not pile up in /tmp).
   */
  | { scratchPrefix: string; dataDir?: never }
) & {
  databaseUrl?: string;
  redisUrl?: string;
  /** false: the caller needs Postgres only (migrations). */
  withRedis?: boolean;
  redisBinary?: string;
  pathVariable?: string;
  /** Take over servers a killed launcher left running on this data directory (and stop them at the end). */
  adopt?: boolean;
  log?: (message: string) => void;
}): Promise<Servers> {
  const log = options.log ?? (() => undefined);
  const embeddedRedis = !options.redisUrl && options.withRedis !== false;
  const scratch = options.scratchPrefix !== undefined && (!options.databaseUrl || embeddedRedis)
    ? await mkdtemp(path.join(tmpdir(), options.scratchPrefix))
    : null;
  const dataDir = scratch ?? options.dataDir ?? "";
  const removeScratch = async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  };
  let pg: EmbeddedPostgresHandle | null = null;
  let redis: RedisServerHandle | null = null;
  try {
    pg = options.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: path.join(dataDir, "pg"), adopt: options.adopt });
    if (pg) log(`embedded Postgres on 127.0.0.1:${pg.port} (data in ${pg.dataDir})`);
    redis = embeddedRedis
      ? await startRedisServer({
          dir: path.join(dataDir, "redis"),
          binary: options.redisBinary,
          pathVariable: options.pathVariable,
          adopt: options.adopt,
        })
      : null;
  } catch (error) {
    await pg?.stop();
    await removeScratch();
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
      await removeScratch();
    },
  };
}
