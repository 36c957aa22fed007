import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "@/tests/helpers/db";
import { decodeDuplicateCursor, encodeDuplicateCursor, type DuplicateCursor } from "./duplicate-cursor";
import {
  GROUP_SCAN_LIMIT,
  duplicateFilterChoices,
  listDuplicateAttempts,
  topDuplicateKeys,
  topDuplicateSources,
  type DuplicateFilters,
} from "./duplicates";
import { createLedger } from "./ledger";

const db = useTestDatabase();

interface Attempt {
  task: string;
  key: string;
  outcome: "replayed" | "in_progress" | "payload_mismatch" | "lock_contended";
  source: string;
  worker: string;
  at: string;
  runId?: number | null;
}

async function insertAttempts(sql: postgres.Sql, attempts: Attempt[]): Promise<number[]> {
  const rows = await sql<Array<{ id: string }>>`
    INSERT INTO idem.duplicate_attempts (run_id, task_name, idempotency_key, fingerprint, outcome, worker_id, source, attempted_at)
    SELECT (a->>'runId')::bigint, a->>'task', a->>'key', 'fp', (a->>'outcome')::idem.duplicate_outcome, a->>'worker', a->>'source', (a->>'at')::timestamptz
    FROM jsonb_array_elements(${JSON.stringify(attempts)}::text::jsonb) WITH ORDINALITY AS t(a, n)
    ORDER BY n
    RETURNING id`;
  return rows.map((row) => Number(row.id));
}

async function walk(sql: postgres.Sql, filters: DuplicateFilters, pageSize: number) {
  const pages: number[][] = [];
  let cursor: DuplicateCursor | undefined;
  let last: Awaited<ReturnType<typeof listDuplicateAttempts>> | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const page = await listDuplicateAttempts(sql, { ...filters, cursor, pageSize });
    pages.push(page.attempts.map((a) => a.id));
    last = page;
    if (!page.olderCursor) break;
    cursor = page.olderCursor;
  }
  return { pages, last: last! };
}

describe("duplicates list", () => {
  it("pages newest first by (attempted_at, id), through ties and microsecond gaps, both ways", async () => {
    const { sql } = db();
    const base = "2026-03-01T10:00:00.123456Z";
    const attempts: Attempt[] = [];
    for (let i = 0; i < 7; i++) attempts.push({ task: "t", key: `k${i}`, outcome: "replayed", source: "sdk", worker: "w", at: base });
    attempts.push({ task: "t", key: "later", outcome: "replayed", source: "sdk", worker: "w", at: "2026-03-01T10:00:00.123457Z" });
    attempts.push({ task: "t", key: "earlier", outcome: "replayed", source: "sdk", worker: "w", at: "2026-03-01T10:00:00.123455Z" });
    const ids = await insertAttempts(sql, attempts);
    const expected = [ids[7]!, ...ids.slice(0, 7).reverse(), ids[8]!];

    const { pages, last } = await walk(sql, {}, 3);
    expect(pages.flat()).toEqual(expected);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3]);
    expect(last.olderCursor).toBeNull();

    // Back towards now from the last page, through cursors that went through the URL.
    let cursor = last.newerCursor;
    const back: number[][] = [];
    while (cursor) {
      const decoded = decodeDuplicateCursor(encodeDuplicateCursor(cursor));
      expect(decoded).toEqual(cursor);
      const page = await listDuplicateAttempts(sql, { cursor: decoded!, pageSize: 3 });
      back.unshift(page.attempts.map((a) => a.id));
      cursor = page.newerCursor;
    }
    expect(back).toEqual(pages.slice(0, 2));
    expect(pages[0]).toHaveLength(3);
  });

  it("filters by outcome, task, source, worker, run and time, each on its own index", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "filters" });
    const claim = await ledger.claimRun({ task: "send_email", key: "mail-1", payload: { to: "a" } });
    if (claim.outcome !== "claimed") throw new Error("expected a claim");
    await ledger.completeRun(claim.lease, null);
    await ledger.claimRun({ task: "send_email", key: "mail-1", payload: { to: "a" } });
    await ledger.claimRun({ task: "send_email", key: "mail-1", payload: { to: "b" } });
    await insertAttempts(sql, [
      { task: "charge", key: "c1", outcome: "lock_contended", source: "webhook", worker: "w-2", at: "2026-01-01T00:00:00Z", runId: null },
      { task: "charge", key: "c1", outcome: "in_progress", source: "sdk", worker: "w-3", at: "2026-01-02T00:00:00Z", runId: null },
    ]);
    const list = async (filters: DuplicateFilters) =>
      (await listDuplicateAttempts(sql, { ...filters, pageSize: 50 })).attempts.map((a) => `${a.taskName}:${a.outcome}`);

    expect(await list({})).toHaveLength(4);
    expect(await list({ outcome: "payload_mismatch" })).toEqual(["send_email:payload_mismatch"]);
    expect(await list({ task: "charge" })).toEqual(["charge:in_progress", "charge:lock_contended"]);
    expect(await list({ source: "webhook" })).toEqual(["charge:lock_contended"]);
    expect(await list({ worker: "filters" })).toEqual(["send_email:payload_mismatch", "send_email:replayed"]);
    expect(await list({ runId: claim.run.id })).toHaveLength(2);
    expect(await list({ from: new Date("2026-01-01T12:00:00Z"), to: new Date("2026-01-03T00:00:00Z") })).toEqual(["charge:in_progress"]);
    expect(await list({ task: "charge", outcome: "replayed" })).toEqual([]);

    const mismatch = (await listDuplicateAttempts(sql, { outcome: "payload_mismatch", pageSize: 1 })).attempts[0]!;
    expect(mismatch.runId).toBe(claim.run.id);
    expect(mismatch.runStatus).toBe("succeeded");
    expect(mismatch.attemptedAtText).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);

    expect(await duplicateFilterChoices(sql)).toEqual({ tasks: ["charge", "send_email"], sources: ["sdk", "webhook"] });
  });
});

