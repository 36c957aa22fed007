import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServerHandle } from "@/lib/embedded/redis";
import { createRedisClient } from "@/lib/redis";
import { useTestDatabase } from "@/tests/helpers/db";
import { waitFor } from "@/tests/helpers/wait";
import { lockWorld } from "@/tests/helpers/locks";
import { listLocks } from "./inventory";
import { lockOperations, releaseLockSchema, textLockRef } from "./operations";
import { lockRefOf, toLockRow } from "./view";
import { performOperation } from "@/lib/ops/perform";

const run = promisify(execFile);
const db = useTestDatabase();

/**
 * A local three-master Redis Cluster, started by this test: three redis-server children with
 * --cluster-enabled, joined by `redis-cli --cluster create`. The inventory must SCAN every master
 * (a SCAN on one node sees only its own slots) and release through the Cluster client.
 */
describe("lock inventory on a Redis Cluster", () => {
  let dir = "";
  const nodes: RedisServerHandle[] = [];
  let cluster: Cluster;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "idem-cluster-"));
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await startRedisServer({
          dir: path.join(dir, `node-${i}`),
          extraArgs: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"],
        }),
      );
    }
    await run("redis-cli", ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"]);
    for (const node of nodes) {
      await waitFor(
        async () => {
          const { stdout } = await run("redis-cli", ["-p", String(node.port), "cluster", "info"]);
          return stdout.includes("cluster_state:ok");
        },
        { timeoutMs: 30_000, everyMs: 100, what: `cluster_state:ok on ${node.port}` },
      );
    }
    const client = createRedisClient(`redis://127.0.0.1:${nodes[0]!.port}?cluster=1`, { name: "idem-cluster-test" });
    cluster = client as Cluster;
    await cluster.ping();
  }, 120_000);

  afterAll(async () => {
    cluster?.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("finds every lock across all masters' slots, maps them to runs, and releases through the Cluster client", async () => {
    const { sql } = db();
    expect(cluster.nodes("master")).toHaveLength(3);
    const w = lockWorld(sql, cluster, "c:");

    const keys: string[] = [];
    for (let i = 0; i < 300; i++) {
      const key = w.key(`lock:item:${i}`);
      await cluster.set(key, `holder-${i}-${randomUUID()}`, "EX", 600);
      keys.push(key);
    }
    const stale = await w.claimWithLock("send_email", "cluster-1");
    await w.ledger.completeRun(stale.lease, null);
    keys.push(stale.lockKey);

    // The keys really are spread: every master holds some of them.
    const perNode = await Promise.all(cluster.nodes("master").map((node) => node.dbsize()));
    expect(perNode.every((count) => count > 0)).toBe(true);

    const inventory = await listLocks(cluster, sql, w.config, { scanCount: 50, batchSize: 40 });
    expect(inventory.nodes).toHaveLength(3);
    expect(inventory.locks.map((l) => l.key).sort()).toEqual([...keys].sort());
    const found = inventory.locks.find((l) => l.key === stale.lockKey);
    expect(found).toMatchObject({ run: { id: stale.runId, status: "succeeded" }, classification: { class: "stale" } });

    const ops = lockOperations({ redis: () => cluster, config: () => w.config });
    const released = await performOperation(
      ops.release,
      // As the screen posts it: the lock as seen (exact bytes, class, TTL and when it was read).
      releaseLockSchema.parse({ lock: lockRefOf({ ...toLockRow(found!), valueBase64: found!.raw!.toString("base64") }) }),
      { actor: { name: "olga", role: "operator", via: "console" }, requestId: randomUUID(), sql },
    );
    expect(released).toMatchObject({ ok: true });
    expect(await cluster.exists(stale.lockKey)).toBe(0);

    const refused = await performOperation(
      ops.release,
      releaseLockSchema.parse({ lock: JSON.stringify(textLockRef({ key: keys[0]!, value: "not-what-it-holds", class: "orphaned" })) }),
      { actor: { name: "olga", role: "operator", via: "console" }, requestId: randomUUID(), sql },
    );
    expect(refused).toMatchObject({ ok: false, message: expect.stringContaining("changed since you loaded the page") });
    expect(await cluster.exists(keys[0]!)).toBe(1);
  });
});
