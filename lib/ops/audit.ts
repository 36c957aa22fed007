import "server-only";
import type postgres from "postgres";
import type { Json } from "@/lib/ledger/json";
import { toOperatorAction, type OperatorAction } from "@/lib/ledger/rows";

export type ActionOutcome = "done" | "refused" | "error";

export interface AuditEntry {
  actor: string;
  actorRole: string;
  action: string;
  targetType: string;
  targetId: string;
  precondition: Json;
  outcome: ActionOutcome;
  outcomeDetail: Json;
  reason: string | null;
  requestId: string;
}

/** Appends to operator_actions. The table refuses UPDATE and DELETE (a trigger), so this is the only write. */
export async function recordOperatorAction(sql: postgres.Sql | postgres.TransactionSql, entry: AuditEntry): Promise<OperatorAction> {
  const rows = await sql<Record<string, unknown>[]>`
    INSERT INTO idem.operator_actions (actor, actor_role, action, target_type, target_id, precondition, outcome, outcome_detail, reason, request_id)
    VALUES (${entry.actor}, ${entry.actorRole}, ${entry.action}, ${entry.targetType}, ${entry.targetId},
            ${JSON.stringify(entry.precondition)}::text::jsonb, ${entry.outcome}, ${JSON.stringify(entry.outcomeDetail)}::text::jsonb,
            ${entry.reason}, ${entry.requestId})
    RETURNING *`;
  return toOperatorAction(rows[0]!);
}

/** A previous attempt with the same request id: a double-submitted form gets the first answer back. */
export async function findActionByRequest(sql: postgres.Sql, action: string, requestId: string): Promise<OperatorAction | null> {
  const rows = await sql<Record<string, unknown>[]>`
    SELECT * FROM idem.operator_actions WHERE request_id = ${requestId} AND action = ${action} ORDER BY id LIMIT 1`;
  return rows[0] ? toOperatorAction(rows[0]) : null;
}
