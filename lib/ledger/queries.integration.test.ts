import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "@/tests/helpers/db";
import { decodeCursor, encodeCursor, type RunSort } from "./cursor";
import { PayloadMismatchError } from "./errors";
import { createLedger } from "./ledger";
import { diffPayloads } from "./payload-diff";
import {
  HEARTBEATS_LIMIT,
  getLineage,
  getRun,
  listRunDuplicates,
  listRunEvents,
  listRuns,
  listTaskNames,
  prefixUpperBound,
  streamRuns,
  type ExportRow,
} from "./queries";
import type { RunFilters, RunListQuery, SortOrder } from "./run-filters";
import type { RunStatus } from "./schema";

const db = useTestDatabase();

const baseQuery: RunListQuery = { keyMatch: "exact", hasDuplicates: false, isRetry: false, sort: "created", order: "desc", pageSize: 50 };

interface NewRun {
  task?: string;
  key: string;
  status?: RunStatus;
  createdAt?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
  leaseOwner?: string | null;
  leaseExpiresAt?: string | null;
  retryOf?: number | null;
  rootRunId?: number | null;
  duplicateCount?: number;
  payload?: unknown;
}

/** Writes a run row directly, for states and times the SDK cannot produce on demand. */
async function insertRun(sql: postgres.Sql, run: NewRun): Promise<number> {
  const status = run.status ?? "succeeded";
  const createdAt = run.createdAt ?? new Date().toISOString();
  const finished = run.finishedAt !== undefined ? run.finishedAt : status === "succeeded" || status === "failed" ? createdAt : null;
  const rows = await sql<Array<{ id: string }>>`
    INSERT INTO idem.task_runs (id, root_run_id, retry_of, task_name, idempotency_key, fingerprint, payload, status, attempt,
                                lease_owner, lease_expires_at, duplicate_count, created_at, started_at, finished_at)
    SELECT n.id, coalesce(${run.rootRunId ?? null}::bigint, n.id), ${run.retryOf ?? null}::bigint, ${run.task ?? "task"}, ${run.key}, 'fp',
           ${JSON.stringify(run.payload ?? {})}::jsonb, ${status}::idem.run_status, 1,
           ${run.leaseOwner ?? null}, ${run.leaseExpiresAt ?? null}::text::timestamptz, ${run.duplicateCount ?? 0},
           ${createdAt}::text::timestamptz, ${run.startedAt !== undefined ? run.startedAt : createdAt}::text::timestamptz, ${finished}::text::timestamptz
    FROM (SELECT nextval('idem.task_runs_id_seq') AS id) n
    RETURNING id`;
  return Number(rows[0]!.id);
}

async function ids(sql: postgres.Sql, filters: Partial<RunListQuery>): Promise<number[]> {
  const page = await listRuns(sql, { ...baseQuery, pageSize: 200, ...filters });
  return page.runs.map((run) => run.id);
}

