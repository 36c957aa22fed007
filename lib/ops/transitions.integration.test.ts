import { describe, expect, it } from "vitest";
import { LeaseLostError } from "@/lib/ledger/errors";
import { createLedger } from "@/lib/ledger/ledger";
import { useTestDatabase } from "@/tests/helpers/db";
import { waitFor } from "@/tests/helpers/wait";
import { retryRun } from "./retry";
import { abandonRun, cancelRun } from "./transitions";

const db = useTestDatabase();

describe("abandonRun", () => {
  it("ends a running run whose lease expired; its late worker can no longer heartbeat, complete or fail it", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "worker-gone" });
    const claim = await ledger.claimRun({ task: "transcode_file", key: "video-1", payload: { id: 1 }, leaseMs: 100 });
    if (claim.outcome !== "claimed") throw new Error("expected a claim");
    await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE id = ${claim.run.id} AND lease_expires_at < now()`).length > 0, {
      what: "the lease to expire",
    });

    const result = await abandonRun(sql, { runId: claim.run.id, leaseToken: claim.lease.token, actor: "olivia", reason: "host i-0abc terminated" });
    expect(result).toEqual({ outcome: "done", runId: claim.run.id, message: `Run #${claim.run.id} marked abandoned (now failed); it can be retried.` });
    const [run] = await sql<{ status: string; error: Record<string, unknown>; lease_expires_at: Date | null; finished_at: Date | null }[]>`
      SELECT status::text, error, lease_expires_at, finished_at FROM idem.task_runs WHERE id = ${claim.run.id}`;
    expect(run).toMatchObject({
      status: "failed",
      error: { class: "Abandoned", message: "Marked abandoned by olivia: host i-0abc terminated", stack: null, previous_owner: "worker-gone" },
      lease_expires_at: null,
    });
    expect(run!.finished_at).not.toBeNull();
    const [event] = await sql<{ kind: string; from_status: string; to_status: string; actor: string; detail: Record<string, unknown> }[]>`
      SELECT kind, from_status::text, to_status::text, actor, detail FROM idem.run_events WHERE run_id = ${claim.run.id} AND kind = 'abandoned'`;
    expect(event).toMatchObject({ from_status: "running", to_status: "failed", actor: "olivia", detail: { reason: "host i-0abc terminated", lease_token: claim.lease.token } });

    // The worker was only paused: everything it tries now is refused and changes nothing.
    await expect(ledger.heartbeat(claim.lease)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(ledger.completeRun(claim.lease, { done: true })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(ledger.failRun(claim.lease, new Error("late"))).rejects.toBeInstanceOf(LeaseLostError);
    const [after] = await sql<{ status: string; result: unknown }[]>`SELECT status::text, result FROM idem.task_runs WHERE id = ${claim.run.id}`;
    expect(after).toEqual({ status: "failed", result: null });

    // And it can now be retried under a new key.
    const retried = await retryRun(sql, {
      runId: claim.run.id,
      seen: { status: "failed", updatedAt: (await sql<{ updated_at: Date }[]>`SELECT updated_at FROM idem.task_runs WHERE id = ${claim.run.id}`)[0]!.updated_at, retries: 0 },
      actor: "olivia",
      reason: null,
      requestId: "req-abandon-retry",
    });
    expect(retried).toMatchObject({ outcome: "created", childKey: "video-1#retry-1" });
  });

  it("is refused when the run was taken over since it was viewed (its lease token changed)", async () => {
    const { sql } = db();
    const first = createLedger({ sql, workerId: "first" });
    const second = createLedger({ sql, workerId: "second" });
    const spec = { task: "sync_crm", key: "contact-1", payload: {}, leaseMs: 100 };
    const claim = await first.claimRun(spec);
    if (claim.outcome !== "claimed") throw new Error("expected a claim");
    await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE lease_expires_at < now()`).length > 0, { what: "expiry" });
    const takeover = await second.claimRun({ ...spec, leaseMs: 100 });
    expect(takeover.outcome).toBe("claimed");
    await waitFor(async () => (await sql`SELECT 1 FROM idem.task_runs WHERE lease_expires_at < now()`).length > 0, { what: "expiry" });

    const result = await abandonRun(sql, { runId: claim.run.id, leaseToken: claim.lease.token, actor: "olivia", reason: "stuck" });
    expect(result).toMatchObject({ outcome: "refused", why: "token_changed" });
    expect(result.message).toBe(`Refused: run #${claim.run.id} was taken over by second since you looked (new lease token). Nothing was changed.`);
    const [run] = await sql<{ status: string }[]>`SELECT status::text FROM idem.task_runs WHERE id = ${claim.run.id}`;
    expect(run!.status).toBe("running");
  });

  it("is refused while the lease is live, and for runs that are not running", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    const claim = await ledger.claimRun({ task: "sync_crm", key: "contact-2", payload: {}, leaseMs: 60_000 });
    if (claim.outcome !== "claimed") throw new Error("expected a claim");
    expect(await abandonRun(sql, { runId: claim.run.id, leaseToken: claim.lease.token, actor: "olivia", reason: "impatient" })).toMatchObject({
      outcome: "refused",
      why: "lease_live",
    });
    await ledger.completeRun(claim.lease, "ok");
    expect(await abandonRun(sql, { runId: claim.run.id, leaseToken: claim.lease.token, actor: "olivia", reason: "late" })).toMatchObject({
      outcome: "refused",
      why: "not_running",
      message: `Refused: run #${claim.run.id} is succeeded now, no longer running. Nothing was changed.`,
    });
  });
});

