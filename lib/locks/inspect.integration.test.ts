import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startRedisServer } from "@/lib/embedded/redis";
import { createRedis } from "@/lib/redis";
import { useTestRedis } from "@/tests/helpers/db";
import { getLock } from "./inspect";
import { acquireLock, lockKeyFor, newLockToken } from "./locks";

const testRedis = useTestRedis();

describe("getLock", () => {
  it("reads a lock's value and TTL, says when it has none, and returns null when it is gone", async () => {
    const { redis, prefix } = testRedis();
    const key = lockKeyFor("charge", "invoice-1", prefix);
    const token = newLockToken();
    expect(await getLock(redis, key)).toBeNull();
    await acquireLock(redis, key, token, 30_000);
    const lock = await getLock(redis, key);
    expect(lock).toMatchObject({ key, value: token, type: "string" });
    expect(lock!.pttlMs).toBeGreaterThan(0);
    expect(lock!.pttlMs).toBeLessThanOrEqual(30_000);

    await redis.persist(key);
    expect(await getLock(redis, key)).toMatchObject({ value: token, pttlMs: null });

    const hashKey = `${prefix}other-lib`;
    await redis.hset(hashKey, "owner", "x");
    expect(await getLock(redis, hashKey)).toMatchObject({ value: "<hash>", type: "hash", pttlMs: null });
  });

  it("fails within its timeout when Redis does not answer", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "idem-inspect-"));
    const server = await startRedisServer({ dir });
    const redis = createRedis(server.url);
    try {
      await redis.ping();
      server.pause();
      await expect(getLock(redis, "idem:lock:t:k", 300)).rejects.toThrow(/did not answer within 300 ms/);
    } finally {
      redis.disconnect();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
