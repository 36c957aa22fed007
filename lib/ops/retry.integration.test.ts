import { createHash } from "node:crypto";
import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import { createLedger, type Ledger } from "@/lib/ledger/ledger";
import type { Json } from "@/lib/ledger/json";
import type { RunStatus } from "@/lib/ledger/schema";
import { useTestDatabase } from "@/tests/helpers/db";
import { waitFor } from "@/tests/helpers/wait";
import { parseEditedPayload, previewRetryKey, retryRun, type RetrySeen } from "./retry";

const db = useTestDatabase();

/** A run that failed for good (one attempt), through the SDK as a worker would leave it. */
async function failedRun(ledger: Ledger, task: string, key: string, payload: Json = { key }): Promise<number> {
  const error = await ledger
    .runOnce({ task, key, payload }, () => {
      throw new Error("connection reset by peer");
    })
    .then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(Error);
  const [row] = await ledger.sql<{ id: string }[]>`SELECT id FROM idem.task_runs WHERE task_name = ${task} AND idempotency_key = ${key}`;
  return Number(row!.id);
}

/** What the run detail page shows the operator: the run's state and its lineage's retry count. */
async function seenOf(sql: postgres.Sql, runId: number): Promise<RetrySeen> {
  const [row] = await sql<{ status: RunStatus; updated_at: Date; retries: number }[]>`
    SELECT r.status, r.updated_at,
           (SELECT count(*) FROM idem.task_runs o WHERE o.root_run_id = r.root_run_id AND o.retry_of IS NOT NULL)::int AS retries
    FROM idem.task_runs r WHERE r.id = ${runId}`;
  return { status: row!.status, updatedAt: row!.updated_at, retries: row!.retries };
}

const who = { actor: "olivia", reason: "the SMTP relay is back", requestId: "req-12345678" };

async function runsOf(sql: postgres.Sql, rootId: number) {
  return sql<{ id: number; key: string; status: string; retry_of: number | null; root_run_id: number; created_by: string | null; source: string }[]>`
    SELECT id::int, idempotency_key AS key, status::text, retry_of::int, root_run_id::int, created_by, source
    FROM idem.task_runs WHERE root_run_id = ${rootId} ORDER BY id`;
}

