import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import type { Role } from "@/lib/auth/roles";
import { performOperation } from "@/lib/ops/perform";
import { useTestDatabase, useTestRedis } from "@/tests/helpers/db";
import { lockWorld } from "@/tests/helpers/locks";
import type { LockClass } from "./classify";
import { inspectLocks, listLocks } from "./inventory";
import { lockOperations, releaseLockSchema, releaseLocksSchema, textLockRef } from "./operations";
import { lockRefOf, toLockRow, typableKey } from "./view";

const db = useTestDatabase();
const testRedis = useTestRedis();

function setup() {
  const { sql } = db();
  const { redis, prefix } = testRedis();
  const w = lockWorld(sql, redis, prefix);
  const ops = lockOperations({ redis: () => redis, config: () => w.config });
  const as = (name: string, role: Role = "operator") => ({ actor: { name, role, via: "console" as const }, requestId: randomUUID(), sql });
  // As the screen posts it: the lock as a LockRef (base64 key and value, class, TTL seen) in one form field.
  const release = (
    input: { key: string; value: string; class: LockClass; pttlMs?: number; seenAt?: number; reason?: string; confirmKey?: string; expireLease?: "on"; leaseToken?: string },
    who = as("olga"),
  ) => {
    const { key, value, class: lockClass, pttlMs, seenAt, ...rest } = input;
    return performOperation(ops.release, releaseLockSchema.parse({ lock: JSON.stringify(textLockRef({ key, value, class: lockClass, pttlMs, seenAt })), ...rest }), who);
  };
  const releaseMany = (locks: Array<{ key: string; value: string; class: LockClass; pttlMs?: number; seenAt?: number }>, reason?: string, who = as("olga")) =>
    performOperation(ops.releaseBulk, releaseLocksSchema.parse({ lock: locks.map((l) => JSON.stringify(textLockRef(l))), reason }), who);
  /** The lock as the page shows it now (value bytes, PTTL, when read), ready to post back. */
  const seenOnScreen = async (key: string) => {
    const lock = (await inspectLocks(redis, sql, w.config, [key])).get(key);
    if (!lock?.raw) throw new Error(`${key} is not releasable`);
    const row = toLockRow(lock);
    return { key, ref: lockRefOf({ ...row, valueBase64: lock.raw.toString("base64") }), class: lock.classification.class };
  };
  const releaseRef = (ref: string, extra: { reason?: string; confirmKey?: string } = {}, who = as("olga")) =>
    performOperation(ops.release, releaseLockSchema.parse({ lock: ref, ...extra }), who);
  return { sql, redis, prefix, w, as, release, releaseMany, seenOnScreen, releaseRef };
}

type AuditRow = { action: string; actor: string; target_id: string; outcome: string; precondition: Record<string, unknown>; outcome_detail: Record<string, unknown>; reason: string | null; request_id: string };

async function auditRows(sql: postgres.Sql, action = "lock.release"): Promise<AuditRow[]> {
  return sql<AuditRow[]>`
    SELECT action, actor, target_id, outcome, precondition, outcome_detail, reason, request_id
    FROM idem.operator_actions WHERE action = ${action} ORDER BY id`;
}