describe("cancelRun", () => {
  it("cancels only a pending run; the worker never runs it and a replay reports the cancellation", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    await ledger.runOnce({ task: "send_email", key: "mail-1", payload: {} }, () => {
      throw new Error("smtp down");
    }).catch(() => undefined);
    const [parent] = await sql<{ id: number; updated_at: Date }[]>`SELECT id::int, updated_at FROM idem.task_runs WHERE idempotency_key = 'mail-1'`;
    const retry = await retryRun(sql, { runId: parent!.id, seen: { status: "failed", updatedAt: parent!.updated_at, retries: 0 }, actor: "olivia", reason: null, requestId: "req-cancel-1" });
    if (retry.outcome !== "created") throw new Error(retry.message);

    expect(await cancelRun(sql, { runId: retry.childId, actor: "olivia", reason: "customer unsubscribed" })).toMatchObject({ outcome: "done" });
    const [child] = await sql<{ status: string; error: Record<string, unknown> }[]>`SELECT status::text, error FROM idem.task_runs WHERE id = ${retry.childId}`;
    expect(child).toEqual({ status: "cancelled", error: { class: "Cancelled", message: "Cancelled by olivia: customer unsubscribed", stack: null } });
    const events = await sql<{ kind: string; actor: string }[]>`SELECT kind, actor FROM idem.run_events WHERE run_id = ${retry.childId} ORDER BY id`;
    expect(events).toEqual([
      { kind: "created", actor: "olivia" },
      { kind: "cancelled", actor: "olivia" },
    ]);

    // Cancelled, failed and succeeded runs are not pending: refused, unchanged.
    expect(await cancelRun(sql, { runId: retry.childId, actor: "olivia", reason: "again" })).toMatchObject({ outcome: "refused", why: "not_pending" });
    expect(await cancelRun(sql, { runId: parent!.id, actor: "olivia", reason: "x" })).toMatchObject({
      outcome: "refused",
      why: "not_pending",
      message: `Refused: run #${parent!.id} is failed now; only a pending run can be cancelled.`,
    });
    expect(await cancelRun(sql, { runId: 987_654, actor: "olivia", reason: "x" })).toMatchObject({ outcome: "refused", why: "not_found" });

    // A worker for the task finds nothing to do.
    const claims = await ledger.claimPending({ tasks: ["send_email"], limit: 10 });
    expect(claims).toEqual([]);
  });

  it("refuses a pending run that a worker picked up since it was viewed", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql });
    await ledger.runOnce({ task: "send_email", key: "mail-2", payload: {} }, () => {
      throw new Error("smtp down");
    }).catch(() => undefined);
    const [parent] = await sql<{ id: number; updated_at: Date }[]>`SELECT id::int, updated_at FROM idem.task_runs WHERE idempotency_key = 'mail-2'`;
    const retry = await retryRun(sql, { runId: parent!.id, seen: { status: "failed", updatedAt: parent!.updated_at, retries: 0 }, actor: "olivia", reason: null, requestId: "req-cancel-2" });
    if (retry.outcome !== "created") throw new Error(retry.message);
    const [claimed] = await ledger.claimPending({ tasks: ["send_email"], limit: 1 });
    expect(claimed?.run.id).toBe(retry.childId);
    expect(await cancelRun(sql, { runId: retry.childId, actor: "olivia", reason: "too late" })).toMatchObject({
      outcome: "refused",
      why: "not_pending",
      message: `Refused: run #${retry.childId} is running now; only a pending run can be cancelled. A worker picked it up.`,
    });
  });

  it("refuses a run that went pending -> running -> pending since it was viewed: the attempt seen is compared, not only the status", async () => {
    const { sql } = db();
    const ledger = createLedger({ sql, workerId: "flaky" });
    const claim = await ledger.claimRun({ task: "sync_crm", key: "contact-77", payload: { id: 77 }, maxAttempts: 3 });
    if (claim.outcome !== "claimed") throw new Error("expected a claim");
    // Seen by the operator while pending... then it ran and failed into a retry: pending again.
    await ledger.failRun(claim.lease, new Error("CRM 503"), { retryable: true, backoffMs: 60_000 });
    const [row] = await sql<{ status: string; attempt: number }[]>`SELECT status::text, attempt FROM idem.task_runs WHERE id = ${claim.run.id}`;
    expect(row).toEqual({ status: "pending", attempt: 1 });

    const stale = await cancelRun(sql, { runId: claim.run.id, seenAttempt: 0, actor: "olivia", reason: "not needed" });
    expect(stale).toEqual({
      outcome: "refused",
      runId: claim.run.id,
      why: "state_changed",
      message: `Refused: run #${claim.run.id} ran since you looked (attempt 1, you saw 0) and is pending again for another attempt. Nothing was changed; reload and decide again.`,
    });
    const [still] = await sql<{ status: string }[]>`SELECT status::text FROM idem.task_runs WHERE id = ${claim.run.id}`;
    expect(still!.status).toBe("pending");
    expect(await cancelRun(sql, { runId: claim.run.id, seenAttempt: 1, actor: "olivia", reason: "not needed" })).toMatchObject({ outcome: "done" });
  });
});