describe("listRuns filters", () => {
  it("filters by status, stuck, task, worker, duplicates, retries and time range", async () => {
    const { sql } = db();
    const a = await insertRun(sql, { task: "send_email", key: "a", status: "succeeded", leaseOwner: "w1", createdAt: "2026-03-01T10:00:00Z" });
    const b = await insertRun(sql, { task: "send_email", key: "b", status: "failed", leaseOwner: "w2", createdAt: "2026-03-02T10:00:00Z", duplicateCount: 3 });
    const c = await insertRun(sql, {
      task: "charge",
      key: "c",
      status: "running",
      leaseOwner: "w1",
      createdAt: "2026-03-03T10:00:00Z",
      leaseExpiresAt: "2026-03-03T10:00:30Z",
    });
    const d = await insertRun(sql, {
      task: "charge",
      key: "d",
      status: "running",
      leaseOwner: "w2",
      createdAt: "2026-03-04T10:00:00Z",
      leaseExpiresAt: new Date(Date.now() + 600_000).toISOString(),
    });
    const e = await insertRun(sql, { task: "charge", key: "e", status: "pending", createdAt: "2026-03-05T10:00:00Z", retryOf: c, rootRunId: c, startedAt: null });

    expect(await ids(sql, {})).toEqual([e, d, c, b, a]);
    expect(await ids(sql, { status: "running" })).toEqual([d, c]);
    expect(await ids(sql, { status: "stuck" })).toEqual([c]);
    expect(await ids(sql, { status: "cancelled" })).toEqual([]);
    expect(await ids(sql, { task: "send_email" })).toEqual([b, a]);
    expect(await ids(sql, { worker: "w1" })).toEqual([c, a]);
    expect(await ids(sql, { hasDuplicates: true })).toEqual([b]);
    expect(await ids(sql, { isRetry: true })).toEqual([e]);
    expect(await ids(sql, { from: new Date("2026-03-02T10:00:00Z"), to: new Date("2026-03-04T10:00:00Z") })).toEqual([c, b]);
    expect(await ids(sql, { task: "charge", worker: "w2", status: "running" })).toEqual([d]);

    // Sorting by finished lists finished runs only, by finished_at.
    await sql`UPDATE idem.task_runs SET finished_at = '2026-03-10T00:00:00Z' WHERE id = ${a}`;
    expect(await ids(sql, { sort: "finished" })).toEqual([a, b]);
    expect(await ids(sql, { sort: "finished", order: "asc" })).toEqual([b, a]);
    expect(await ids(sql, { sort: "finished", from: new Date("2026-03-05T00:00:00Z") })).toEqual([a]);

    const page = await listRuns(sql, { ...baseQuery, status: "stuck" });
    expect(page.runs[0]).toMatchObject({ id: c, leaseExpired: true, taskName: "charge", idempotencyKey: "c", leaseOwner: "w1" });
    expect(page.nextCursor).toBeNull();
    expect(page.prevCursor).toBeNull();
  });

  it("matches keys exactly across tasks, by prefix with % and _ taken literally, and by free search", async () => {
    const { sql } = db();
    const percent = await insertRun(sql, { task: "t1", key: "inv%2026", createdAt: "2026-01-01T00:00:01Z" });
    const underscore = await insertRun(sql, { task: "t1", key: "inv_2026", createdAt: "2026-01-01T00:00:02Z" });
    const plain = await insertRun(sql, { task: "t1", key: "invX2026", createdAt: "2026-01-01T00:00:03Z" });
    const other = await insertRun(sql, { task: "t2", key: "inv%2026", createdAt: "2026-01-01T00:00:04Z" });
    const backslash = await insertRun(sql, { task: "t1", key: "inv\\2026", createdAt: "2026-01-01T00:00:05Z" });
    const unicode = await insertRun(sql, { task: "t1", key: "réf-€-1", createdAt: "2026-01-01T00:00:06Z" });
    const numeric = await insertRun(sql, { task: "t1", key: String(percent), createdAt: "2026-01-01T00:00:07Z" });

    expect(await ids(sql, { key: "inv%2026" })).toEqual([other, percent]);
    expect(await ids(sql, { key: "inv%2026", task: "t1" })).toEqual([percent]);
    expect(await ids(sql, { key: "inv%", keyMatch: "prefix" })).toEqual([other, percent]);
    expect(await ids(sql, { key: "inv_", keyMatch: "prefix" })).toEqual([underscore]);
    expect(await ids(sql, { key: "inv\\", keyMatch: "prefix" })).toEqual([backslash]);
    expect(await ids(sql, { key: "inv", keyMatch: "prefix" })).toEqual([backslash, other, plain, underscore, percent]);
    expect(await ids(sql, { key: "réf-€", keyMatch: "prefix" })).toEqual([unicode]);
    expect(await ids(sql, { key: "nothing", keyMatch: "prefix" })).toEqual([]);

    // A numeric search matches a run id or a key; anything else only a key.
    expect(await ids(sql, { q: String(percent) })).toEqual([numeric, percent]);
    expect(await ids(sql, { q: "invX2026" })).toEqual([plain]);
    expect(await ids(sql, { q: "inv" })).toEqual([]);
  });

  it("computes prefix upper bounds in code point order", () => {
    expect(prefixUpperBound("abc")).toBe("abd");
    expect(prefixUpperBound("a\u{10FFFF}")).toBe("b");
    expect(prefixUpperBound("\u{10FFFF}")).toBeNull();
    expect(prefixUpperBound("a\uD7FF")).toBe("a\uE000");
  });

  it("lists task names with a loose index scan", async () => {
    const { sql } = db();
    for (const task of ["b_task", "a_task", "c_task", "a_task"]) await insertRun(sql, { task, key: `${task}-${Math.random()}` });
    expect(await listTaskNames(sql)).toEqual(["a_task", "b_task", "c_task"]);
  });
});

