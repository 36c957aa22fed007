import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { describe, expect, inject, it } from "vitest";
import { createLedger } from "@/lib/ledger/ledger";
import { migrateDatabase } from "@/lib/migrate";
import { RedisServerNotFoundError } from "./redis";
import { resolveServers } from "./servers";

// These start their own embedded servers in temporary directories; the machine's services are only
// passed through as URLs, never started, stopped or written to here.

describe("the embedded default", () => {
  it("with both URLs set, uses those servers and starts nothing", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "idem-servers-urls-"));
    try {
      const servers = await resolveServers({ dataDir, databaseUrl: inject("databaseUrl"), redisUrl: inject("redisUrl") });
      expect(servers).toMatchObject({ databaseUrl: inject("databaseUrl"), redisUrl: inject("redisUrl"), postgres: null, redis: null });
      await servers.stop();
      expect(await readdir(dataDir)).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("with scratchPrefix, keeps the data in a new temporary directory that stop() removes (none when nothing is embedded)", async () => {
    const prefix = `idem-servers-scratch-${process.pid}-`;
    const scratchDirs = async () => (await readdir(tmpdir())).filter((name) => name.startsWith(prefix));
    const configured = await resolveServers({ scratchPrefix: prefix, databaseUrl: inject("databaseUrl"), redisUrl: inject("redisUrl") });
    expect(await scratchDirs()).toEqual([]);
    await configured.stop();

    const servers = await resolveServers({ scratchPrefix: prefix, databaseUrl: inject("databaseUrl") });
    try {
      expect(servers.redis).not.toBeNull();
      const [scratch] = await scratchDirs();
      expect(scratch).toBeDefined();
      expect(await readdir(path.join(tmpdir(), scratch!))).toEqual(["redis"]);
    } finally {
      await servers.stop();
    }
    expect(await scratchDirs()).toEqual([]);
  });

  it("without REDIS_URL and without a redis-server binary, says how to get one", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "idem-servers-noredis-"));
    try {
      const error = await resolveServers({ dataDir, databaseUrl: inject("databaseUrl"), redisBinary: path.join(dataDir, "no-such-redis-server") }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RedisServerNotFoundError);
      const message = (error as Error).message;
      expect(message).toContain("No redis-server binary was found, and REDIS_URL is not set.");
      expect(message).toContain("apt-get install redis-server");
      expect(message).toContain("IDEM_REDIS_SERVER_BIN");
      expect(message).toContain("set REDIS_URL");
      expect(message).toContain(path.join(dataDir, "no-such-redis-server"));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("keeps the ledger's history in its data directory across a restart", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "idem-servers-restart-"));
    try {
      const first = await resolveServers({ dataDir, withRedis: false });
      expect(first.postgres?.dataDir).toBe(path.join(dataDir, "pg"));
      await migrateDatabase(first.databaseUrl);
      let sql = postgres(first.databaseUrl, { max: 1, onnotice: () => undefined });
      try {
        await createLedger({ sql, workerId: "before-restart" }).runOnce({ task: "t", key: "kept", payload: { n: 1 } }, () => "from the first life");
      } finally {
        await sql.end({ timeout: 5 });
      }
      await first.stop();
      expect(existsSync(path.join(dataDir, "pg", "PG_VERSION"))).toBe(true);

      const second = await resolveServers({ dataDir, withRedis: false });
      try {
        await migrateDatabase(second.databaseUrl);
        sql = postgres(second.databaseUrl, { max: 1, onnotice: () => undefined });
        let ran = false;
        const again = await createLedger({ sql, workerId: "after-restart" }).runOnce({ task: "t", key: "kept", payload: { n: 1 } }, () => {
          ran = true;
        });
        expect(ran).toBe(false);
        expect(again).toMatchObject({ outcome: "replayed", status: "succeeded", result: "from the first life" });
        const [run] = await sql`SELECT lease_owner, status FROM idem.task_runs WHERE idempotency_key = 'kept'`;
        expect(run).toEqual({ lease_owner: "before-restart", status: "succeeded" });
        await sql.end({ timeout: 5 });
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
