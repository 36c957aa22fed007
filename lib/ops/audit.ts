import "server-only";
import type postgres from "postgres";
import { wellFormed, type Json } from "@/lib/ledger/json";
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

/**
 * The same actor's earlier attempts with this request id, oldest first: a double-submitted form gets
 * the first answer back, and an id reused for another request is recognised as such (performOperation
 * compares what was asked). Request ids are the caller's (a form's hidden field, an API client's
 * X-Request-Id), so another actor's id is never matched: it must neither block nor reveal someone
 * else's action. Bulk operations write their per-item rows under `<request id>/<n>`, which no caller
 * can send. Several rows share an id only when refused attempts were corrected and resubmitted.
 */
export async function findActionsByRequest(sql: postgres.Sql | postgres.TransactionSql, requestId: string, actor: string): Promise<OperatorAction[]> {
  const rows = await sql<Record<string, unknown>[]>`
    SELECT * FROM idem.operator_actions WHERE request_id = ${requestId} AND actor = ${actor} ORDER BY id LIMIT 100`;
  return rows.map(toOperatorAction);
}

/**
 * Claims a request id for the rest of the transaction: a concurrent submission of the same id by the
 * same actor waits here until this one commits, then finds its audit row. A 64-bit hash of the pair
 * keys the advisory lock; two different pairs sharing a hash only wait for each other, never merge.
 */
export async function claimRequestId(tx: postgres.TransactionSql, actor: string, requestId: string): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`idem.request:${actor}\n${requestId}`}::text, 0))`;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  outcome?: ActionOutcome;
  from?: Date;
  /** Exclusive. */
  to?: Date;
  /** Rows older than this one (the log reads newest first). */
  cursor?: { at: string; id: number };
  limit: number;
}

export interface AuditPage {
  entries: OperatorAction[];
  /** The cursor of the last row shown when older rows exist. */
  next: { at: string; id: number } | null;
}

/**
 * The audit log, newest first, with keyset pagination on (at, id). Each filter combination has an
 * index to walk: (at, id) alone, (actor, at) or (action, at); outcome and the time bounds filter
 * along the way.
 */
export async function listOperatorActions(sql: postgres.Sql, query: AuditQuery): Promise<AuditPage> {
  const rows = await sql<Record<string, unknown>[]>`
    SELECT *, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_text
    FROM idem.operator_actions
    WHERE true
      ${query.actor ? sql`AND actor = ${query.actor}` : sql``}
      ${query.action ? sql`AND action = ${query.action}` : sql``}
      ${query.outcome ? sql`AND outcome = ${query.outcome}` : sql``}
      ${query.from ? sql`AND at >= ${query.from.toISOString()}::text::timestamptz` : sql``}
      ${query.to ? sql`AND at < ${query.to.toISOString()}::text::timestamptz` : sql``}
      ${query.cursor ? sql`AND (at, id) < (${query.cursor.at}::text::timestamptz, ${query.cursor.id}::bigint)` : sql``}
    ORDER BY at DESC, id DESC
    LIMIT ${query.limit + 1}`;
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    entries: page.map(toOperatorAction),
    next: rows.length > query.limit && last ? { at: String(last.at_text), id: Number(last.id) } : null,
  };
}

/** The actors and action names in the log, for the filter suggestions (the log is human-scale). */
export async function auditFacets(sql: postgres.Sql): Promise<{ actors: string[]; actions: string[] }> {
  const [actors, actions] = await Promise.all([
    sql<{ actor: string }[]>`SELECT DISTINCT actor FROM idem.operator_actions ORDER BY actor LIMIT 200`,
    sql<{ action: string }[]>`SELECT DISTINCT action FROM idem.operator_actions ORDER BY action LIMIT 200`,
  ]);
  return { actors: actors.map((row) => row.actor), actions: actions.map((row) => row.action) };
}

/**
 * A console attempt on a known target refused by validation, before any operation ran. Best effort:
 * the answer to the operator does not depend on it. Its request id is `<request id>/invalid`, which
 * no caller can send and findActionsByRequest never matches.
 */
export async function recordInvalidAttempt(
  sql: postgres.Sql,
  attempt: { action: string; actor: string; role: string; target: { type: string; id: string }; requestId: string; field?: string; message: string },
): Promise<void> {
  await recordOperatorAction(sql, {
    actor: attempt.actor,
    actorRole: attempt.role,
    action: attempt.action,
    targetType: attempt.target.type,
    targetId: attempt.target.id,
    precondition: {},
    outcome: "refused",
    outcomeDetail: { why: "invalid", message: wellFormed(attempt.message), ...(attempt.field ? { field: wellFormed(attempt.field) } : {}) },
    reason: null,
    requestId: `${attempt.requestId}/invalid`,
  }).catch((error: unknown) => console.error("[idem] could not audit a refused attempt", error));
}