describe("grouped views", () => {
  it("rank keys, sources and workers by attempts with their outcomes", async () => {
    const { sql } = db();
    const at = (minute: number) => `2026-02-01T10:${String(minute).padStart(2, "0")}:00Z`;
    await insertAttempts(sql, [
      { task: "t", key: "hot", outcome: "replayed", source: "sqs", worker: "w1", at: at(1), runId: null },
      { task: "t", key: "hot", outcome: "replayed", source: "sqs", worker: "w2", at: at(2), runId: null },
      { task: "t", key: "hot", outcome: "payload_mismatch", source: "cron", worker: "w1", at: at(3), runId: null },
      { task: "t", key: "warm", outcome: "in_progress", source: "sqs", worker: "w1", at: at(4), runId: null },
      { task: "t", key: "warm", outcome: "lock_contended", source: "sqs", worker: "w3", at: at(5), runId: null },
      { task: "u", key: "hot", outcome: "replayed", source: "sdk", worker: "w1", at: at(6), runId: null },
    ]);
    const keys = await topDuplicateKeys(sql, {});
    expect(keys.scan).toEqual({ scanned: 6, capped: false, oldestAt: null });
    expect(keys.groups.map((g) => [g.task, g.key, g.attempts])).toEqual([
      ["t", "hot", 3],
      ["t", "warm", 2],
      ["u", "hot", 1],
    ]);
    expect(keys.groups[0]!.byOutcome).toEqual({ replayed: 2, in_progress: 0, payload_mismatch: 1, lock_contended: 0 });
    expect(keys.groups[0]!.lastAt.toISOString()).toBe("2026-02-01T10:03:00.000Z");

    const grouped = await topDuplicateSources(sql, {});
    expect(grouped.sources.map((g) => [g.name, g.attempts])).toEqual([
      ["sqs", 4],
      // Ties go to the one seen most recently.
      ["sdk", 1],
      ["cron", 1],
    ]);
    expect(grouped.workers.map((g) => [g.name, g.attempts])).toEqual([
      ["w1", 4],
      ["w3", 1],
      ["w2", 1],
    ]);
    expect(grouped.workers[0]!.byOutcome).toEqual({ replayed: 2, in_progress: 1, payload_mismatch: 1, lock_contended: 0 });

    const filtered = await topDuplicateSources(sql, { task: "t", outcome: "replayed" });
    expect(filtered.sources.map((g) => [g.name, g.attempts])).toEqual([["sqs", 2]]);
    expect(filtered.scan.scanned).toBe(2);
    expect((await topDuplicateKeys(sql, { task: "nothing" })).groups).toEqual([]);
    expect(await topDuplicateSources(sql, { task: "nothing" })).toEqual({ sources: [], workers: [], scan: { scanned: 0, capped: false, oldestAt: null } });
  });

  it("read only the newest GROUP_SCAN_LIMIT attempts and say so", async () => {
    const { sql } = db();
    const extra = 50;
    await sql`
      INSERT INTO idem.duplicate_attempts (task_name, idempotency_key, fingerprint, outcome, worker_id, source, attempted_at)
      SELECT 'bulk', CASE WHEN i <= ${extra} THEN 'oldest' ELSE 'k' || (i % 100) END, 'fp', 'replayed', 'w', 'sdk',
             '2026-01-01T00:00:00Z'::timestamptz + i * interval '1 second'
      FROM generate_series(1, ${GROUP_SCAN_LIMIT + extra}) i`;
    const { groups, scan } = await topDuplicateKeys(sql, {});
    expect(scan.scanned).toBe(GROUP_SCAN_LIMIT);
    expect(scan.capped).toBe(true);
    expect(scan.oldestAt?.toISOString()).toBe(new Date(Date.parse("2026-01-01T00:00:00Z") + (extra + 1) * 1000).toISOString());
    // The 50 oldest attempts, all on one key, are outside what was read.
    expect(groups.find((g) => g.key === "oldest")).toBeUndefined();
    expect(groups[0]!.attempts).toBe(GROUP_SCAN_LIMIT / 100);
  });
});
