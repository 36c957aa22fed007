import { describe, expect, it } from "vitest";
import { useTestDatabase } from "@/tests/helpers/db";

const db = useTestDatabase();

describe("operator_actions stays append-only", () => {
  it.each([
    ["DELETE", "DELETE FROM idem.operator_actions"],
    ["UPDATE", "UPDATE idem.operator_actions SET outcome = 'refused' WHERE true"],
    ["TRUNCATE", "TRUNCATE idem.operator_actions"],
  ])("refuses %s even with session_replication_role = replica (which skips ordinary triggers)", async (op, statement) => {
    const { sql } = db();
    await sql`
      INSERT INTO idem.operator_actions (actor, actor_role, action, target_type, target_id, outcome, request_id)
      VALUES ('alice', 'operator', 'cancel', 'run', '1', 'done', 'req-1')`;
    const attempt = sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx.unsafe(statement);
    });
    await expect(attempt).rejects.toThrow(new RegExp(`append-only \\(${op} refused\\)`));
    const [row] = await sql`SELECT actor, outcome FROM idem.operator_actions`;
    expect(row).toEqual({ actor: "alice", outcome: "done" });
  });
});
