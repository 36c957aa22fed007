import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import { createLedger, type Ledger } from "@/lib/ledger/ledger";
import type { Json } from "@/lib/ledger/json";
import type { RunStatus } from "@/lib/ledger/schema";
import { useTestDatabase } from "@/tests/helpers/db";
import { waitFor } from "@/tests/helpers/wait";
import { performOperation, type OperationContext } from "./perform";
import { abandonOperation, abandonSchema, bulkRetryOperation, bulkRetrySchema, cancelOperation, cancelSchema, retryOperation, retrySchema } from "./run-operations";

/**
 * The run operations as the console and the API perform them: role, request id, the operation and its
 * audit row, against real Postgres.
 */

const db = useTestDatabase();

async function failedRun(ledger: Ledger, task: string, key: string, payload: Json = { key }): Promise<number> {
  await ledger
    .runOnce({ task, key, payload }, () => {
      throw new Error("connection reset by peer");
    })
    .catch(() => undefined);
  const [row] = await ledger.sql<{ id: string; status: string }[]>`SELECT id, status FROM idem.task_runs WHERE task_name = ${task} AND idempotency_key = ${key}`;
  expect(row?.status).toBe("failed");
  return Number(row!.id);
}

/** The retry form as the run detail page fills it. */
async function retryForm(sql: postgres.Sql, runId: number, extra: Record<string, string> = {}) {
  const [row] = await sql<{ status: RunStatus; updated_at: Date; retries: number }[]>`
    SELECT r.status, r.updated_at,
           (SELECT count(*) FROM idem.task_runs o WHERE o.root_run_id = r.root_run_id AND o.retry_of IS NOT NULL)::int AS retries
    FROM idem.task_runs r WHERE r.id = ${runId}`;
  return retrySchema.parse({ runId: String(runId), seenStatus: row!.status, seenUpdatedAt: row!.updated_at.toISOString(), seenRetries: String(row!.retries), ...extra });
}

const as = (sql: postgres.Sql, requestId: string, name = "olivia", role: "viewer" | "operator" | "admin" = "operator"): OperationContext => ({
  actor: { name, role, via: "console" },
  requestId,
  sql,
});

async function childrenOf(sql: postgres.Sql, parent: number) {
  return sql<{ id: number; key: string }[]>`SELECT id::int, idempotency_key AS key FROM idem.task_runs WHERE retry_of = ${parent} ORDER BY id`;
}

async function auditRows(sql: postgres.Sql) {
  return sql<{ actor: string; action: string; target_id: string; outcome: string; request_id: string; detail: Record<string, Json> }[]>`
    SELECT actor, action, target_id, outcome, request_id, outcome_detail AS detail FROM idem.operator_actions ORDER BY id`;
}

