import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useTestDatabase, useTestRedis } from "@/tests/helpers/db";
import { lockWorld } from "@/tests/helpers/locks";
import { buildLockConfig } from "./config";
import { inspectLocks, listLocks, taskP99s, walkLocks, type LockEntry } from "./inventory";

const db = useTestDatabase();
const testRedis = useTestRedis();

/** 25 finished charge_invoice runs that took ten minutes each (written directly: a test cannot wait that long), so the task's p99 is 10 minutes. */
async function tenMinuteHistory(w: ReturnType<typeof lockWorld>) {
  for (let i = 0; i < 25; i++) {
    const run = await w.ledger.claimRun({ task: "charge_invoice", key: `hist-${i}`, payload: { i } });
    if (run.outcome !== "claimed") throw new Error("claim");
    await w.ledger.completeRun(run.lease, null);
  }
  await w.sql`UPDATE idem.task_runs SET started_at = finished_at - interval '10 minutes' WHERE task_name = 'charge_invoice'`;
}

const byKey = (locks: LockEntry[], key: string) => {
  const found = locks.find((l) => l.key === key);
  if (!found) throw new Error(`${key} not in the inventory: ${locks.map((l) => l.key).join(", ")}`);
  return found;
};

describe("lock inventory: classification against real Redis and Postgres", () => {
  it("finds and classifies one lock of each class", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);

    const held = await w.claimWithLock("send_email", "held-1");
    const finished = await w.claimWithLock("send_email", "done-1");
    await w.ledger.completeRun(finished.lease, { ok: true });
    const expired = await w.claimWithLock("transcode_file", "crashed-1", { ttlMs: 3_600_000 });
    await w.expireLease(expired.runId);
    const noTtl = await w.claimWithLock("webhook_deliver", "legacy-1", { ttlMs: null });
    await w.ledger.failRun(noTtl.lease, new Error("502"), { retryable: false });
    const mismatch = await w.claimWithLock("send_email", "mismatch-1");
    await redis.set(mismatch.lockKey, randomUUID(), "PX", 60_000);
    const orphan = `${w.sdkPrefix}send_email:no-such-run`;
    await redis.set(orphan, randomUUID(), "PX", 60_000);

    const inventory = await listLocks(redis, sql, w.config);
    expect(inventory.capped).toBe(false);
    expect(byKey(inventory.locks, held.lockKey).classification).toEqual({ class: "held", flags: [], warnings: [] });
    expect(byKey(inventory.locks, held.lockKey).run).toMatchObject({ id: held.runId, status: "running", leaseLive: true, leaseToken: held.token });
    expect(byKey(inventory.locks, finished.lockKey).classification).toMatchObject({ class: "stale", flags: [] });
    expect(byKey(inventory.locks, expired.lockKey).classification).toMatchObject({ class: "stale", flags: [] });
    expect(byKey(inventory.locks, expired.lockKey).run).toMatchObject({ status: "running", leaseLive: false });
    expect(byKey(inventory.locks, noTtl.lockKey)).toMatchObject({ pttlMs: -1, classification: { class: "no_ttl", flags: ["stale"] } });
    expect(byKey(inventory.locks, mismatch.lockKey).classification).toMatchObject({ class: "token_mismatch" });
    expect(byKey(inventory.locks, orphan)).toMatchObject({ run: null, classification: { class: "orphaned" } });
    expect(inventory.counts).toEqual({ held: 1, stale: 2, no_ttl: 1, token_mismatch: 1, orphaned: 1 });
    // Needing attention first, held last.
    expect(inventory.locks.map((l) => l.classification.class)).toEqual(["no_ttl", "stale", "stale", "token_mismatch", "orphaned", "held"]);
  });

  it("reads values, TTLs and idle times, and maps foreign locks through templates", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    const charge = await w.claimWithLock("charge_invoice", "42");
    await w.ledger.completeRun(charge.lease, null);
    const byId = await w.claimWithLock("daily_report", "2024-06-01");

    await redis.set(w.key("lock:order:42"), "processing", "EX", 300, "NX");
    await redis.setnx(w.key("task:7f9c2d1e-5b3a-4c8e-9d0f-1a2b3c4d5e6f"), "1");
    await redis.set(w.key(`task:${byId.runId}`), "worker-7", "EX", 600);
    await redis.set(w.key("lock:report:daily"), "1", "EX", 6 * 3600);
    await redis.hset(w.key("lock:redisson"), "8d3c:1", "1");

    const { locks } = await listLocks(redis, sql, w.config);
    const order = byKey(locks, w.key("lock:order:42"));
    expect(order).toMatchObject({ value: "processing", type: "string", mapping: { source: "template", task: "charge_invoice", key: "42" } });
    expect(order.run).toMatchObject({ id: charge.runId, status: "succeeded" });
    expect(order.pttlMs).toBeGreaterThan(290_000);
    expect(order.idleSeconds).toBeGreaterThanOrEqual(0);
    expect(order.classification.class).toBe("stale");
    expect(order.classification.warnings.map((w) => w.code)).toEqual(["shared_value"]);

    // A foreign value is never compared with the lease token: a running run with a live lease holds it.
    expect(byKey(locks, w.key(`task:${byId.runId}`))).toMatchObject({ run: { id: byId.runId }, classification: { class: "held" } });

    const uuidTask = byKey(locks, w.key("task:7f9c2d1e-5b3a-4c8e-9d0f-1a2b3c4d5e6f"));
    expect(uuidTask).toMatchObject({ value: "1", pttlMs: -1, mapping: null, classification: { class: "no_ttl", flags: ["orphaned"] } });
    expect(uuidTask.classification.warnings.map((w) => w.code)).toEqual(["shared_value", "unmapped"]);

    expect(byKey(locks, w.key("lock:report:daily")).classification).toMatchObject({ class: "orphaned" });
    const hash = byKey(locks, w.key("lock:redisson"));
    expect(hash).toMatchObject({ type: "hash", value: null, preview: "<hash>" });
    expect(hash.notReleasable).toMatch(/not a string/);
  });

  it("gives no TTL < p99 warning where idle time counts the console's own reads (Redis before 7.2)", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    await tenMinuteHistory(w);
    // A lock given 15 minutes (above the p99 of 10), with 9 minutes left, that an earlier page view read
    // a moment ago: before 7.2 that read reset its idle time, so PTTL + idle says about 9 minutes.
    const key = w.key("lock:order:8");
    await redis.set(key, "f0e1d2c3-b4a5-4968-8776-655443322111", "PX", 9 * 60_000);
    await redis.get(key);
    const noTouch = await redis.call("CLIENT", "NO-TOUCH", "OFF").then(
      () => true,
      () => false,
    );

    const inventory = await listLocks(redis, sql, w.config);
    expect(inventory.idleCountsConsoleReads).toBe(!noTouch);
    if (!noTouch) expect(byKey(inventory.locks, key).classification.warnings).toEqual([]);
    const inspected = (await inspectLocks(redis, sql, w.config, [key])).get(key);
    if (!noTouch) expect(inspected?.classification.warnings).toEqual([]);
  });

  it("warns when a foreign lock's TTL is shorter than its task's p99 duration", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    await tenMinuteHistory(w);
    await redis.set(w.key("lock:order:7"), "f0e1d2c3-b4a5-4968-8776-655443322110", "EX", 300);

    const { locks, idleCountsConsoleReads } = await listLocks(redis, sql, w.config);
    const order = byKey(locks, w.key("lock:order:7"));
    expect(order.taskP99Ms).toBeCloseTo(600_000, -3);
    // Redis before 7.2 (no CLIENT NO-TOUCH): idle times count the console's reads, so no TTL estimate.
    expect(order.classification.warnings).toEqual(idleCountsConsoleReads ? [] : [expect.objectContaining({ code: "ttl_below_p99" })]);
    expect((await taskP99s(sql, ["charge_invoice", "never_ran"])).get("never_ran")).toBeNull();
  });

  it("shows binary values escaped and releasable by their bytes, a leading BOM kept, over-long values not releasable", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    await redis.set(w.key("lock:binary"), Buffer.from([0xff, 0xfe, 0x41]));
    await redis.set(w.key("lock:long"), "x".repeat(5000));
    await redis.set(w.key("lock:html"), "<script>alert(1)</script>-unique-token-value");
    await redis.set(w.key("lock:bom"), "\uFEFFworker-1");
    const { locks } = await listLocks(redis, sql, w.config);
    expect(byKey(locks, w.key("lock:binary"))).toMatchObject({ value: null, preview: "\\xff\\xfeA", notReleasable: null });
    expect(byKey(locks, w.key("lock:binary")).raw).toEqual(Buffer.from([0xff, 0xfe, 0x41]));
    // TextDecoder drops a leading BOM unless told not to: the value shown must be the value held.
    expect(byKey(locks, w.key("lock:bom"))).toMatchObject({ value: "\uFEFFworker-1", preview: "\uFEFFworker-1" });
    expect(byKey(locks, w.key("lock:long")).notReleasable).toMatch(/longer than/);
    expect(byKey(locks, w.key("lock:html"))).toMatchObject({ value: "<script>alert(1)</script>-unique-token-value", notReleasable: null });
  });

  it("when the key cap stops a view, every pattern has had its share (round robin), and the view says which are unfinished", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 300; i++) pipeline.set(w.key(`lock:bulk:${i}`), `v-${i}`, "EX", 600);
    for (let i = 0; i < 5; i++) pipeline.set(w.key(`task:stuck-${i}`), "1");
    await pipeline.exec();
    // lock:* comes before task:* in the configuration, and one SCAN call returns all 300 of its keys.
    const view = await listLocks(redis, sql, { ...w.config, maxKeys: 100 }, { scanCount: 100_000 });
    expect(view).toMatchObject({ capped: true, stoppedBy: "keys", examined: 100 });
    expect(view.locks.filter((l) => l.key.startsWith(w.key("task:")))).toHaveLength(5);
    expect(view.unfinishedPatterns).toEqual([`${prefix}lock:*`]);
    expect(view.keyspaceKeys).toBeGreaterThanOrEqual(305);
  });

  it("bounds the SCAN calls and the time of one view, however few keys match", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 200; i++) pipeline.set(w.key(`cache:${i}`), "x", "EX", 600);
    await pipeline.exec();
    const byCalls = await listLocks(redis, sql, w.config, { scanCount: 1, maxScanCalls: 4 });
    expect(byCalls).toMatchObject({ capped: true, stoppedBy: "scan_calls", scanCalls: 4 });
    expect(byCalls.unfinishedPatterns.length).toBeGreaterThan(0);
    const byTime = await listLocks(redis, sql, w.config, { timeBudgetMs: 0 });
    expect(byTime).toMatchObject({ capped: true, stoppedBy: "time", scanCalls: 0, unfinishedPatterns: byTime.patterns });
  });

  it("examines at most maxKeys keys, says it stopped, and never calls KEYS", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 1200; i++) pipeline.set(w.key(`lock:bulk:${i}`), `v-${i}`, "EX", 600);
    await pipeline.exec();
    const before = await redis.info("commandstats");
    const capped = await listLocks(redis, sql, { ...w.config, maxKeys: 500 }, { scanCount: 100, batchSize: 100 });
    expect(capped).toMatchObject({ capped: true, examined: 500 });
    expect(capped.locks).toHaveLength(500);
    const full = await listLocks(redis, sql, w.config, { pattern: `${prefix}lock:*` });
    expect(full).toMatchObject({ capped: false, examined: 1200, patterns: [`${prefix}lock:*`] });
    const after = await redis.info("commandstats");
    const keysCalls = (info: string) => Number(/cmdstat_keys:calls=(\d+)/.exec(info)?.[1] ?? 0);
    expect(keysCalls(after)).toBe(keysCalls(before));
  });

  it("bounds every pipeline and reports each Redis call to a probe", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 700; i++) pipeline.set(w.key(`lock:p:${i}`), `v-${i}`);
    await pipeline.exec();
    const calls: Array<{ command: string; size: number }> = [];
    let seen = 0;
    const stats = await walkLocks(redis, sql, w.config, { batchSize: 250, onRedisCall: (c) => calls.push(c) }, (batch) => {
      seen += batch.length;
    });
    expect(seen).toBe(700);
    expect(stats.examined).toBe(700);
    const pipelines = calls.filter((c) => c.command === "PIPELINE");
    // 50 keys (200 commands) per pipeline, so each round trip stays short.
    expect(Math.max(...pipelines.map((c) => c.size))).toBeLessThanOrEqual(50 * 4);
    expect(pipelines.reduce((n, c) => n + c.size, 0)).toBe(700 * 4);
    expect(calls.filter((c) => c.command === "SCAN").length).toBe(stats.scanCalls);
  });

  it("inspects specific keys the same way, and never reads keys outside the patterns", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    const w = lockWorld(sql, redis, prefix);
    const held = await w.claimWithLock("send_email", "inspect-1");
    await redis.set(w.key("other:secret"), "s3cret");
    const found = await inspectLocks(redis, sql, w.config, [held.lockKey, w.key("lock:missing"), w.key("other:secret")]);
    expect(found.get(held.lockKey)?.classification.class).toBe("held");
    expect(found.get(w.key("lock:missing"))).toBeNull();
    expect(found.has(w.key("other:secret"))).toBe(false);
  });

  it("a foreign key nobody configured is not inventoried", async () => {
    const { sql } = db();
    const { redis, prefix } = testRedis();
    await redis.set(`${prefix}elsewhere:1`, "x");
    const config = buildLockConfig({ sdkPrefix: `${prefix}idem:lock:` });
    expect((await listLocks(redis, sql, config)).locks).toEqual([]);
  });
});