describe("releasing a lock from the console", () => {
  it("deletes a stale lock by compare-and-delete with the value seen, and audits it", async () => {
    const { sql, redis, w, release } = setup();
    const done = await w.claimWithLock("send_email", "k1");
    await w.ledger.completeRun(done.lease, null);

    const result = await release({ key: done.lockKey, value: done.token, class: "stale", reason: "worker crashed before unlock" });
    expect(result).toMatchObject({ ok: true, message: expect.stringContaining("Released") });
    expect(await redis.exists(done.lockKey)).toBe(0);
    const [row] = await auditRows(sql);
    expect(row).toMatchObject({
      actor: "olga",
      target_id: done.lockKey,
      outcome: "done",
      reason: "worker crashed before unlock",
      precondition: { value: done.token, class: "stale" },
      outcome_detail: { result: "released", class: "stale", runId: done.runId },
    });
  });

  it("with a stale value deletes nothing, says what is there now, and audits the refusal", async () => {
    const { sql, redis, w, release } = setup();
    const key = w.key("lock:order:42");
    await redis.set(key, "processing-by-a", "EX", 300);
    const seen = "processing-by-a";
    await redis.set(key, "processing-by-b", "EX", 300); // re-acquired after the page loaded

    const result = await release({ key, value: seen, class: "orphaned" });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining('now holds "processing-by-b"') });
    expect(await redis.get(key)).toBe("processing-by-b");
    const [row] = await auditRows(sql);
    expect(row).toMatchObject({
      outcome: "refused",
      precondition: { value: seen, class: "orphaned" },
      outcome_detail: { result: "changed", current: { value: "processing-by-b" } },
    });
  });

  it("a key that another library turned into a hash is reported as changed and never deleted", async () => {
    const { redis, w, release } = setup();
    const key = w.key("lock:redisson-ish");
    await redis.hset(key, "8d3c:1", "1");
    expect(await release({ key, value: "1", class: "orphaned" })).toMatchObject({ ok: false, message: expect.stringContaining('now holds "<hash>"') });
    expect(await redis.type(key)).toBe("hash");
  });

  it("two operators releasing the same lock at once: it is deleted once, the other is told it is gone", async () => {
    const { sql, redis, w, release, as } = setup();
    const stuck = await w.claimWithLock("transcode_file", "crashed", { ttlMs: 3_600_000 });
    await w.expireLease(stuck.runId);
    const input = { key: stuck.lockKey, value: stuck.token, class: "stale" as const };

    const results = await Promise.all([release(input, as("ann")), release(input, as("bob"))]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual([expect.objectContaining({ message: expect.stringContaining("no longer exists") })]);
    expect(await redis.exists(stuck.lockKey)).toBe(0);
    const rows = await auditRows(sql);
    expect(rows.map((r) => r.outcome_detail.result).sort()).toEqual(["gone", "released"]);
  });

  it("a held lock needs the key typed back and a reason", async () => {
    const { redis, w, release } = setup();
    const held = await w.claimWithLock("send_email", "busy");
    const input = { key: held.lockKey, value: held.token, class: "held" as const };

    expect(await release(input)).toMatchObject({ ok: false, message: expect.stringContaining("typed back") });
    expect(await release({ ...input, reason: "worker pod deleted", confirmKey: `${held.lockKey}x` })).toMatchObject({ ok: false });
    expect(await release({ ...input, confirmKey: held.lockKey })).toMatchObject({ ok: false });
    expect(await redis.get(held.lockKey)).toBe(held.token);

    expect(await release({ ...input, reason: "worker pod deleted", confirmKey: held.lockKey })).toMatchObject({ ok: true });
    expect(await redis.exists(held.lockKey)).toBe(0);
  });

  it("a held lock whose key has a line break is confirmed by typing it with \\n (a text field holds no line break)", async () => {
    const { redis, w, release } = setup();
    const held = await w.claimWithLock("send_email", "two\nlines");
    const input = { key: held.lockKey, value: held.token, class: "held" as const, reason: "worker gone" };
    expect(await release({ ...input, confirmKey: held.lockKey.replace("\n", " ") })).toMatchObject({ ok: false });
    expect(await redis.get(held.lockKey)).toBe(held.token);
    expect(typableKey(held.lockKey)).toBe(held.lockKey.replace("\n", "\\n"));
    expect(await release({ ...input, confirmKey: typableKey(held.lockKey) })).toMatchObject({ ok: true });
    expect(await redis.exists(held.lockKey)).toBe(0);
  });

  it("a lock that became held since the page loaded is refused, even though the value is the same", async () => {
    const { redis, w, release } = setup();
    const paused = await w.claimWithLock("send_email", "paused-worker");
    await w.expireLease(paused.runId); // the page saw it stale...
    await w.ledger.heartbeat(paused.lease); // ...then the worker woke up and renewed its lease

    const result = await release({ key: paused.lockKey, value: paused.token, class: "stale" });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("now held") });
    expect(await redis.get(paused.lockKey)).toBe(paused.token);
  });

  it("never touches a key outside the configured patterns", async () => {
    const { redis, prefix, release } = setup();
    const key = `${prefix}session:abc`;
    await redis.set(key, "user-7");
    expect(await release({ key, value: "user-7", class: "orphaned" })).toMatchObject({ ok: false, message: expect.stringContaining("not under any configured lock pattern") });
    expect(await redis.get(key)).toBe("user-7");
  });

  it("a viewer is refused before anything is read, and the refusal is audited", async () => {
    const { sql, redis, w, release, as } = setup();
    const done = await w.claimWithLock("send_email", "viewer-try");
    await w.ledger.completeRun(done.lease, null);
    const result = await release({ key: done.lockKey, value: done.token, class: "stale" }, as("vic", "viewer"));
    expect(result).toMatchObject({ ok: false, kind: "forbidden" });
    expect(await redis.exists(done.lockKey)).toBe(1);
    expect(await auditRows(sql)).toEqual([expect.objectContaining({ actor: "vic", outcome: "refused", outcome_detail: expect.objectContaining({ why: "forbidden" }) })]);
  });
});