describe("retry through performOperation", () => {
  it("writes the child run and its audit row in one transaction: when the audit row cannot be written, no child is left behind", async () => {
    const { sql } = db();
    const parent = await failedRun(createLedger({ sql }), "send_email", "audit-fails");
    await sql.unsafe(`
      CREATE FUNCTION idem.test_refuse_done() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit storage full'; END $$;
      CREATE TRIGGER test_refuse_done BEFORE INSERT ON idem.operator_actions FOR EACH ROW WHEN (NEW.outcome = 'done')
        EXECUTE FUNCTION idem.test_refuse_done();`);

    const performed = await performOperation(retryOperation, await retryForm(sql, parent), as(sql, "req-audit-fails"));
    expect(performed).toMatchObject({ ok: false, kind: "error", code: "INTERNAL" });
    expect(await childrenOf(sql, parent)).toEqual([]);
    const [events] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.run_events WHERE kind IN ('created', 'retried') AND actor = 'olivia'`;
    expect(events!.n).toBe(0);
    // What is audited is what happened: an error, and nothing done.
    expect((await auditRows(sql)).map((r) => [r.action, r.outcome])).toEqual([["run.retry", "error"]]);

    // Once the log can be written again, the same retry goes through.
    await sql`DROP TRIGGER test_refuse_done ON idem.operator_actions`;
    const again = await performOperation(retryOperation, await retryForm(sql, parent), as(sql, "req-audit-works"));
    expect(again).toMatchObject({ ok: true });
    expect(await childrenOf(sql, parent)).toHaveLength(1);
  });

  it("a resubmitted request id gets the first answer with its data; the same id for another run is refused and does nothing", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const a = await failedRun(ledger, "send_email", "reuse-a");
    const b = await failedRun(ledger, "send_email", "reuse-b");
    const formA = await retryForm(sql, a);

    const first = await performOperation(retryOperation, formA, as(sql, "fixed-req-01"));
    const [child] = await childrenOf(sql, a);
    expect(first).toEqual({ ok: true, repeated: false, message: expect.stringMatching(/^Retry created: run #/), data: { childRunId: child!.id, childKey: "reuse-a#retry-1" } });

    const again = await performOperation(retryOperation, formA, as(sql, "fixed-req-01"));
    expect(again).toEqual({ ok: true, repeated: true, message: `Already submitted: ${first.message}`, data: { childRunId: child!.id, childKey: "reuse-a#retry-1" } });

    const other = await performOperation(retryOperation, await retryForm(sql, b), as(sql, "fixed-req-01"));
    expect(other).toMatchObject({ ok: false, kind: "refused", code: "CONFLICT", repeated: true });
    if (other.ok) throw new Error("unreachable");
    expect(other.message).toBe(
      `Refused: request id fixed-req-01 was already used for a different request (run.retry on run #${a}); nothing was done. Submit this one as a new request (reopen the dialog, or send a new X-Request-Id).`,
    );
    expect(await childrenOf(sql, b)).toEqual([]);

    // The same run with another input (an edited payload) under the same id is another request too.
    const edited = await performOperation(retryOperation, { ...formA, editPayload: true, payload: '{"key":"x"}' }, as(sql, "fixed-req-01"));
    expect(edited).toMatchObject({ ok: false, code: "CONFLICT", repeated: true });
    // Another actor's request id is their own.
    expect(await performOperation(retryOperation, await retryForm(sql, b), as(sql, "fixed-req-01", "sam"))).toMatchObject({ ok: true, repeated: false });
    expect((await auditRows(sql)).map((r) => [r.actor, r.target_id, r.outcome])).toEqual([
      ["olivia", String(a), "done"],
      ["sam", String(b), "done"],
    ]);
  });

  it("a request id whose earlier request was refused may carry the corrected request: it runs, and each is replayed as itself", async () => {
    const { sql } = db();
    const parent = await failedRun(createLedger({ sql }), "send_email", "corrected");
    const form = await retryForm(sql, parent);
    // First submitted with a stale view (refused), then with the fresh one under the same id.
    const stale = { ...form, seenRetries: 3 };
    expect(await performOperation(retryOperation, stale, as(sql, "req-corrected-1"))).toMatchObject({ ok: false, kind: "refused", repeated: false });
    const fresh = await performOperation(retryOperation, form, as(sql, "req-corrected-1"));
    expect(fresh).toMatchObject({ ok: true, repeated: false });
    expect(await childrenOf(sql, parent)).toHaveLength(1);
    expect(await performOperation(retryOperation, form, as(sql, "req-corrected-1"))).toMatchObject({ ok: true, repeated: true });
    expect(await performOperation(retryOperation, stale, as(sql, "req-corrected-1"))).toMatchObject({ ok: false, repeated: true, message: expect.stringMatching(/^Already submitted: Refused/) });
    expect((await auditRows(sql)).map((r) => r.outcome)).toEqual(["refused", "done"]);
  });

  it("the same request id submitted 10 times at once runs once: one child, one audit row, every answer links the child", async () => {
    const { sql, connect } = db();
    const parent = await failedRun(createLedger({ sql }), "charge_invoice", "double-click");
    const form = await retryForm(sql, parent);
    const pool = connect({ max: 12 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => performOperation(retryOperation, form, as(pool, "req-double-click"))));

    const children = await childrenOf(sql, parent);
    expect(children).toHaveLength(1);
    const data = { childRunId: children[0]!.id, childKey: "double-click#retry-1" };
    expect(answers.filter((a) => a.ok && !a.repeated)).toHaveLength(1);
    expect(answers.filter((a) => a.ok && a.repeated)).toHaveLength(9);
    for (const answer of answers) expect(answer).toMatchObject({ ok: true, data });
    expect((await auditRows(sql)).map((r) => [r.request_id, r.outcome])).toEqual([["req-double-click", "done"]]);
  });

  it("20 operators retrying the same view at once through the console path: one child, one done row, 19 refusals that name it", async () => {
    const { sql, connect } = db();
    const parent = await failedRun(createLedger({ sql }), "charge_invoice", "inv-20");
    const form = await retryForm(sql, parent);
    const pool = connect({ max: 20 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => performOperation(retryOperation, form, as(pool, `req-operator-${i}`, `operator-${i}`))),
    );
    const children = await childrenOf(sql, parent);
    expect(children).toHaveLength(1);
    expect(answers.filter((a) => a.ok)).toHaveLength(1);
    for (const answer of answers.filter((a) => !a.ok)) {
      expect(answer).toMatchObject({ ok: false, kind: "refused", code: "CONFLICT", message: `Already retried as run #${children[0]!.id} (inv-20#retry-1), now pending.` });
    }
    const rows = await auditRows(sql);
    expect(rows).toHaveLength(20);
    expect(rows.filter((r) => r.outcome === "done").map((r) => r.detail.childRunId)).toEqual([children[0]!.id]);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(20);
    expect(rows.filter((r) => r.outcome === "refused").every((r) => r.detail.why === "already_retried" && r.detail.otherRunId === children[0]!.id)).toBe(true);
  });

  it("an edited payload that is not JSON is refused with the parser's reason, and audited, even when the reason quotes half an emoji", async () => {
    const { sql } = db();
    const parent = await failedRun(createLedger({ sql }), "send_email", "emoji-edit");
    const form = await retryForm(sql, parent, { editPayload: "on", payload: "🔥💥✅" });
    const performed = await performOperation(retryOperation, form, as(sql, "req-emoji-1"));
    expect(performed).toMatchObject({ ok: false, kind: "refused", code: "VALIDATION", message: expect.stringMatching(/^payload: is not valid JSON \(Unexpected token '\uFFFD'/) });
    expect(await childrenOf(sql, parent)).toEqual([]);
    expect((await auditRows(sql)).map((r) => [r.outcome, r.detail.code])).toEqual([["refused", "VALIDATION"]]);
  });

  it("a viewer is refused by role, audited, and nothing is created", async () => {
    const { sql } = db();
    const parent = await failedRun(createLedger({ sql }), "send_email", "viewer-try");
    const performed = await performOperation(retryOperation, await retryForm(sql, parent), as(sql, "req-viewer-1", "vic", "viewer"));
    expect(performed).toMatchObject({ ok: false, kind: "forbidden" });
    expect(await childrenOf(sql, parent)).toEqual([]);
    expect((await auditRows(sql)).map((r) => [r.actor, r.outcome, r.detail.why])).toEqual([["vic", "refused", "forbidden"]]);
  });
});

describe("bulk retry through performOperation (the console's path)", () => {
  it("retries each selected run on its own precondition, with one request row and one run.retry row per run", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const ids = [await failedRun(ledger, "send_email", "bulk-a"), await failedRun(ledger, "send_email", "bulk-b"), await failedRun(ledger, "send_email", "bulk-c")];
    const seen = await Promise.all(ids.map((id) => retryForm(sql, id)));
    const input = bulkRetrySchema.parse({
      run: seen.map((s) => JSON.stringify({ id: s.runId, status: s.seenStatus, updatedAt: s.seenUpdatedAt.toISOString(), retries: s.seenRetries })),
      reason: "SMTP relay is back",
    });
    // Between the view and the confirmation, someone retries b on their own.
    expect(await performOperation(retryOperation, seen[1]!, as(sql, "req-sam-single", "sam"))).toMatchObject({ ok: true });

    const performed = await performOperation(bulkRetryOperation, input, as(sql, "req-bulk-0001"));
    expect(performed).toMatchObject({ ok: true, message: expect.stringMatching(/^3 selected: 2 retried, 1 refused\. #\d+: Already retried as run #\d+/) });
    const [childA] = await childrenOf(sql, ids[0]!);
    const [childC] = await childrenOf(sql, ids[2]!);
    expect(await childrenOf(sql, ids[1]!)).toHaveLength(1);

    const rows = (await auditRows(sql)).filter((r) => r.actor === "olivia");
    expect(rows.map((r) => [r.action, r.target_id, r.outcome, r.request_id])).toEqual([
      ["run.retry", String(ids[0]), "done", "req-bulk-0001/1"],
      ["run.retry", String(ids[1]), "refused", "req-bulk-0001/2"],
      ["run.retry", String(ids[2]), "done", "req-bulk-0001/3"],
      ["run.retry_bulk", "3 selected", "done", "req-bulk-0001"],
    ]);
    expect(rows[0]!.detail.childRunId).toBe(childA!.id);
    expect(rows[2]!.detail.childRunId).toBe(childC!.id);
    expect(rows[3]!.detail).toMatchObject({ selected: 3, created: 2, refused: 1 });

    // Submitted again (a double click): the first answer, nothing new.
    const again = await performOperation(bulkRetryOperation, input, as(sql, "req-bulk-0001"));
    expect(again).toMatchObject({ ok: true, repeated: true });
    expect(await auditRows(sql)).toHaveLength(5);
  });

  it("when the request's audit row cannot be written, none of the selection is retried", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const ids = [await failedRun(ledger, "send_email", "bulk-x"), await failedRun(ledger, "send_email", "bulk-y")];
    const seen = await Promise.all(ids.map((id) => retryForm(sql, id)));
    await sql.unsafe(`
      CREATE FUNCTION idem.test_refuse_bulk() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit storage full'; END $$;
      CREATE TRIGGER test_refuse_bulk BEFORE INSERT ON idem.operator_actions FOR EACH ROW WHEN (NEW.action = 'run.retry_bulk' AND NEW.outcome = 'done')
        EXECUTE FUNCTION idem.test_refuse_bulk();`);
    const input = bulkRetrySchema.parse({
      run: seen.map((s) => JSON.stringify({ id: s.runId, status: s.seenStatus, updatedAt: s.seenUpdatedAt.toISOString(), retries: s.seenRetries })),
      reason: "relay back",
    });
    expect(await performOperation(bulkRetryOperation, input, as(sql, "req-bulk-fails"))).toMatchObject({ ok: false, kind: "error" });
    for (const id of ids) expect(await childrenOf(sql, id)).toEqual([]);
    expect((await auditRows(sql)).map((r) => [r.action, r.outcome])).toEqual([["run.retry_bulk", "error"]]);
  });
});

describe("cancel and abandon through performOperation", () => {
  it("audit what the operator saw: the attempt of the pending run, the lease token and expiry of the stuck one", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "gone" });
    const pending = await ledger.claimRun({ task: "sync_crm", key: "c-1", payload: {}, maxAttempts: 3 });
    if (pending.outcome !== "claimed") throw new Error("expected a claim");
    await ledger.failRun(pending.lease, new Error("503"), { retryable: true, backoffMs: 60_000 });
    const stale = cancelSchema.parse({ runId: String(pending.run.id), seenAttempt: "0", reason: "superseded" });
    expect(await performOperation(cancelOperation, stale, as(sql, "req-cancel-stale"))).toMatchObject({ ok: false, kind: "refused", message: expect.stringMatching(/ran since you looked/) });
    const fresh = cancelSchema.parse({ runId: String(pending.run.id), seenAttempt: "1", reason: "superseded" });
    expect(await performOperation(cancelOperation, fresh, as(sql, "req-cancel-fresh"))).toMatchObject({ ok: true });

    const stuck = await ledger.claimRun({ task: "sync_crm", key: "c-2", payload: {}, leaseMs: 100 });
    if (stuck.outcome !== "claimed") throw new Error("expected a claim");
    const [lease] = await sql<{ expires: Date }[]>`SELECT lease_expires_at AS expires FROM idem.task_runs WHERE id = ${stuck.run.id}`;
    await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${stuck.run.id} AND lease_expires_at < now()`).length > 0, { what: "the lease to expire" });
    const abandon = abandonSchema.parse({ runId: String(stuck.run.id), leaseToken: stuck.lease.token, seenLeaseExpiresAt: lease!.expires.toISOString(), reason: "host gone" });
    expect(await performOperation(abandonOperation, abandon, as(sql, "req-abandon-1"))).toMatchObject({ ok: true });

    const rows = await sql<{ action: string; outcome: string; precondition: Record<string, Json> }[]>`
      SELECT action, outcome, precondition FROM idem.operator_actions ORDER BY id`;
    expect(rows).toEqual([
      { action: "run.cancel", outcome: "refused", precondition: { status: "pending", attempt: 0 } },
      { action: "run.cancel", outcome: "done", precondition: { status: "pending", attempt: 1 } },
      { action: "run.abandon", outcome: "done", precondition: { status: "running", leaseToken: stuck.lease.token, leaseExpiresAt: lease!.expires.toISOString() } },
    ]);
  });
});