describe("keyset pagination", () => {
  /**
   * 237 runs whose created_at values collide in groups (several runs per microsecond, ids out of
   * time order), and whose finished_at also collide, some null.
   */
  async function seedTies(sql: postgres.Sql) {
    await sql`
      INSERT INTO idem.task_runs (id, root_run_id, task_name, idempotency_key, fingerprint, payload, status, created_at, started_at, finished_at)
      SELECT n.id, n.id, 'page', 'k-' || n.g, 'fp', '{}', CASE WHEN n.g % 5 = 0 THEN 'running' ELSE 'succeeded' END::idem.run_status,
             '2026-01-01 00:00:00.000001+00'::timestamptz + ((n.g * 37) % 40) * interval '1 microsecond',
             '2026-01-01 00:00:00+00'::timestamptz,
             CASE WHEN n.g % 5 = 0 THEN NULL ELSE '2026-01-02 00:00:00.5+00'::timestamptz + ((n.g * 13) % 9) * interval '1 microsecond' END
      FROM (SELECT nextval('idem.task_runs_id_seq') AS id, g FROM generate_series(1, 237) g) n`;
  }

  async function expectedOrder(sql: postgres.Sql, sort: RunSort, order: SortOrder): Promise<number[]> {
    const rows =
      sort === "created"
        ? order === "desc"
          ? await sql`SELECT id FROM idem.task_runs WHERE task_name = 'page' ORDER BY created_at DESC, id DESC`
          : await sql`SELECT id FROM idem.task_runs WHERE task_name = 'page' ORDER BY created_at ASC, id ASC`
        : order === "desc"
          ? await sql`SELECT id FROM idem.task_runs WHERE task_name = 'page' AND finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC`
          : await sql`SELECT id FROM idem.task_runs WHERE task_name = 'page' AND finished_at IS NOT NULL ORDER BY finished_at ASC, id ASC`;
    return rows.map((row) => Number(row.id));
  }

  for (const sort of ["created", "finished"] as const) {
    for (const order of ["desc", "asc"] as const) {
      it(`walks every page forwards and back, sorted by ${sort} ${order}, with no row repeated or skipped`, async () => {
        const { sql } = db();
        await seedTies(sql);
        const expected = await expectedOrder(sql, sort, order);
        const query: RunListQuery = { ...baseQuery, task: "page", sort, order, pageSize: 10 };

        const forward: number[][] = [];
        let page = await listRuns(sql, query);
        expect(page.prevCursor).toBeNull();
        for (;;) {
          forward.push(page.runs.map((run) => run.id));
          if (!page.nextCursor) break;
          // Through the URL form, as the page does.
          const cursor = decodeCursor(encodeCursor(page.nextCursor));
          expect(cursor).toEqual(page.nextCursor);
          page = await listRuns(sql, { ...query, cursor: cursor! });
          expect(forward.length).toBeLessThan(100);
        }
        expect(forward.flat()).toEqual(expected);
        expect(forward.every((ids, i) => ids.length === 10 || i === forward.length - 1)).toBe(true);

        const backward: number[][] = [page.runs.map((run) => run.id)];
        while (page.prevCursor) {
          page = await listRuns(sql, { ...query, cursor: page.prevCursor });
          backward.unshift(page.runs.map((run) => run.id));
          expect(backward.length).toBeLessThan(100);
        }
        expect(backward).toEqual(forward);
      });
    }
  }

  it("keeps its place while new runs arrive", async () => {
    const { sql } = db();
    await seedTies(sql);
    const expected = await expectedOrder(sql, "created", "desc");
    const query: RunListQuery = { ...baseQuery, task: "page", pageSize: 25 };
    const first = await listRuns(sql, query);
    for (let i = 0; i < 5; i++) await insertRun(sql, { task: "page", key: `new-${i}` });
    const seen = first.runs.map((run) => run.id);
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await listRuns(sql, { ...query, cursor });
      seen.push(...page.runs.map((run) => run.id));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(expected);
  });

  it("returns the first page when a previous-page cursor reaches the start", async () => {
    const { sql } = db();
    await seedTies(sql);
    const query: RunListQuery = { ...baseQuery, task: "page", pageSize: 10 };
    const first = await listRuns(sql, query);
    const second = await listRuns(sql, { ...query, cursor: first.nextCursor! });
    // A cursor three rows into the first page: only three rows come before it, but a whole page is shown.
    const shifted = await listRuns(sql, { ...query, cursor: { ...second.prevCursor!, at: first.runs[3]!.sortAt, id: first.runs[3]!.id } });
    expect(shifted.runs.map((run) => run.id)).toEqual(first.runs.map((run) => run.id));
    expect(shifted.prevCursor).toBeNull();
  });

  it("rejects cursors it did not make", () => {
    for (const garbage of ["", "abc", "!!!", "Zm9v", encodeURIComponent("c|n|x|1"), btoa("c|n|2026-01-01T00:00:00.000000Z|0"), btoa("x|n|2026-01-01T00:00:00.000000Z|1"), btoa("c|n|2026-01-01T00:00:00Z|1"), btoa("c|n|2026-01-01T00:00:00.000000Z|99999999999999999")]) {
      expect(decodeCursor(garbage), garbage).toBeNull();
    }
    const cursor = { sort: "finished", direction: "prev", at: "2026-01-01T00:00:00.000001Z", id: 42 } as const;
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });
});

