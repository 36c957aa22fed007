import { describe, expect, it } from "vitest";
import { useTestDatabase, useTestRedis } from "@/tests/helpers/db";
import { lockWorld } from "@/tests/helpers/locks";
import { inspectLocks, listLocks, taskP99s } from "./inventory";

const db = useTestDatabase();
const testRedis = useTestRedis();

/**
 * The console's postgres.js pool is new after every restart, and the locks page may be the first thing
 * an operator opens: the inventory's queries must work as a client's very first query.
 */
describe("lock inventory on a client that has run no query yet", () => {
  it("lists locks mapped by task + key and by run id", async () => {
    const { sql, connect } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    const held = await w.claimWithLock("send_email", "fresh-1");
    await redis.set(w.key(`task:${held.runId}`), "worker-7", "EX", 600);

    const fresh = connect({ max: 1 });
    const inventory = await listLocks(redis, fresh, w.config);
    expect(inventory.locks.find((l) => l.key === held.lockKey)?.classification.class).toBe("held");
    expect(inventory.locks.find((l) => l.key === w.key(`task:${held.runId}`))?.run?.id).toBe(held.runId);
  });

  it("inspects single keys", async () => {
    const { sql, connect } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    const held = await w.claimWithLock("send_email", "fresh-2");
    const found = await inspectLocks(redis, connect({ max: 1 }), w.config, [held.lockKey]);
    expect(found.get(held.lockKey)?.run?.id).toBe(held.runId);
  });

  it("computes task p99s", async () => {
    const { connect } = db();
    expect(await taskP99s(connect({ max: 1 }), ["send_email"])).toEqual(new Map([["send_email", null]]));
  });
});
