import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "@/lib/embedded/postgres";
import { migrateDatabase } from "@/lib/migrate";
import { useTestDatabase } from "@/tests/helpers/db";
import { gate, waitFor } from "@/tests/helpers/wait";
import { LeaseLostError } from "./errors";
import { fingerprintOf, type Json } from "./json";
import { createLedger, type Ledger } from "./ledger";
import { PENDING_CHANNEL } from "./protocol";
import { startWorker, type Worker, type WorkerLedger } from "./worker";

const db = useTestDatabase();

/**
 * Pending runs as another writer leaves them (an operator's retry, a client in another language that
 * only submits): status pending, attempt 0, with a notification per run.
 */
async function insertPending(sql: postgres.Sql, task: string, count: number, options: { maxAttempts?: number; notify?: boolean } = {}) {
  const keys = Array.from({ length: count }, (_, i) => `${task}-${i}`);
  const payloads = keys.map((key) => JSON.stringify({ key }));
  const fingerprints = keys.map((key) => fingerprintOf({ key }));
  const rows = await sql<{ id: string }[]>`
    WITH input AS (
      SELECT * FROM unnest(${keys}::text[], ${payloads}::text[], ${fingerprints}::text[]) AS i(key, payload, fp)
    ), ids AS (
      SELECT nextval('idem.task_runs_id_seq') AS id, input.* FROM input
    ), created AS (
      INSERT INTO idem.task_runs (id, root_run_id, task_name, idempotency_key, fingerprint, payload, status, attempt, max_attempts, source)
      SELECT id, id, ${task}, key, fp, payload::jsonb, 'pending', 0, ${options.maxAttempts ?? 1}, 'test' FROM ids
      RETURNING id, task_name
    ), notified AS (
      SELECT pg_notify(${PENDING_CHANNEL}, task_name) FROM created WHERE ${options.notify ?? true}::boolean
    )
    SELECT id FROM created WHERE (SELECT count(*) FROM notified) >= 0 ORDER BY id`;
  return rows.map((row) => Number(row.id));
}

async function statuses(sql: postgres.Sql, task: string) {
  return sql<{ status: string; n: number }[]>`
    SELECT status::text, count(*)::int AS n FROM idem.task_runs WHERE task_name = ${task} GROUP BY 1 ORDER BY 1`;
}

function track(workers: Worker[]) {
  return async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
  };
}