describe("streamRuns", () => {
  it("streams the filtered runs in list order, in batches, up to the limit", async () => {
    const { sql } = db();
    const created: number[] = [];
    for (let i = 0; i < 23; i++) created.push(await insertRun(sql, { task: "export", key: `=cmd-${i}`, createdAt: `2026-02-01T00:00:${String(i).padStart(2, "0")}.123456Z` }));
    await insertRun(sql, { task: "other", key: "x" });
    const filters: RunFilters = { ...baseQuery, task: "export" };

    const batches: ExportRow[][] = [];
    for await (const batch of streamRuns(sql, filters, 17, 5)) batches.push(batch);
    expect(batches.map((batch) => batch.length)).toEqual([5, 5, 5, 2]);
    const rows = batches.flat();
    expect(rows.map((row) => row.id)).toEqual([...created].reverse().slice(0, 17));
    expect(rows[0]).toMatchObject({ task: "export", key: "=cmd-22", status: "succeeded", created_at: "2026-02-01T00:00:22.123456Z", duplicates: 0 });

    // Stopping early closes the cursor; the pool is usable afterwards.
    for await (const batch of streamRuns(sql, filters, 100, 5)) {
      expect(batch).toHaveLength(5);
      break;
    }
    expect((await listRuns(sql, { ...baseQuery, task: "export", pageSize: 200 })).runs).toHaveLength(23);
  });
});