describe("retryRun", () => {
  it("creates a pending run under <root key>#retry-1 with lineage, a created event and a parent event", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const parent = await failedRun(ledger, "send_email", "welcome-42", { to: "ana@example.com" });
    const result = await retryRun(sql, { runId: parent, seen: await seenOf(sql, parent), ...who });
    expect(result).toMatchObject({ outcome: "created", childKey: "welcome-42#retry-1", payloadEdited: false });
    if (result.outcome !== "created") throw new Error("unreachable");

    const [child] = await sql<Record<string, unknown>[]>`
      SELECT c.status::text, c.attempt, c.fencing_token::int, c.retry_of::int, c.root_run_id::int, c.payload, c.fingerprint = p.fingerprint AS same_fp,
             c.max_attempts, c.source, c.created_by, c.lease_token
      FROM idem.task_runs c JOIN idem.task_runs p ON p.id = c.retry_of WHERE c.id = ${result.childId}`;
    expect(child).toEqual({
      status: "pending",
      attempt: 0,
      fencing_token: 0,
      retry_of: parent,
      root_run_id: parent,
      payload: { to: "ana@example.com" },
      same_fp: true,
      max_attempts: 1,
      source: "console",
      created_by: "olivia",
      lease_token: null,
    });
    const events = await sql<{ run_id: number; kind: string; actor: string; detail: Record<string, Json> }[]>`
      SELECT run_id::int, kind, actor, detail FROM idem.run_events WHERE actor = 'olivia' ORDER BY kind`;
    expect(events).toEqual([
      {
        run_id: result.childId,
        kind: "created",
        actor: "olivia",
        detail: { retry_of: parent, root_run_id: parent, reason: who.reason, payload_edited: false, request_id: who.requestId },
      },
      {
        run_id: parent,
        kind: "retried",
        actor: "olivia",
        detail: { child_run_id: result.childId, child_key: "welcome-42#retry-1", reason: who.reason, payload_edited: false, request_id: who.requestId },
      },
    ]);
  });

  it("20 concurrent retries of the same view create exactly one child; the others are told which", async () => {
    const { sql, connect } = db();
    const ledger = createLedger({ sql });
    const parent = await failedRun(ledger, "charge_invoice", "inv-2024-0042");
    const seen = await seenOf(sql, parent);
    const pool = connect({ max: 20 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => retryRun(pool, { runId: parent, seen, actor: `operator-${i}`, reason: null, requestId: `req-${i}-abcdefgh` })),
    );
    const created = results.filter((r) => r.outcome === "created");
    expect(created).toHaveLength(1);
    const childId = created[0]!.outcome === "created" ? created[0]!.childId : -1;
    const refused = results.filter((r) => r.outcome === "refused");
    expect(refused).toHaveLength(19);
    for (const r of refused) expect(r).toMatchObject({ why: "already_retried", otherRunId: childId, childKey: "inv-2024-0042#retry-1" });
    expect(refused[0]!.message).toMatch(new RegExp(`Already retried as run #${childId}`));

    const runs = await runsOf(sql, parent);
    expect(runs.map((r) => r.key)).toEqual(["inv-2024-0042", "inv-2024-0042#retry-1"]);
    const [events] = await sql<{ created: number; retried: number }[]>`
      SELECT count(*) FILTER (WHERE kind = 'created')::int AS created, count(*) FILTER (WHERE kind = 'retried')::int AS retried FROM idem.run_events`;
    expect(events).toEqual({ created: 1, retried: 1 });
  });

  it("a second submission of the same view after the first committed (another tab) is told it was already retried", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const parent = await failedRun(ledger, "send_email", "tab-1");
    const seen = await seenOf(sql, parent);
    const first = await retryRun(sql, { runId: parent, seen, ...who });
    const second = await retryRun(sql, { runId: parent, seen, ...who, requestId: "req-other-tab" });
    expect(first.outcome).toBe("created");
    expect(second).toMatchObject({ outcome: "refused", why: "already_retried", otherRunId: first.outcome === "created" ? first.childId : -1 });
  });

  it("a run that changed state since it was viewed is refused and nothing is created", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const claim = await ledger.claimRun({ task: "transcode_file", key: "video-7", payload: { id: 7 } });
    if (claim.outcome !== "claimed") throw new Error("expected a claim");
    const seenWhileRunning = await seenOf(sql, claim.run.id);
    await ledger.failRun(claim.lease, new Error("ffmpeg exited with 1"), { retryable: false });

    const result = await retryRun(sql, { runId: claim.run.id, seen: seenWhileRunning, ...who });
    expect(result).toMatchObject({ outcome: "refused", why: "state_changed" });
    expect(result.message).toBe(`Refused: run #${claim.run.id} is now failed; you saw it running. Nothing was created; reload and decide again.`);

    // The same status but an older updated_at is a different state too.
    const stale = { ...(await seenOf(sql, claim.run.id)), updatedAt: seenWhileRunning.updatedAt };
    expect(await retryRun(sql, { runId: claim.run.id, seen: stale, ...who })).toMatchObject({ outcome: "refused", why: "state_changed" });
    expect(await runsOf(sql, claim.run.id)).toHaveLength(1);
  });

  it("refuses runs that are not failed, and unknown runs", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    await ledger.runOnce({ task: "send_email", key: "fine", payload: {} }, () => "sent");
    const [ok] = await sql<{ id: string }[]>`SELECT id FROM idem.task_runs WHERE idempotency_key = 'fine'`;
    const id = Number(ok!.id);
    expect(await retryRun(sql, { runId: id, seen: await seenOf(sql, id), ...who })).toMatchObject({
      outcome: "refused",
      why: "not_retryable",
      message: `Refused: run #${id} is succeeded; only failed runs can be retried.`,
    });
    expect(await retryRun(sql, { runId: 999_999, seen: { status: "failed", updatedAt: new Date(), retries: 0 }, ...who })).toMatchObject({
      outcome: "refused",
      why: "not_found",
    });
  });

  it("refuses while a retry of the run is pending, and once a newer retry of it succeeded", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const parent = await failedRun(ledger, "sync_crm", "contact-9");
    const first = await retryRun(sql, { runId: parent, seen: await seenOf(sql, parent), ...who });
    if (first.outcome !== "created") throw new Error("expected a child");

    // A fresh view (one retry in the lineage) still may not start a second copy while the first is pending.
    const inFlight = await retryRun(sql, { runId: parent, seen: await seenOf(sql, parent), ...who });
    expect(inFlight).toMatchObject({ outcome: "refused", why: "retry_in_flight", otherRunId: first.childId });

    const worker = ledger.startWorker({ pollMs: 20, handlers: { sync_crm: () => ({ synced: true }) } });
    try {
      await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${first.childId} AND status = 'succeeded'`).length > 0, { what: "the retry to succeed" });
    } finally {
      await worker.stop();
    }
    const again = await retryRun(sql, { runId: parent, seen: await seenOf(sql, parent), ...who });
    expect(again).toMatchObject({ outcome: "refused", why: "retry_succeeded", otherRunId: first.childId });
    expect(again.message).toBe(`Refused: a retry of run #${parent} already succeeded (run #${first.childId}).`);
  });

  it("refuses when the same operation already succeeded under another key of the same root, and says which", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const root = await failedRun(ledger, "webhook_deliver", "evt-1", { event: "invoice.paid", id: 1 });
    // root → retry-1 (failed) → retry-2 (succeeded): all the same operation.
    const r1 = await retryRun(sql, { runId: root, seen: await seenOf(sql, root), ...who });
    if (r1.outcome !== "created") throw new Error("expected retry-1");
    await sql`UPDATE idem.task_runs SET status = 'failed', finished_at = now(), updated_at = now() WHERE id = ${r1.childId}`;
    const r2 = await retryRun(sql, { runId: r1.childId, seen: await seenOf(sql, r1.childId), ...who });
    if (r2.outcome !== "created") throw new Error("expected retry-2");
    await sql`UPDATE idem.task_runs SET status = 'succeeded', finished_at = now(), updated_at = now() WHERE id = ${r2.childId}`;

    // Retrying the root again: its own child failed, but a retry further down its line succeeded,
    // and a lightly edited payload does not get around that.
    const result = await retryRun(sql, { runId: root, seen: await seenOf(sql, root), ...who });
    expect(result).toMatchObject({ outcome: "refused", why: "retry_succeeded", otherRunId: r2.childId });
    expect(result.message).toBe(`Refused: a retry of run #${root} already succeeded (run #${r2.childId}).`);
    const edited = await retryRun(sql, { runId: root, seen: await seenOf(sql, root), payload: { event: "invoice.paid", id: 1, note: "again" }, ...who });
    expect(edited).toMatchObject({ outcome: "refused", why: "retry_succeeded", otherRunId: r2.childId });
    // retry-1 too: its child succeeded.
    expect(await retryRun(sql, { runId: r1.childId, seen: await seenOf(sql, r1.childId), ...who })).toMatchObject({ why: "retry_succeeded" });
    expect(await runsOf(sql, root)).toHaveLength(3);
  });

  it("refuses when the same operation succeeded on another branch of the root, and says which; a different operation goes through", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const root = await failedRun(ledger, "webhook_deliver", "evt-9", { event: "invoice.paid", id: 9 });
    const fail = (id: number) => sql`UPDATE idem.task_runs SET status = 'failed', finished_at = now(), updated_at = now() WHERE id = ${id}`;
    // root -> retry-1 (same payload, failed); root -> retry-2 (edited, failed); retry-1 -> retry-3 (same payload, succeeded).
    const r1 = await retryRun(sql, { runId: root, seen: await seenOf(sql, root), ...who });
    if (r1.outcome !== "created") throw new Error(r1.message);
    await fail(r1.childId);
    const r2 = await retryRun(sql, { runId: root, seen: await seenOf(sql, root), payload: { event: "invoice.paid", id: 10 }, ...who });
    if (r2.outcome !== "created") throw new Error(r2.message);
    await fail(r2.childId);
    const r3 = await retryRun(sql, { runId: r1.childId, seen: await seenOf(sql, r1.childId), ...who });
    if (r3.outcome !== "created") throw new Error(r3.message);
    await sql`UPDATE idem.task_runs SET status = 'succeeded', finished_at = now(), updated_at = now() WHERE id = ${r3.childId}`;

    // retry-2's own line has no success, but editing it back to the original operation meets retry-3's.
    const back = await retryRun(sql, { runId: r2.childId, seen: await seenOf(sql, r2.childId), payload: { id: 9, event: "invoice.paid" }, ...who });
    expect(back).toMatchObject({ outcome: "refused", why: "operation_succeeded", otherRunId: r3.childId });
    expect(back.message).toBe(`Refused: the same operation (same payload fingerprint) already succeeded in this lineage, as run #${r3.childId}.`);
    // Its own operation (id 10) has not succeeded anywhere: retrying it is allowed.
    expect(await retryRun(sql, { runId: r2.childId, seen: await seenOf(sql, r2.childId), ...who })).toMatchObject({ outcome: "created", childKey: "evt-9#retry-4" });
  });

  it("a run fingerprinted over chosen fields cannot be retried with an edited payload (the edit would escape the same-operation checks)", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    await ledger
      .runOnce({ task: "charge_invoice", key: "inv-fields", payload: { invoice: 5, cents: 900, traceId: "t-1" }, fingerprintFields: ["invoice", "cents"] }, () => {
        throw new Error("gateway timeout");
      })
      .catch(() => undefined);
    const [row] = await sql<{ id: string; fingerprint: string }[]>`SELECT id, fingerprint FROM idem.task_runs WHERE idempotency_key = 'inv-fields'`;
    const parent = Number(row!.id);

    const edited = await retryRun(sql, { runId: parent, seen: await seenOf(sql, parent), payload: { invoice: 5, cents: 900, traceId: "t-2" }, ...who });
    expect(edited).toMatchObject({ outcome: "refused", why: "payload_not_editable" });
    expect(edited.message).toMatch(/fingerprinted over chosen fields of its payload \(fingerprintFields\)/);
    expect(await runsOf(sql, parent)).toHaveLength(1);

    // The unchanged payload (even re-ordered) is the same operation: retried, keeping the fields fingerprint.
    const same = await retryRun(sql, { runId: parent, seen: await seenOf(sql, parent), payload: { traceId: "t-1", cents: 900, invoice: 5 }, ...who });
    expect(same).toMatchObject({ outcome: "created", payloadEdited: false });
    const [child] = await sql<{ fingerprint: string }[]>`SELECT fingerprint FROM idem.task_runs WHERE retry_of = ${parent}`;
    expect(child!.fingerprint).toBe(row!.fingerprint);
  });

  it("skips retry keys that other runs hold, so a client's own 'x#retry-1' does not block the lineage", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    // A client submitted these keys itself, as runs of their own.
    await ledger.runOnce({ task: "send_email", key: "x#retry-1", payload: { mine: 1 } }, () => "sent");
    await failedRun(ledger, "send_email", "x#retry-3", { mine: 3 });
    const root = await failedRun(ledger, "send_email", "x");
    expect(await previewRetryKey(sql, root, 0)).toBe("x#retry-2");

    const first = await retryRun(sql, { runId: root, seen: await seenOf(sql, root), ...who });
    expect(first).toMatchObject({ outcome: "created", childKey: "x#retry-2" });
    if (first.outcome !== "created") throw new Error("unreachable");
    await sql`UPDATE idem.task_runs SET status = 'failed', finished_at = now(), updated_at = now() WHERE id = ${first.childId}`;
    const second = await retryRun(sql, { runId: first.childId, seen: await seenOf(sql, first.childId), ...who });
    expect(second).toMatchObject({ outcome: "created", childKey: "x#retry-4" });
    // The same key under another task is no obstacle (keys are unique per task).
    expect((await runsOf(sql, root)).map((r) => r.key)).toEqual(["x", "x#retry-2", "x#retry-4"]);

    // A stale view still derives a key of this lineage, and is refused as such (not moved past it).
    const stale = await retryRun(sql, { runId: root, seen: { ...(await seenOf(sql, root)), retries: 0 }, ...who });
    expect(stale).toMatchObject({ outcome: "refused", why: "already_retried", childKey: "x#retry-2" });
    expect(await runsOf(sql, root)).toHaveLength(3);
  });

  it("a root key too long for the suffix gets a hashed retry key that fits, generation after generation", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const longKey = "€".repeat(168) + "ab"; // 506 bytes: "#retry-1" would make 514
    const root = await failedRun(ledger, "send_email", longKey);
    const first = await retryRun(sql, { runId: root, seen: await seenOf(sql, root), ...who });
    if (first.outcome !== "created") throw new Error(first.message);
    const hash = createHash("sha256").update(longKey, "utf8").digest("hex");
    expect(first.childKey).toBe(`${"€".repeat(100)}#${hash}#retry-1`);
    expect(Buffer.byteLength(first.childKey)).toBeLessThanOrEqual(512);
    await sql`UPDATE idem.task_runs SET status = 'failed', finished_at = now(), updated_at = now() WHERE id = ${first.childId}`;
    const second = await retryRun(sql, { runId: first.childId, seen: await seenOf(sql, first.childId), ...who });
    expect(second).toMatchObject({ outcome: "created", childKey: `${"€".repeat(100)}#${hash}#retry-2` });
    // A key that still fits with the suffix keeps the plain form.
    const fits = await failedRun(ledger, "send_email", "k".repeat(504));
    expect(await retryRun(sql, { runId: fits, seen: await seenOf(sql, fits), ...who })).toMatchObject({ outcome: "created", childKey: `${"k".repeat(504)}#retry-1` });
  });

  it("an edited payload is stored with its own fingerprint; an unchanged one keeps the run's", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const parent = await failedRun(ledger, "resize_image", "img-1", { width: 640, src: "s3://bucket/a.png" });
    const same = await retryRun(sql, { runId: parent, seen: await seenOf(sql, parent), payload: { src: "s3://bucket/a.png", width: 640 }, ...who });
    expect(same).toMatchObject({ outcome: "created", payloadEdited: false });
    if (same.outcome !== "created") throw new Error("unreachable");
    await sql`UPDATE idem.task_runs SET status = 'failed', finished_at = now(), updated_at = now() WHERE id = ${same.childId}`;

    const edited = await retryRun(sql, { runId: same.childId, seen: await seenOf(sql, same.childId), payload: { width: 320, src: "s3://bucket/a.png" }, ...who });
    if (edited.outcome !== "created") throw new Error(`expected a child, got ${edited.message}`);
    const rows = await sql<{ id: number; fingerprint: string; payload: Json }[]>`
      SELECT id::int, fingerprint, payload FROM idem.task_runs WHERE root_run_id = ${parent} ORDER BY id`;
    expect(rows[1]!.fingerprint).toBe(rows[0]!.fingerprint);
    expect(rows[2]!.fingerprint).not.toBe(rows[0]!.fingerprint);
    expect(rows[2]!.payload).toEqual({ width: 320, src: "s3://bucket/a.png" });

    expect(() => parseEditedPayload("{ width: 1 }")).toThrow(/payload: is not valid JSON/);
    expect(() => parseEditedPayload('"\\u0000"')).toThrow(/U\+0000/);
    expect(parseEditedPayload(' {"a": [1, 2]} ')).toEqual({ a: [1, 2] });
  });

  it("a stale view of the lineage is refused: someone else retried another run of it meanwhile", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const root = await failedRun(ledger, "send_email", "digest-7");
    const r1 = await retryRun(sql, { runId: root, seen: await seenOf(sql, root), ...who });
    if (r1.outcome !== "created") throw new Error("expected retry-1");
    await sql`UPDATE idem.task_runs SET status = 'failed', finished_at = now(), updated_at = now() WHERE id = ${r1.childId}`;

    // Two operators look at the lineage (one retry so far): one at the root, one at retry-1.
    const seenRoot = await seenOf(sql, root);
    const seenChild = await seenOf(sql, r1.childId);
    const byChild = await retryRun(sql, { runId: r1.childId, seen: seenChild, ...who });
    expect(byChild).toMatchObject({ outcome: "created", childKey: "digest-7#retry-2" });
    const byRoot = await retryRun(sql, { runId: root, seen: seenRoot, ...who });
    expect(byRoot).toMatchObject({ outcome: "refused", why: "lineage_changed" });
    expect(byRoot.message).toMatch(/digest-7#retry-2 is already run #\d+, a retry of run #\d+\. Reload to see it\./);
  });

  it("a worker executes the pending retry, and the lineage holds across three generations", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "executor" });
    const root = await failedRun(ledger, "charge_invoice", "inv-77", { invoice: 77, cents: 1250 });
    const attempts: string[] = [];
    const worker = ledger.startWorker({
      pollMs: 60_000,
      onError: () => undefined,
      handlers: {
        charge_invoice: (ctx) => {
          attempts.push(ctx.key);
          if (ctx.key.endsWith("#retry-1")) throw new Error("card_declined");
          return { charged: 1250, key: ctx.key };
        },
      },
    });
    try {
      await worker.ready;
      const first = await retryRun(sql, { runId: root, seen: await seenOf(sql, root), ...who });
      if (first.outcome !== "created") throw new Error(first.message);
      await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${first.childId} AND status = 'failed'`).length > 0, { what: "retry-1 to fail" });
      const second = await retryRun(sql, { runId: first.childId, seen: await seenOf(sql, first.childId), ...who });
      if (second.outcome !== "created") throw new Error(second.message);
      await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${second.childId} AND status = 'succeeded'`).length > 0, {
        what: "retry-2 to succeed",
      });
    } finally {
      await worker.stop();
    }
    expect(attempts).toEqual(["inv-77#retry-1", "inv-77#retry-2"]);
    const runs = await runsOf(sql, root);
    expect(runs.map(({ key, status, root_run_id }) => ({ key, status, root_run_id }))).toEqual([
      { key: "inv-77", status: "failed", root_run_id: root },
      { key: "inv-77#retry-1", status: "failed", root_run_id: root },
      { key: "inv-77#retry-2", status: "succeeded", root_run_id: root },
    ]);
    expect(runs.map((r) => r.retry_of)).toEqual([null, runs[0]!.id, runs[1]!.id]);
    const [result] = await sql<{ result: Json; lease_owner: string }[]>`SELECT result, lease_owner FROM idem.task_runs WHERE id = ${runs[2]!.id}`;
    expect(result).toEqual({ result: { charged: 1250, key: "inv-77#retry-2" }, lease_owner: "executor" });
    // The operation is done: neither the root nor retry-1 can be retried again.
    expect(await retryRun(sql, { runId: root, seen: await seenOf(sql, root), ...who })).toMatchObject({ why: "retry_succeeded" });
    expect(await retryRun(sql, { runId: runs[1]!.id, seen: await seenOf(sql, runs[1]!.id), ...who })).toMatchObject({ why: "retry_succeeded" });
  });
});