describe("startWorker", () => {
  it("three workers execute 200 pending runs, each exactly once (FOR UPDATE SKIP LOCKED)", async () => {
    const { sql, connect } = db();
    await sql`CREATE TABLE effects (run_id bigint NOT NULL, worker text NOT NULL)`;
    await insertPending(sql, "skip_locked", 200);
    const ledgers: Ledger[] = [0, 1, 2].map((i) => createLedger({ sql: connect({ max: 3 }), workerId: `executor-${i}`, recordHeartbeats: false }));
    const workers = ledgers.map((ledger) =>
      ledger.startWorker({
        concurrency: 5,
        pollMs: 20,
        handlers: {
          skip_locked: async (ctx) => {
            await ledger.sql`INSERT INTO effects (run_id, worker) VALUES (${ctx.runId}, ${ledger.workerId})`;
            return { ran: ctx.runId };
          },
        },
      }),
    );
    const stop = track(workers);
    try {
      await waitFor(async () => (await statuses(sql, "skip_locked")).every((s) => s.status === "succeeded"), { timeoutMs: 30_000, what: "every run to succeed" });
    } finally {
      await stop();
    }

    const [effects] = await sql<{ runs: number; total: number; workers: number }[]>`
      SELECT count(DISTINCT run_id)::int AS runs, count(*)::int AS total, count(DISTINCT worker)::int AS workers FROM effects`;
    expect(effects).toEqual({ runs: 200, total: 200, workers: 3 });
    const claims = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM idem.run_events e JOIN idem.task_runs r ON r.id = e.run_id
      WHERE r.task_name = 'skip_locked' AND e.kind = 'claimed' AND e.from_status = 'pending'`;
    expect(claims[0]!.n).toBe(200);
    const [runs] = await sql<{ attempts: number[]; tokens: number[] }[]>`
      SELECT array_agg(DISTINCT attempt) AS attempts, array_agg(DISTINCT fencing_token::int) AS tokens FROM idem.task_runs WHERE task_name = 'skip_locked'`;
    expect(runs).toEqual({ attempts: [1], tokens: [1] });
  });

  it("a notification wakes the worker at once: with a one-minute poll, a new pending run still runs promptly", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "listener" });
    const seen: Json[] = [];
    const worker = ledger.startWorker({
      pollMs: 60_000,
      handlers: {
        notified: (ctx) => {
          seen.push(ctx.payload);
          return { task: ctx.task, key: ctx.key, fencingToken: ctx.fencingToken };
        },
      },
    });
    try {
      await worker.ready;
      const [id] = await insertPending(sql, "notified", 1);
      // Well under the poll interval: only the notification can have woken the worker.
      const run = await waitFor(
        async () => (await sql<{ status: string; result: Json }[]>`SELECT status::text, result FROM idem.task_runs WHERE id = ${id!} AND status = 'succeeded'`)[0],
        { timeoutMs: 10_000, what: "the notified run to succeed" },
      );
      expect(run.result).toEqual({ task: "notified", key: "notified-0", fencingToken: 1 });
      expect(seen).toEqual([{ key: "notified-0" }]);
    } finally {
      await worker.stop();
    }
  });

  it("without LISTEN it polls; it claims only the tasks it has handlers for", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    await insertPending(sql, "mine", 3, { notify: false });
    await insertPending(sql, "theirs", 2, { notify: false });
    const worker = ledger.startWorker({ listen: false, pollMs: 20, handlers: { mine: () => "ok" } });
    try {
      await waitFor(async () => (await statuses(sql, "mine")).every((s) => s.status === "succeeded"), { what: "mine to succeed" });
    } finally {
      await worker.stop();
    }
    expect(await statuses(sql, "theirs")).toEqual([{ status: "pending", n: 2 }]);
  });

  it("a failing handler goes through the fail path: back to pending after the backoff, run again, then succeeded", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const [id] = await insertPending(sql, "flaky", 1, { maxAttempts: 2 });
    const errors: unknown[] = [];
    const worker = ledger.startWorker({
      pollMs: 50,
      onError: (error) => errors.push(error),
      handlers: {
        flaky: (ctx) => {
          if (ctx.attempt === 1) throw new Error("smtp timeout");
          return "delivered";
        },
      },
    });
    try {
      await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${id!} AND status = 'succeeded'`).length > 0, { what: "the second attempt" });
    } finally {
      await worker.stop();
    }
    const events = await sql<{ kind: string }[]>`SELECT kind FROM idem.run_events WHERE run_id = ${id!} AND kind <> 'heartbeat' ORDER BY id`;
    expect(events.map((e) => e.kind)).toEqual(["claimed", "retry_scheduled", "claimed", "succeeded"]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe("smtp timeout");
  });

  it("stop() stops claiming and waits for the runs in flight to record their outcome", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const [id] = await insertPending(sql, "slow", 1);
    const started = gate();
    const release = gate();
    const worker = ledger.startWorker({
      pollMs: 20,
      handlers: {
        slow: async () => {
          started.open();
          await release.opened;
          return "finished";
        },
      },
    });
    await started.opened;
    let stopped = false;
    const stopping = worker.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    expect(worker.inFlight).toBe(1);
    release.open();
    await stopping;
    expect(worker.inFlight).toBe(0);
    const [run] = await sql<{ status: string; result: Json }[]>`SELECT status::text, result FROM idem.task_runs WHERE id = ${id!}`;
    expect(run).toEqual({ status: "succeeded", result: "finished" });
  });

  it("a run whose lease is lost mid-handler is reported as LeaseLostError and its late completion changes nothing", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "slowpoke" });
    const [id] = await insertPending(sql, "lost", 1);
    const inside = gate();
    const release = gate();
    const errors: unknown[] = [];
    const worker = ledger.startWorker({
      pollMs: 20,
      leaseMs: 30_000,
      onError: (error) => errors.push(error),
      handlers: {
        lost: async () => {
          inside.open();
          await release.opened;
          return "too late";
        },
      },
    });
    try {
      await inside.opened;
      // Another worker takes the run over: a new lease token, fencing token 2.
      await sql`UPDATE idem.task_runs SET lease_token = gen_random_uuid(), fencing_token = fencing_token + 1, lease_owner = 'other' WHERE id = ${id!}`;
      release.open();
      await waitFor(() => errors.length > 0, { what: "the lease-lost report" });
    } finally {
      await worker.stop();
    }
    expect(errors[0]).toBeInstanceOf(LeaseLostError);
    const [run] = await sql<{ status: string; result: Json }[]>`SELECT status::text, result FROM idem.task_runs WHERE id = ${id!}`;
    expect(run).toEqual({ status: "running", result: null });
  });

  it("rejects options that cannot work, naming them", () => {
    const ledger = createLedger({ sql: db().sql });
    expect(() => ledger.startWorker({ handlers: {} })).toThrow(/at least one task/);
    expect(() => ledger.startWorker({ handlers: { "bad:name": () => 1 } })).toThrow(/handlers.bad:name/);
    expect(() => ledger.startWorker({ handlers: { ok: () => 1 }, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => ledger.startWorker({ handlers: { ok: () => 1 }, leaseMs: 5 })).toThrow(/leaseMs/);
  });

  it("after an outage and a Postgres restart it executes new work and listens again", async () => {
    // Restarts a server: its own, never the machine's.
    const dir = await mkdtemp(path.join(tmpdir(), "idem-worker-restart-"));
    const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, "pg"), settings: { fsync: "off" } });
    const sql = postgres(pg.url, { max: 2, onnotice: () => undefined, connect_timeout: 1 });
    const observer = () => postgres(pg.url, { max: 1, onnotice: () => undefined });
    const listening = async () => {
      const probe = observer();
      try {
        const rows = await probe<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query ILIKE 'listen%idem_pending%'`;
        return rows[0]!.n > 0;
      } finally {
        await probe.end({ timeout: 1 });
      }
    };
    let worker: Worker | null = null;
    try {
      await migrateDatabase(pg.url);
      const ledger = createLedger({ sql, logger: { warn: () => undefined } });
      let claimFailures = 0;
      const counted: WorkerLedger = {
        ...ledger,
        claimPending: (request) =>
          ledger.claimPending(request).catch((error: unknown) => {
            claimFailures++;
            throw error;
          }),
      };
      worker = startWorker(counted, { pollMs: 200, handlers: { restarted: () => "ok" } });
      await worker.ready;
      await waitFor(listening, { what: "the worker to LISTEN" });

      // A hard outage: connections hang (a host gone without a reset) until the connect timeout. A
      // socket that accepts and never answers stands in for the server meanwhile.
      await pg.stop();
      const sockets = new Set<Socket>();
      const blackhole = createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => undefined);
      });
      await new Promise<void>((resolve) => blackhole.listen(pg.port, "127.0.0.1", resolve));
      await waitFor(() => claimFailures >= 2, { timeoutMs: 30_000, what: "claims to time out while Postgres hangs" });
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
      await pg.start();
      const [id] = await waitFor(() => insertPending(sql, "restarted", 1).catch(() => null), { timeoutMs: 30_000, what: "Postgres back" });
      await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${id!} AND status = 'succeeded'`).length > 0, {
        timeoutMs: 30_000,
        what: "the run to be executed after the restart",
      });
      await waitFor(listening, { timeoutMs: 30_000, what: "the worker to LISTEN again" });
    } finally {
      await worker?.stop();
      await sql.end({ timeout: 2 });
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