describe("a lock set again with the same value since the page loaded", () => {
  it("is left alone: the TTL seen, run down, tells the new holder's lock from the one on screen", async () => {
    const { sql, redis, w, seenOnScreen, releaseRef } = setup();
    const key = w.key("lock:order:77");
    await redis.set(key, "processing", "PX", 300_000);
    await redis.pexpire(key, 120_000); // the first holder has been at it a while
    const seen = await seenOnScreen(key);
    // The stuck lock goes away and a new worker takes the order with the same shared value.
    await redis.del(key);
    await redis.set(key, "processing", "EX", 300, "NX");

    const result = await releaseRef(seen.ref);
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("set again or extended") });
    expect(await redis.get(key)).toBe("processing");
    const [row] = await auditRows(sql);
    expect(row).toMatchObject({ outcome: "refused", precondition: { value: "processing", pttlSeen: expect.any(Number) }, outcome_detail: { result: "changed", ttlChanged: expect.anything() } });
  });

  it("is left alone when it had no TTL on screen and has one now, or the other way round", async () => {
    const { redis, w, seenOnScreen, releaseRef } = setup();
    const noTtl = w.key("task:legacy-1");
    await redis.set(noTtl, "1");
    const seenNoTtl = await seenOnScreen(noTtl);
    await redis.set(noTtl, "1", "EX", 600);
    const withTtl = w.key("task:legacy-2");
    await redis.set(withTtl, "1", "EX", 600);
    const seenWithTtl = await seenOnScreen(withTtl);
    await redis.set(withTtl, "1");

    expect(await releaseRef(seenNoTtl.ref)).toMatchObject({ ok: false });
    expect(await releaseRef(seenWithTtl.ref)).toMatchObject({ ok: false });
    expect(await redis.exists(noTtl, withTtl)).toBe(2);
  });

  it("is refused in a bulk release too, while an untouched lock with the same value is released", async () => {
    const { redis, w, seenOnScreen, releaseMany } = setup();
    const [a, b] = [w.key("lock:job:a"), w.key("lock:job:b")];
    await redis.set(a, "1", "PX", 200_000);
    await redis.set(b, "1", "PX", 200_000);
    const seenA = await seenOnScreen(a);
    const seenB = await seenOnScreen(b);
    await redis.set(b, "1", "PX", 300_000); // b taken again
    const parse = (ref: string) => {
      const { pttlMs, seenAt } = JSON.parse(ref) as { pttlMs: number; seenAt: number };
      return { pttlMs, seenAt };
    };
    const result = await releaseMany([
      { key: a, value: "1", class: seenA.class, ...parse(seenA.ref) },
      { key: b, value: "1", class: seenB.class, ...parse(seenB.ref) },
    ]);
    expect(result).toMatchObject({ ok: true, message: expect.stringContaining("1 released, 1 changed") });
    expect(await redis.exists(a)).toBe(0);
    expect(await redis.get(b)).toBe("1");
  });

  it("an untouched lock, with or without a TTL, is released with the TTL seen", async () => {
    const { redis, w, seenOnScreen, releaseRef } = setup();
    const withTtl = w.key("lock:order:78");
    await redis.set(withTtl, "processing", "EX", 300);
    const noTtl = w.key("task:legacy-3");
    await redis.set(noTtl, "1");
    const seen = [await seenOnScreen(withTtl), await seenOnScreen(noTtl)];
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const lock of seen) expect(await releaseRef(lock.ref)).toMatchObject({ ok: true });
    expect(await redis.exists(withTtl, noTtl)).toBe(0);
  });
});

