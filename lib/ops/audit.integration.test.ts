import { describe, expect, it } from "vitest";
import { useTestDatabase } from "@/tests/helpers/db";
import { findActionsByRequest, listOperatorActions, recordOperatorAction, type AuditEntry } from "./audit";

const db = useTestDatabase();

const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  actor: "olivia",
  actorRole: "operator",
  action: "run.retry",
  targetType: "run",
  targetId: "42",
  precondition: { status: "failed" },
  outcome: "done",
  outcomeDetail: { message: "Retry created" },
  reason: "relay back",
  requestId: "req-00000001",
  ...overrides,
});

describe("the audit log", () => {
  it("is append-only in the database: UPDATE, DELETE and TRUNCATE raise, whoever issues them", async () => {
    const { sql } = db();
    const row = await recordOperatorAction(sql, entry());
    await expect(sql`UPDATE idem.operator_actions SET outcome = 'refused' WHERE id = ${row.id}`).rejects.toThrow(/append-only \(UPDATE refused\)/);
    await expect(sql`DELETE FROM idem.operator_actions WHERE id = ${row.id}`).rejects.toThrow(/append-only \(DELETE refused\)/);
    await expect(sql`TRUNCATE idem.operator_actions`).rejects.toThrow(/append-only \(TRUNCATE refused\)/);
    const [still] = await sql<{ outcome: string; n: number }[]>`SELECT outcome, count(*) OVER ()::int AS n FROM idem.operator_actions`;
    expect(still).toEqual({ outcome: "done", n: 1 });
  });

  it("lists newest first with filters and keyset pages that neither skip nor repeat rows at the same instant", async () => {
    const { sql } = db();
    // 7 rows, 5 of them in one transaction: the same `at` (now() is the transaction's start), told apart by id.
    await recordOperatorAction(sql, entry({ actor: "sam", action: "lock.release", targetType: "lock", targetId: "idem:lock:x", outcome: "refused" }));
    await sql.begin(async (tx) => {
      for (let i = 0; i < 5; i++) await recordOperatorAction(tx, entry({ targetId: String(100 + i), requestId: `req-batch-${i}` }));
    });
    await recordOperatorAction(sql, entry({ action: "run.cancel", outcome: "error" }));

    const seen: number[] = [];
    let cursor: { at: string; id: number } | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await listOperatorActions(sql, { limit: 2, cursor });
      seen.push(...result.entries.map((e) => e.id));
      if (!result.next) break;
      cursor = result.next;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    expect(seen[0]).toBe(7);

    expect((await listOperatorActions(sql, { limit: 50, actor: "sam" })).entries.map((e) => e.action)).toEqual(["lock.release"]);
    expect((await listOperatorActions(sql, { limit: 50, action: "run.retry" })).entries).toHaveLength(5);
    expect((await listOperatorActions(sql, { limit: 50, outcome: "error" })).entries.map((e) => e.action)).toEqual(["run.cancel"]);
    expect((await listOperatorActions(sql, { limit: 50, from: new Date(Date.now() + 60_000) })).entries).toEqual([]);
    expect((await listOperatorActions(sql, { limit: 50, to: new Date(Date.now() + 60_000), actor: "olivia" })).entries).toHaveLength(6);
  });

  it("finds a request id's earlier attempts only for the same actor, whatever the action, oldest first", async () => {
    const { sql } = db();
    await recordOperatorAction(sql, entry({ actor: "viewer", actorRole: "viewer", outcome: "refused", requestId: "req-shared-1" }));
    // Someone else's attempt under the same id neither blocks nor answers this actor's request.
    expect(await findActionsByRequest(sql, "req-shared-1", "olivia")).toEqual([]);
    await recordOperatorAction(sql, entry({ outcome: "refused", requestId: "req-shared-1" }));
    await recordOperatorAction(sql, entry({ action: "run.cancel", requestId: "req-shared-1" }));
    expect((await findActionsByRequest(sql, "req-shared-1", "olivia")).map((row) => [row.action, row.outcome])).toEqual([
      ["run.retry", "refused"],
      ["run.cancel", "done"],
    ]);
    expect(await findActionsByRequest(sql, "req-shared-2", "olivia")).toEqual([]);
  });
});
