import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startRedisServer } from "@/lib/embedded/redis";
import { createRedis } from "@/lib/redis";
import { useTestRedis } from "@/tests/helpers/db";
import { RELEASE_LUA } from "./commands";
import { acquireLock, extendLock, lockKeyFor, newLockToken, parseLockKey, releaseLock } from "./locks";

const testRedis = useTestRedis();

describe("Redis locks", () => {
  it("SET NX PX: the second acquirer is refused while the first holds the lock", async () => {
    const { redis, prefix } = testRedis();
    const key = `${prefix}order:42`;
    const mine = newLockToken();
    expect(await acquireLock(redis, key, mine, 10_000)).toBe(true);
    expect(await acquireLock(redis, key, newLockToken(), 10_000)).toBe(false);
    expect(await redis.get(key)).toBe(mine);
    const pttl = await redis.pttl(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(10_000);
  });

  it("release with a wrong token deletes nothing and reports who holds it", async () => {
    const { redis, prefix } = testRedis();
    const key = `${prefix}order:43`;
    const mine = newLockToken();
    await acquireLock(redis, key, mine, 10_000);
    const result = await releaseLock(redis, key, "not-my-token");
    expect(result.released).toBe(false);
    expect(result).toMatchObject({ current: { value: mine } });
    expect(await redis.get(key)).toBe(mine);
    expect(await releaseLock(redis, key, mine)).toEqual({ released: true });
    expect(await redis.exists(key)).toBe(0);
    expect(await releaseLock(redis, key, mine)).toEqual({ released: false, current: null });
  });

  it("release never deletes a non-string key that another library uses as a lock", async () => {
    const { redis, prefix } = testRedis();
    const key = `${prefix}redisson`;
    await redis.hset(key, "holder", "1");
    expect(await releaseLock(redis, key, "1")).toMatchObject({ released: false, current: { value: "<hash>" } });
    expect(await redis.exists(key)).toBe(1);
  });

  it("extend only works for the holder", async () => {
    const { redis, prefix } = testRedis();
    const key = `${prefix}extend`;
    const mine = newLockToken();
    await acquireLock(redis, key, mine, 1_000);
    expect(await extendLock(redis, key, "other", 60_000)).toBe(false);
    expect(await redis.pttl(key)).toBeLessThanOrEqual(1_000);
    expect(await extendLock(redis, key, mine, 60_000)).toBe(true);
    expect(await redis.pttl(key)).toBeGreaterThan(1_000);
  });

  it("scripts run by EVALSHA once loaded on the connection and survive a SCRIPT FLUSH (resent as EVAL once)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "idem-redis-"));
    const server = await startRedisServer({ dir });
    const redis = createRedis(server.url);
    try {
      const sha = createHash("sha1").update(RELEASE_LUA).digest("hex");
      await acquireLock(redis, "k", "t", 10_000);
      await redis.script("FLUSH");
      expect(await releaseLock(redis, "k", "t")).toEqual({ released: true });
      expect(await redis.script("EXISTS", sha)).toEqual([1]);
      const before = await redis.info("commandstats");
      await acquireLock(redis, "k", "t", 10_000);
      await releaseLock(redis, "k", "t");
      const after = await redis.info("commandstats");
      const calls = (info: string, command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      expect(calls(after, "evalsha") - calls(before, "evalsha")).toBe(1);
      expect(calls(after, "eval")).toBe(calls(before, "eval"));
    } finally {
      redis.disconnect();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("concurrent release of the same lock by two callers with the right token deletes once", async () => {
    const { redis, prefix } = testRedis();
    const key = `${prefix}race`;
    const token = newLockToken();
    await acquireLock(redis, key, token, 10_000);
    const results = await Promise.all([releaseLock(redis, key, token), releaseLock(redis, key, token)]);
    expect(results.filter((r) => r.released)).toHaveLength(1);
  });
});

describe("lock keys", () => {
  it("round-trips task and key, including keys with colons", () => {
    const lockKey = lockKeyFor("send_email", "user:7:welcome");
    expect(lockKey).toBe("idem:lock:send_email:user:7:welcome");
    expect(parseLockKey(lockKey)).toEqual({ task: "send_email", key: "user:7:welcome" });
    expect(parseLockKey("lock:order:42")).toBeNull();
    expect(parseLockKey("idem:lock:nokey")).toBeNull();
  });
});
