import { describe, expect, inject, it } from "vitest";
import { useTestDatabase, useTestRedis } from "@/tests/helpers/db";
import { waitFor } from "@/tests/helpers/wait";
import { FOREIGN_LOCKS } from "./scenarios";
import { seedDemo, startDemoWorkload } from "./workload";

const db = useTestDatabase();
const testRedis = useTestRedis();

// A fraction of the full history keeps the test quick; every scenario is still in it.
const SCALE = 0.15;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function seedOptions() {
  const { sql, url } = db();
  const { redis, prefix } = testRedis();
  const logged: string[] = [];
  return {
    logged,
    sql,
    redis,
    databaseUrl: url,
    redisUrl: inject("redisUrl"),
    lockPrefix: `${prefix}idem:lock:`,
    foreignLockPrefix: prefix,
    log: (message: string) => void logged.push(message),
    scale: SCALE,
  };
}

async function tableCounts(options: ReturnType<typeof seedOptions>) {
  const [row] = await options.sql<{ runs: number; events: number; dups: number }[]>`
    SELECT (SELECT count(*) FROM idem.task_runs)::int AS runs,
           (SELECT count(*) FROM idem.run_events)::int AS events,
           (SELECT count(*) FROM idem.duplicate_attempts)::int AS dups`;
  return row;
}