describe("keys and values a form would change, or that are not text", () => {
  it("releases a key and a value containing a line break exactly as read", async () => {
    const { redis, w, seenOnScreen, releaseRef } = setup();
    const key = w.key("lock:multi\nline");
    await redis.set(key, "held by\r\nworker 3", "EX", 300);
    const seen = await seenOnScreen(key);
    expect(seen.ref).not.toMatch(/[\r\n]/); // survives a browser's CRLF normalisation of form fields
    expect(await releaseRef(seen.ref)).toMatchObject({ ok: true });
    expect(await redis.exists(key)).toBe(0);
  });

  it("releases binary values, a leading BOM and U+0000 by their exact bytes, and never a look-alike", async () => {
    const { sql, redis, w, seenOnScreen, releaseRef } = setup();
    const binary = w.key("lock:bin");
    await redis.set(binary, Buffer.from([0xff, 0x00, 0xfe, 0x41]), "EX", 300);
    const bom = w.key("lock:bom");
    await redis.set(bom, "\uFEFFprocessing", "EX", 300);
    const nul = w.key("lock:nul");
    await redis.set(nul, "a\u0000b", "EX", 300);
    const seen = await Promise.all([binary, bom, nul].map(seenOnScreen));

    // The same text without the BOM is a different value: nothing deleted.
    const noBom = JSON.stringify({ ...(JSON.parse(seen[1]!.ref) as object), value: Buffer.from("processing").toString("base64") });
    expect(await releaseRef(noBom)).toMatchObject({ ok: false, message: expect.stringContaining("changed") });

    for (const lock of seen) expect(await releaseRef(lock.ref)).toMatchObject({ ok: true });
    expect(await redis.exists(binary, bom, nul)).toBe(0);

    // A refusal that shows a U+0000 value now there is audited too (escaped: jsonb cannot hold U+0000).
    const changed = w.key("lock:nul-changed");
    await redis.set(changed, "a\u0000b", "EX", 300);
    const before = await seenOnScreen(changed);
    await redis.set(changed, "c\u0000d", "KEEPTTL");
    expect(await releaseRef(before.ref)).toMatchObject({ ok: false, message: expect.stringContaining("now holds") });
    const rows = await auditRows(sql);
    expect(rows.at(-1)).toMatchObject({ target_id: changed, outcome: "refused", outcome_detail: { result: "changed", current: { value: "c\\x00d" } } });
  });
});

describe("keys that are not UTF-8 text", () => {
  it("are listed by their exact bytes (shown escaped) and released by them", async () => {
    const { sql, redis, prefix, w, releaseRef } = setup();
    const binary = Buffer.concat([Buffer.from(`${prefix}lock:bin-`), Buffer.from([0xff, 0xfe, 0x00])]);
    const withNul = Buffer.from(`${prefix}lock:nul-\u0000-key`);
    // Decoded as UTF-8, this key would be a different key: "…bin-\uFFFD\uFFFD\u0000".
    const lookAlike = Buffer.from(binary.toString("utf8"));
    await redis.set(binary, "worker-1-token-abcdef", "EX", 300);
    await redis.set(withNul, "worker-2-token-abcdef", "EX", 300);
    await redis.set(lookAlike, "someone-else-entirely", "EX", 300);

    const { locks } = await listLocks(redis, sql, w.config);
    const shown = locks.find((l) => l.keyRaw.equals(binary));
    expect(shown).toMatchObject({ key: `${prefix}lock:bin-\\xff\\xfe\\x00`, value: "worker-1-token-abcdef", mapping: null, notReleasable: null });
    const nul = locks.find((l) => l.keyRaw.equals(withNul));
    expect(nul?.key).toBe(`${prefix}lock:nul-\\x00-key`);

    for (const lock of [shown!, nul!]) {
      const row = toLockRow(lock);
      expect(await releaseRef(lockRefOf({ ...row, valueBase64: row.valueBase64! }))).toMatchObject({ ok: true });
    }
    expect(await redis.exists(binary, withNul)).toBe(0);
    expect(await redis.get(lookAlike)).toBe("someone-else-entirely");
    const audited = await auditRows(sql);
    expect(audited.map((r) => [r.target_id, r.outcome])).toEqual([
      [`${prefix}lock:bin-\\xff\\xfe\\x00`, "done"],
      [`${prefix}lock:nul-\\x00-key`, "done"],
    ]);
  });
});