describe("run detail reads", () => {
  it("reads a run with its lease state, and nothing for an unknown id", async () => {
    const { sql } = db();
    const id = await insertRun(sql, { key: "stuck", status: "running", leaseOwner: "w", leaseExpiresAt: "2026-01-01T00:00:00Z" });
    expect(await getRun(sql, id)).toMatchObject({ id, status: "running", leaseExpired: true, idempotencyKey: "stuck" });
    expect(await getRun(sql, 99_999_999_999)).toBeNull();
  });

  it("collapses heartbeats beyond the bound but counts all of them per lease", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "worker-a" });
    const claim = await ledger.claimRun({ task: "long", key: "k", payload: { n: 1 }, leaseMs: 60_000 });
    if (claim.outcome !== "claimed") throw new Error("expected a claim");
    await sql`
      INSERT INTO idem.run_events (run_id, kind, actor, fencing_token, at)
      SELECT ${claim.run.id}, 'heartbeat', 'worker-a', 1, now() + g * interval '10 seconds' FROM generate_series(1, 700) g`;
    await ledger.completeRun(claim.lease, { ok: true });

    const { events, heartbeats, eventsTruncated } = await listRunEvents(sql, claim.run.id);
    expect(heartbeats.total).toBe(700);
    expect(heartbeats.shown).toBe(HEARTBEATS_LIMIT);
    expect(heartbeats.byToken).toEqual([expect.objectContaining({ fencingToken: 1, count: 700 })]);
    expect(eventsTruncated).toBe(false);
    expect(events.filter((event) => event.kind !== "heartbeat").map((event) => event.kind)).toEqual(["claimed", "succeeded"]);
    const ordered = events.map((event) => event.id);
    expect(ordered).toEqual([...ordered].sort((a, b) => a - b));
  });

  it("summarises each lease's heartbeats with its first and last, and keeps every transition in order", async () => {
    const { sql } = db();
    const runId = await insertRun(sql, { key: "two-leases", status: "succeeded" });
    const event = (kind: string, actor: string, token: number, at: string) =>
      sql`INSERT INTO idem.run_events (run_id, kind, actor, fencing_token, at) VALUES (${runId}, ${kind}, ${actor}, ${token}, ${at})`;
    const heartbeats = (actor: string, token: number, from: string, count: number) =>
      sql`INSERT INTO idem.run_events (run_id, kind, actor, fencing_token, at)
          SELECT ${runId}, 'heartbeat', ${actor}, ${token}, ${from}::timestamptz + g * interval '1 second' FROM generate_series(1, ${count}::int) g`;
    // Lease 1: claimed, 300 heartbeats, taken over; lease 2: 40 heartbeats, a refused stale write from
    // lease 1 in between, then success. Kinds on both sides of 'heartbeat' in byte order.
    await event("claimed", "a", 1, "2026-01-01T00:00:00Z");
    await heartbeats("a", 1, "2026-01-01T00:00:00Z", 300);
    await event("takeover", "b", 2, "2026-01-01T01:00:00Z");
    await heartbeats("b", 2, "2026-01-01T01:00:00Z", 20);
    await event("stale_write_rejected", "a", 1, "2026-01-01T01:00:30Z");
    await heartbeats("b", 2, "2026-01-01T01:00:40Z", 20);
    await event("succeeded", "b", 2, "2026-01-01T01:02:00Z");

    const { events, heartbeats: summary } = await listRunEvents(sql, runId);
    expect(summary.total).toBe(340);
    expect(summary.byToken).toEqual([
      { fencingToken: 1, count: 300, capped: false, firstAt: new Date("2026-01-01T00:00:01Z"), lastAt: new Date("2026-01-01T00:05:00Z") },
      { fencingToken: 2, count: 40, capped: false, firstAt: new Date("2026-01-01T01:00:01Z"), lastAt: new Date("2026-01-01T01:01:00Z") },
    ]);
    expect(events.filter((event) => event.kind !== "heartbeat").map((event) => event.kind)).toEqual([
      "claimed",
      "takeover",
      "stale_write_rejected",
      "succeeded",
    ]);
    // The latest 500 heartbeats are all 340 here, in id order with the transitions between them.
    expect(summary.shown).toBe(340);
    const ordered = events.map((event) => event.id);
    expect(ordered).toEqual([...ordered].sort((a, b) => a - b));
    expect(events.map((event) => event.kind).indexOf("stale_write_rejected")).toBe(1 + 300 + 1 + 20);
  });

  it("counts no heartbeats for a run that has none", async () => {
    const { sql } = db();
    const id = await insertRun(sql, { key: "quiet" });
    expect((await listRunEvents(sql, id)).heartbeats).toEqual({ total: 0, shown: 0, byToken: [] });
  });

  it("lists duplicate attempts with the mismatched payload to diff", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "worker-b" });
    const spec = { task: "charge", key: "invoice-7", payload: { invoice: 7, cents: 1200, tags: ["a"] } };
    const first = await ledger.runOnce(spec, () => "charged");
    if (first.outcome !== "executed") throw new Error("expected execution");
    expect((await ledger.runOnce(spec, () => "again")).outcome).toBe("replayed");
    await expect(ledger.runOnce({ ...spec, payload: { invoice: 7, cents: 1300, tags: ["a", "b"], note: "<script>" } }, () => "x")).rejects.toBeInstanceOf(
      PayloadMismatchError,
    );

    const dups = await listRunDuplicates(sql, first.run.id);
    expect(dups.byOutcome).toEqual({ replayed: 1, payload_mismatch: 1 });
    expect(dups.recent.map((dup) => dup.outcome)).toEqual(["payload_mismatch", "replayed"]);
    expect(dups.mismatches).toHaveLength(1);
    const diff = diffPayloads(first.run.payload, dups.mismatches[0]!.payload);
    expect(diff.entries).toEqual([
      { kind: "changed", path: ["cents"], before: 1200, after: 1300 },
      { kind: "added", path: ["note"], after: "<script>" },
      { kind: "added", path: ["tags", 1], after: "b" },
    ]);
    const run = await getRun(sql, first.run.id);
    expect(run?.duplicateCount).toBe(2);
  });

  it("walks lineage: the parent chain to the root, children, and the whole tree", async () => {
    const { sql } = db();
    const root = await insertRun(sql, { key: "r", status: "failed" });
    const child = await insertRun(sql, { key: "r-retry-1", status: "failed", retryOf: root, rootRunId: root });
    const sibling = await insertRun(sql, { key: "r-retry-1b", status: "cancelled", retryOf: root, rootRunId: root });
    const grandchild = await insertRun(sql, { key: "r-retry-2", status: "succeeded", retryOf: child, rootRunId: root });
    const unrelated = await insertRun(sql, { key: "u" });

    const lineage = await getLineage(sql, { id: grandchild, retryOf: child, rootRunId: root });
    expect(lineage.ancestors.map((run) => run.id)).toEqual([root, child]);
    expect(lineage.children).toEqual([]);
    expect(lineage.tree.map((run) => run.id)).toEqual([root, child, sibling, grandchild]);
    expect(lineage.treeTruncated).toBe(false);

    const ofRoot = await getLineage(sql, { id: root, retryOf: null, rootRunId: root });
    expect(ofRoot.ancestors).toEqual([]);
    expect(ofRoot.children.map((run) => run.id)).toEqual([child, sibling]);

    const alone = await getLineage(sql, { id: unrelated, retryOf: null, rootRunId: unrelated });
    expect(alone.tree.map((run) => run.id)).toEqual([unrelated]);
  });
});