describe("demo workload", () => {
  it("seeds days of history and every scenario the console explains, through the SDK", async () => {
    const options = seedOptions();
    const { sql, redis } = options;
    const seed = await seedDemo(options);
    expect(seed.backfill?.status).toBe("seeded");
    expect(seed.backfill?.errors, options.logged.join("\n")).toBe(0);

    const [history] = await sql<{ runs: number; tasks: number; days: number; workers: number; sources: number; lineage: number }[]>`
      SELECT count(*)::int AS runs, count(DISTINCT task_name)::int AS tasks,
             extract(epoch FROM max(created_at) - min(created_at)) / 86400 AS days,
             count(DISTINCT split_part(lease_owner, ':', 1))::int AS workers, count(DISTINCT source)::int AS sources,
             count(*) FILTER (WHERE retry_of IS NOT NULL OR root_run_id <> id)::int AS lineage
      FROM idem.task_runs`;
    expect(history!.runs).toBeGreaterThan(500);
    expect(history!.tasks).toBeGreaterThanOrEqual(7);
    expect(Number(history!.days)).toBeGreaterThanOrEqual(2);
    expect(history!.workers).toBeGreaterThanOrEqual(8);
    expect(history!.sources).toBeGreaterThanOrEqual(4);
    expect(history!.lineage).toBe(0);

    // Runs and their events moved together: each run's first event is its claim, at its creation.
    const [drift] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM idem.task_runs r
      WHERE r.created_at <> (SELECT min(e.at) FROM idem.run_events e WHERE e.run_id = r.id)`;
    expect(drift!.n).toBe(0);
    // Cron slots: the key is the slot, and the run started just after it.
    const [cron] = await sql<{ slots: number; bad: number }[]>`
      SELECT count(*)::int AS slots,
             count(*) FILTER (WHERE idempotency_key <> to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
                                 OR created_at NOT BETWEEN scheduled_for AND scheduled_for + interval '1 minute')::int AS bad
      FROM idem.task_runs WHERE task_name = 'daily_report'`;
    expect(cron!.slots).toBeGreaterThan(48);
    expect(cron!.bad).toBe(0);

    // Failures carry the class, message and a real stack from the throwing call site.
    const failed = await sql<{ class: string; message: string; stack: string }[]>`
      SELECT error->>'class' AS class, error->>'message' AS message, error->>'stack' AS stack
      FROM idem.task_runs WHERE status = 'failed'`;
    expect(failed.length).toBeGreaterThan(5);
    expect(new Set(failed.map((f) => f.class)).size).toBeGreaterThanOrEqual(3);
    for (const f of failed) expect(f.stack).toMatch(new RegExp(`^${f.class}: .*\\n\\s+at `));

    // Retries: retry_scheduled, then the same run claimed again from pending with a higher fencing token.
    const [retries] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM idem.run_events a JOIN idem.run_events b ON b.run_id = a.run_id AND b.id > a.id
      WHERE a.kind = 'retry_scheduled' AND b.kind = 'claimed' AND b.from_status = 'pending' AND b.fencing_token = a.fencing_token + 1`;
    expect(retries!.n).toBeGreaterThan(5);
    const [pending] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.task_runs WHERE status = 'pending'`;
    expect(pending!.n).toBeGreaterThan(0);
    const [takeovers] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.run_events WHERE kind IN ('takeover', 'stale_write_rejected')`;
    expect(takeovers!.n).toBeGreaterThan(0);

    // Duplicates of every kind, and a payload_mismatch whose stored payload differs from the run's.
    const outcomes = await sql<{ outcome: string }[]>`SELECT DISTINCT outcome::text FROM idem.duplicate_attempts`;
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(["in_progress", "lock_contended", "payload_mismatch", "replayed"]);
    const mismatches = await sql<{ stored: number | null; given: number | null; template: string | null }[]>`
      SELECT (r.payload->>'amountCents')::int AS stored, (d.payload->>'amountCents')::int AS given, d.payload->>'template' AS template
      FROM idem.duplicate_attempts d JOIN idem.task_runs r ON r.id = d.run_id WHERE d.outcome = 'payload_mismatch'`;
    expect(mismatches.some((m) => m.stored !== null && m.given !== null && m.given !== m.stored)).toBe(true);

    // The crashed worker: a real process, gone, its run still `running` with a lease that runs out.
    const crashed = seed.scenarios?.scenarios.find((s) => s.name === "crashed");
    expect(crashed?.action).toBe("created");
    const stuck = await waitFor(
      async () => {
        const [row] = await sql<{ status: string; owner: string; token: string; expired: boolean }[]>`
          SELECT status, lease_owner AS owner, lease_token::text AS token, lease_expires_at < now() AS expired
          FROM idem.task_runs WHERE id = ${crashed!.runId}`;
        return row?.expired ? row : null;
      },
      { what: "the crashed run's lease to expire" },
    );
    expect(stuck.status).toBe("running");
    const pid = Number(stuck.owner.split(":")[1]);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(await redis.get(crashed!.lockKey)).toBe(stuck.token);
    expect(await redis.pttl(crashed!.lockKey)).toBeGreaterThan(30 * 60_000);

    // The worker killed between its commit and its unlock: the lock outlives a finished run.
    const unreleased = seed.scenarios?.scenarios.find((s) => s.name === "unreleased");
    const [finished] = await sql<{ status: string; token: string }[]>`
      SELECT status, lease_token::text AS token FROM idem.task_runs WHERE id = ${unreleased!.runId}`;
    expect(finished).toEqual({ status: "succeeded", token: await redis.get(unreleased!.lockKey) });

    // An SDK lock whose run never reached the ledger: no run under its key at all.
    const orphaned = seed.scenarios?.scenarios.find((s) => s.name === "orphaned");
    expect(orphaned).toMatchObject({ action: "created", runId: null, lockPresent: true });
    expect(orphaned!.lockKey.startsWith(options.lockPrefix)).toBe(true);
    const noRun = await sql`SELECT 1 FROM idem.task_runs WHERE task_name = ${orphaned!.task} AND idempotency_key = ${orphaned!.key}`;
    expect(noRun).toHaveLength(0);
    expect(await redis.pttl(orphaned!.lockKey)).toBeGreaterThan(30 * 60_000);

    // The SDK-style lock with no expiry, whose run failed.
    const noTtl = seed.scenarios?.scenarios.find((s) => s.name === "noTtl");
    expect(noTtl?.runStatus).toBe("failed");
    expect(await redis.pttl(noTtl!.lockKey)).toBe(-1);
    expect(noTtl!.lockKey.startsWith(options.lockPrefix)).toBe(true);

    // Other code's locks, as that code writes them.
    expect(await redis.get(`${options.foreignLockPrefix}${FOREIGN_LOCKS.order}`)).toBe("processing");
    expect(await redis.ttl(`${options.foreignLockPrefix}${FOREIGN_LOCKS.order}`)).toBeGreaterThan(0);
    expect(await redis.pttl(`${options.foreignLockPrefix}${FOREIGN_LOCKS.task}`)).toBe(-1);
    expect(await redis.get(`${options.foreignLockPrefix}${FOREIGN_LOCKS.report}`)).toBe("1");
    expect(seed.summary).toMatch(/^demo: [\d,]+ runs over \d+ days .* 4 stuck locks and 3 foreign locks in Redis$/);
  });

  it("a later start only fills the time since, never moves or repeats history, and puts back lost locks", async () => {
    const options = seedOptions();
    // Two starts late on one UTC day and one early the next, all in the past whatever the time now.
    const today = new Date();
    const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - 24 * HOUR;
    const first = midnight - 4 * HOUR;
    const second = midnight - HOUR;
    const nextDay = midnight + HOUR;
    const seeded = await seedDemo({ ...options, anchor: first });
    expect(seeded.backfill?.status).toBe("seeded");
    const before = await options.sql<{ id: number; created_at: string }[]>`SELECT id::int, created_at::text FROM idem.task_runs ORDER BY id`;

    const later = await seedDemo({ ...options, anchor: second });
    expect(later.backfill?.status).toBe("extended");
    expect(later.backfill?.submitted).toBeGreaterThan(0);
    expect(later.backfill!.submitted).toBeLessThan(seeded.backfill!.submitted / 5);
    expect(later.scenarios?.scenarios.map((s) => s.action)).toEqual(["none", "none", "none", "none"]);
    const ids = before.map((run) => run.id);
    const after = await options.sql<{ id: number; created_at: string }[]>`
      SELECT id::int, created_at::text FROM idem.task_runs WHERE id IN ${options.sql(ids)} ORDER BY id`;
    expect(after).toEqual(before);
    const [added] = await options.sql<{ n: number; outside: number }[]>`
      SELECT count(*)::int AS n,
             count(*) FILTER (WHERE created_at NOT BETWEEN ${new Date(first - 5 * MINUTE)} AND ${new Date(second)})::int AS outside
      FROM idem.task_runs WHERE id NOT IN ${options.sql(ids)}`;
    expect(added!.n).toBeGreaterThan(0);
    expect(added!.outside).toBe(0);

    const counts = await tableCounts(options);
    const snapshot = await options.sql<{ id: number; created_at: string }[]>`SELECT id::int, created_at::text FROM idem.task_runs ORDER BY id`;
    const again = await seedDemo({ ...options, anchor: second });
    expect(again.backfill?.status).toBe("present");
    expect(again.backfill?.submitted).toBe(0);
    expect(await tableCounts(options)).toEqual(counts);
    // The plan's day grid moves on at midnight: the same keys now fall a day later, and must not move.
    const tomorrow = await seedDemo({ ...options, anchor: nextDay });
    expect(tomorrow.backfill?.submitted).toBe(0);
    expect(tomorrow.backfill?.shifted).toBe(0);
    expect(await tableCounts(options)).toEqual(counts);
    expect(await options.sql`SELECT id::int, created_at::text FROM idem.task_runs ORDER BY id`).toEqual(snapshot);

    // The demo's Redis does not persist: a restart loses the locks, the next start puts them back.
    const locks = seeded.scenarios!.scenarios.map((s) => s.lockKey);
    const values = await Promise.all(locks.map((key) => options.redis.get(key)));
    await options.redis.del(...locks);
    const restored = await seedDemo({ ...options, anchor: nextDay });
    // The orphan has no run to carry its token, so it comes back as a new lock (another value).
    expect(restored.scenarios?.scenarios.map((s) => s.action)).toEqual(["restored", "restored", "created", "restored"]);
    const back = await Promise.all(locks.map((key) => options.redis.get(key)));
    expect([back[0], back[1], back[3]]).toEqual([values[0], values[1], values[3]]);
    expect(back[2]).toMatch(/^[0-9a-f-]{36}$/);
    expect(await options.redis.pttl(locks[3]!)).toBe(-1);
    expect(await tableCounts(options)).toEqual(counts);
  });

  it("the trickle keeps runs coming until stop(), which leaves no run of its own running", async () => {
    const options = seedOptions();
    const demo = await startDemoWorkload({ ...options, trickle: true, trickleEveryMs: 40 });
    const [start] = await options.sql<{ at: Date }[]>`SELECT now() AS at`;
    await waitFor(
      async () => {
        const [row] = await options.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.task_runs WHERE created_at > ${start!.at}`;
        return row!.n >= 30;
      },
      { what: "30 live runs", timeoutMs: 30_000 },
    );
    await demo.stop();
    const running = await options.sql<{ id: number }[]>`SELECT id::int FROM idem.task_runs WHERE status = 'running'`;
    const [crashed] = await options.sql<{ id: number }[]>`
      SELECT run_id::int AS id FROM idem.run_events WHERE actor LIKE 'media-7d41-3:%' AND kind = 'claimed'`;
    expect(running).toEqual([{ id: crashed!.id }]);
  });
});