describe("expiring the run's lease with the release", () => {
  it("ends the lease by CAS on the token seen, with a run_events row, when the worker is gone", async () => {
    const { sql, redis, w, release } = setup();
    // A worker with a one-hour lease whose pod was deleted: the lock is held until an operator steps in.
    const gone = await w.claimWithLock("transcode_file", "long-lease", { leaseMs: 3_600_000, ttlMs: 3_600_000 });
    const result = await release({
      key: gone.lockKey,
      value: gone.token,
      class: "held",
      reason: "node drained, worker gone",
      confirmKey: gone.lockKey,
      expireLease: "on",
      leaseToken: gone.token,
    });
    expect(result).toMatchObject({ ok: true, message: expect.stringContaining("lease is now expired") });
    expect(await redis.exists(gone.lockKey)).toBe(0);
    const [run] = await sql<{ expired: boolean; status: string }[]>`SELECT lease_expires_at <= now() AS expired, status FROM idem.task_runs WHERE id = ${gone.runId}`;
    expect(run).toEqual({ expired: true, status: "running" });
    const events = await sql<{ kind: string; actor: string; detail: Record<string, unknown> }[]>`
      SELECT kind, actor, detail FROM idem.run_events WHERE run_id = ${gone.runId} AND kind = 'lease_expired_by_operator'`;
    expect(events).toEqual([{ kind: "lease_expired_by_operator", actor: "olga", detail: expect.objectContaining({ lock_key: gone.lockKey, reason: "node drained, worker gone" }) }]);

    // Another worker can now take the run over.
    const takeover = await w.ledger.claimRun({ task: "transcode_file", key: "long-lease", payload: { key: "long-lease" } });
    expect(takeover).toMatchObject({ outcome: "claimed", previousStatus: "running" });
  });

  it("refuses to end the CURRENT holder's lease through an earlier holder's lock (token_mismatch), deletes nothing, and audits it", async () => {
    const { sql, redis, w, release } = setup();
    const first = await w.claimWithLock("transcode_file", "retaken", { ttlMs: 3_600_000 });
    await w.expireLease(first.runId);
    // Another worker claimed the run again and is working on it now, under a new token.
    const second = await w.ledger.claimRun({ task: "transcode_file", key: "retaken", payload: { key: "retaken" }, leaseMs: 60_000 });
    if (second.outcome !== "claimed") throw new Error("expected a claim");
    const liveToken = second.lease.token;

    // The screen shows the old lock as token_mismatch, and its run with the live holder's token.
    for (const leaseToken of [liveToken, first.token]) {
      const result = await release({
        key: first.lockKey,
        value: first.token,
        class: "token_mismatch",
        reason: "cleanup",
        confirmKey: first.lockKey,
        expireLease: "on",
        leaseToken,
      });
      expect(result).toMatchObject({ ok: false, message: expect.stringContaining("Not released") });
    }
    expect(await redis.get(first.lockKey)).toBe(first.token);
    const [run] = await sql<{ live: boolean; token: string }[]>`SELECT lease_expires_at > now() AS live, lease_token::text AS token FROM idem.task_runs WHERE id = ${first.runId}`;
    expect(run).toEqual({ live: true, token: liveToken });
    expect(await sql`SELECT 1 FROM idem.run_events WHERE run_id = ${first.runId} AND kind = 'lease_expired_by_operator'`).toHaveLength(0);
    const rows = await auditRows(sql);
    expect(rows.map((r) => [r.outcome, r.outcome_detail.why])).toEqual([
      ["refused", "lease_not_this_locks"],
      ["refused", "lease_not_this_locks"],
    ]);
  });

  it("refuses a lease token that is not the held lock's own value, and a foreign lock's lease, even with the key typed and a reason", async () => {
    const { sql, redis, w, release } = setup();
    const held = await w.claimWithLock("transcode_file", "mine", { leaseMs: 3_600_000 });
    const other = await w.claimWithLock("transcode_file", "someone-elses", { leaseMs: 3_600_000 });
    const confirmed = { class: "held" as const, reason: "worker gone", expireLease: "on" as const };

    expect(await release({ ...confirmed, key: held.lockKey, value: held.token, confirmKey: held.lockKey, leaseToken: other.token })).toMatchObject({ ok: false });
    // A foreign key mapped by a template to a live run: its value ("processing") is no lease token.
    const charge = await w.claimWithLock("charge_invoice", "77", { leaseMs: 3_600_000 });
    const foreign = w.key("lock:order:77");
    await redis.set(foreign, "processing", "EX", 300);
    expect(await release({ ...confirmed, key: foreign, value: "processing", confirmKey: foreign, leaseToken: charge.token })).toMatchObject({
      ok: false,
      message: expect.stringContaining("only the Idem SDK's own locks"),
    });

    expect(await redis.get(held.lockKey)).toBe(held.token);
    expect(await redis.get(foreign)).toBe("processing");
    const live = await sql<{ id: string }[]>`SELECT id FROM idem.task_runs WHERE lease_expires_at > now() ORDER BY id`;
    expect(live.map((r) => Number(r.id))).toEqual([held.runId, other.runId, charge.runId]);
  });

  it("refuses to end a lease when the lock was not seen held, even if the token is right", async () => {
    const { sql, redis, w, release } = setup();
    const paused = await w.claimWithLock("send_email", "seen-stale", { leaseMs: 3_600_000 });
    await w.expireLease(paused.runId);
    const seen = { key: paused.lockKey, value: paused.token, class: "stale" as const, expireLease: "on" as const, leaseToken: paused.token };
    await w.ledger.heartbeat(paused.lease); // the worker woke up: the lease is live again
    expect(await release({ ...seen, reason: "x", confirmKey: paused.lockKey })).toMatchObject({ ok: false, message: expect.stringContaining("Reload") });
    expect(await redis.get(paused.lockKey)).toBe(paused.token);
    const [run] = await sql<{ live: boolean }[]>`SELECT lease_expires_at > now() AS live FROM idem.task_runs WHERE id = ${paused.runId}`;
    expect(run?.live).toBe(true);
  });
});

describe("bulk release", () => {
  it("releases exactly the selected key + value pairs and audits one row per lock plus the request", async () => {
    const { sql, redis, w, releaseMany } = setup();
    const stale = await w.claimWithLock("send_email", "b1");
    await w.ledger.completeRun(stale.lease, null);
    const held = await w.claimWithLock("send_email", "b2");
    const orphan = w.key("lock:report:daily");
    await redis.set(orphan, "1", "EX", 3600);
    const changed = w.key("lock:order:9");
    await redis.set(changed, "new-holder", "EX", 300);
    const gone = w.key("lock:order:10");
    const untouched = w.key("lock:order:11"); // matches the same patterns, but was not selected
    await redis.set(untouched, "1", "EX", 300);

    const result = await releaseMany(
      [
        { key: stale.lockKey, value: stale.token, class: "stale" },
        { key: held.lockKey, value: held.token, class: "held" },
        { key: orphan, value: "1", class: "orphaned" },
        { key: changed, value: "old-holder", class: "orphaned" },
        { key: gone, value: "1", class: "orphaned" },
      ],
      "cleanup after incident 812",
    );
    expect(result).toMatchObject({ ok: true, message: "5 selected: 2 released, 1 changed since you looked (left alone), 1 already gone, 1 refused." });
    expect(await redis.exists(stale.lockKey, orphan)).toBe(0);
    expect(await redis.get(held.lockKey)).toBe(held.token);
    expect(await redis.get(changed)).toBe("new-holder");
    expect(await redis.get(untouched)).toBe("1");

    const perLock = await auditRows(sql);
    expect(perLock.map((r) => [r.target_id, r.outcome, r.outcome_detail.result])).toEqual([
      [stale.lockKey, "done", "released"],
      [held.lockKey, "refused", "refused"],
      [orphan, "done", "released"],
      [changed, "refused", "changed"],
      [gone, "refused", "gone"],
    ]);
    const [summary] = await auditRows(sql, "lock.release_bulk");
    expect(summary).toMatchObject({ outcome: "done", reason: "cleanup after incident 812", outcome_detail: { released: 2, changed: 1, gone: 1, refused: 1, selected: 5 } });
    expect(perLock.map((r) => r.request_id)).toEqual([1, 2, 3, 4, 5].map((n) => `${summary!.request_id}/${n}`));
    expect(perLock.every((r) => r.reason === "cleanup after incident 812")).toBe(true);
  });

  it("refuses more than 200 locks, and an empty selection, before doing anything", () => {
    const many = Array.from({ length: 201 }, (_, i) => JSON.stringify(textLockRef({ key: `k${i}`, value: "v", class: "stale" })));
    expect(releaseLocksSchema.safeParse({ lock: many }).success).toBe(false);
    expect(releaseLocksSchema.safeParse({}).success).toBe(false);
    expect(releaseLocksSchema.safeParse({ lock: "not json" }).success).toBe(false);
  });
});
