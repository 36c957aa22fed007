import "server-only";
import type postgres from "postgres";
import type { z } from "zod";
import { hasRole, type Role } from "@/lib/auth/roles";
import { isAppError } from "@/lib/errors";
import { fingerprintOf, wellFormed, type Json } from "@/lib/ledger/json";
import type { OperatorAction } from "@/lib/ledger/rows";
import { claimRequestId, findActionsByRequest, recordOperatorAction, type ActionOutcome } from "./audit";

/** Who is acting: a signed-in user in the console, or an API token. */
export interface Actor {
  name: string;
  role: Role;
  via: "console" | "api";
}

export interface OperationContext {
  actor: Actor;
  requestId: string;
  /** Inside performOperation, for a transactional operation: the transaction its audit row commits with. */
  sql: postgres.Sql;
}

export type OperationResult =
  | { outcome: "done"; message: string; detail?: Json; data?: Json }
  | { outcome: "refused"; message: string; detail?: Json };

/**
 * An operator action, defined once and served by both a server action (lib/auth/action.ts) and the
 * JSON API (lib/api/route.ts): the same role, the same compare-and-set in `run`, the same audit row.
 */
export interface Operation<S extends z.ZodType> {
  /** The audit log's action name, e.g. "lock.release". */
  name: string;
  role: Role;
  schema: S;
  target: (input: z.output<S>) => { type: string; id: string };
  /** What the operator saw when acting: the compare half of the compare-and-set. */
  precondition?: (input: z.output<S>) => Json;
  reason?: (input: z.output<S>) => string | null;
  /**
   * What else, besides target, precondition and reason, tells two requests apart (a retry's edited
   * payload): part of the request's hash. Never a secret (see requestHashOf).
   */
  requestIdentity?: (input: z.output<S>) => Json;
  /**
   * Keep the result's data in the audit row, so a resubmission of the request gets it back (the
   * retry's child). Off by default: data may be a secret shown once (a new API token, a generated
   * password), which must never reach the append-only log.
   */
  replayData?: boolean;
  /**
   * The target of a request whose input failed validation, when the raw form still names it (a run
   * id): the console audits such an attempt as refused, so the log shows it on that target.
   */
  rawTarget?: (raw: Record<string, string | string[]>) => { type: string; id: string } | null;
  /**
   * Everything `run` changes is in Postgres and goes through ctx.sql: it then runs in one transaction
   * with its audit row (and the claim of its request id), so the log says "done" exactly when it was
   * done. An operation that also changes Redis (lock release) cannot roll back with Postgres, so it is
   * audited right after instead.
   */
  transactional?: boolean;
  run: (input: z.output<S>, ctx: OperationContext) => Promise<OperationResult>;
}

export type Performed =
  | { ok: true; message: string; data?: Json; repeated: boolean }
  | { ok: false; kind: "forbidden" | "refused" | "error"; message: string; code: string; repeated: boolean };

/**
 * A transaction where the domain functions take the client: they only run queries on it (none begins
 * or ends a transaction of its own), which a TransactionSql serves like the pool.
 */
const asSql = (tx: postgres.TransactionSql): postgres.Sql => tx as unknown as postgres.Sql;

function asObject(value: Json | undefined): Record<string, Json> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : value === undefined ? {} : { value };
}

/**
 * What a request asked for: the same request id sent again must ask for the same thing to get the
 * first answer. Built from what the audit row shows anyway (action, target, precondition, reason)
 * plus what an operation adds (requestIdentity), never the whole input: an input may hold a password,
 * and an unsalted hash of it must not land in the append-only log.
 */
function requestHashOf(identity: { action: string; target: { type: string; id: string }; precondition: Json; reason: string | null; extra: unknown }): string {
  // A JSON round trip turns Dates and undefined fields into plain JSON first.
  return fingerprintOf(JSON.parse(JSON.stringify(identity) as string) as Json);
}

/**
 * What to answer a request id that was seen before: the first answer again when this is the same
 * request; a refusal when the id already did something else (so "ok" never answers a request that
 * did nothing); null, to go ahead, when the id's earlier requests were all refused or failed (the
 * same form corrected and submitted again: those did nothing).
 */
function replay(earlier: readonly OperatorAction[], requestHash: string, requestId: string, action: string, target: { type: string; id: string }): Performed | null {
  const details = earlier.map((row) => ({ row, detail: asObject(row.outcomeDetail as Json) }));
  const same = details.find(({ row, detail }) =>
    typeof detail.requestHash === "string"
      ? detail.requestHash === requestHash
      : row.action === action && row.targetType === target.type && row.targetId === target.id,
  );
  if (same) {
    const message = `Already submitted: ${typeof same.detail.message === "string" ? same.detail.message : same.row.outcome}`;
    if (same.row.outcome === "done") return { ok: true, message, ...(same.detail.data === undefined ? {} : { data: same.detail.data }), repeated: true };
    return { ok: false, kind: "refused", code: "CONFLICT", message, repeated: true };
  }
  const done = earlier.find((row) => row.outcome === "done");
  if (!done) return null;
  const what = done.targetType === "run" ? `${done.action} on run #${done.targetId}` : `${done.action} on ${done.targetType} ${done.targetId}`;
  return {
    ok: false,
    kind: "refused",
    code: "CONFLICT",
    message: `Refused: request id ${requestId} was already used for a different request (${what}); nothing was done. Submit this one as a new request (reopen the dialog, or send a new X-Request-Id).`,
    repeated: true,
  };
}

/**
 * Role check, double-submit detection by request id, the operation, and exactly one audit row for
 * what happened (done, refused and why, or error). Input must already be parsed with the schema.
 *
 * A request id is claimed with a transaction-scoped advisory lock on (actor, request id): a second
 * submission of the same request waits for the first to commit and then gets its answer (with its
 * data, e.g. the child run), instead of running the operation again. The same id with a different
 * request is refused, never answered with another request's outcome.
 */
export async function performOperation<S extends z.ZodType>(operation: Operation<S>, input: z.output<S>, ctx: OperationContext): Promise<Performed> {
  const target = operation.target(input);
  const precondition = operation.precondition?.(input) ?? {};
  const reason = operation.reason?.(input) ?? null;
  const actor = ctx.actor.via === "api" ? `token:${ctx.actor.name}` : ctx.actor.name;
  const requestHash = requestHashOf({ action: operation.name, target, precondition, reason, extra: operation.requestIdentity?.(input) ?? null });
  const audit = (sql: postgres.Sql, outcome: ActionOutcome, detail: Record<string, Json>) =>
    recordOperatorAction(sql, {
      actor,
      actorRole: ctx.actor.role,
      action: operation.name,
      targetType: target.type,
      targetId: target.id,
      precondition,
      outcome,
      outcomeDetail: { ...detail, requestHash },
      reason,
      requestId: ctx.requestId,
    });
  const failed = (error: unknown): { outcome: ActionOutcome; performed: Performed; detail: Record<string, Json> } => {
    const known = isAppError(error) && error.code !== "INTERNAL";
    const code = isAppError(error) ? error.code : "INTERNAL";
    const message = known ? wellFormed((error as Error).message) : `Something went wrong (request ${ctx.requestId}); the server log has the details.`;
    if (!known) console.error(`[idem] ${operation.name} failed (request ${ctx.requestId})`, error);
    return { outcome: known ? "refused" : "error", detail: { message, code }, performed: { ok: false, kind: known ? "refused" : "error", code, message, repeated: false } };
  };
  const answer = (result: OperationResult): Performed =>
    result.outcome === "done"
      ? { ok: true, message: result.message, ...(result.data === undefined ? {} : { data: result.data }), repeated: false }
      : { ok: false, kind: "refused", code: "CONFLICT", message: result.message, repeated: false };
  const resultDetail = (result: OperationResult): Record<string, Json> => ({
    message: result.message,
    ...asObject(result.detail),
    // Kept so that a resubmission gets the same data back (the child run to link to), where that is allowed.
    ...(operation.replayData && result.outcome === "done" && result.data !== undefined ? { data: result.data } : {}),
  });

  if (!hasRole(ctx.actor.role, operation.role)) {
    await audit(ctx.sql, "refused", { why: "forbidden", requiredRole: operation.role, message: `needs role ${operation.role}` });
    return { ok: false, kind: "forbidden", code: "FORBIDDEN", message: `Your role (${ctx.actor.role}) cannot do this; it needs ${operation.role}.`, repeated: false };
  }

  if (operation.transactional) {
    try {
      return await ctx.sql.begin(async (tx) => {
        await claimRequestId(tx, actor, ctx.requestId);
        const earlier = replay(await findActionsByRequest(tx, ctx.requestId, actor), requestHash, ctx.requestId, operation.name, target);
        if (earlier) return earlier;
        let outcome: ActionOutcome;
        let detail: Record<string, Json>;
        let performed: Performed;
        try {
          // A savepoint: an operation that throws leaves nothing behind, and its refusal or error is still audited here.
          const result = await tx.savepoint((sp) => operation.run(input, { ...ctx, sql: asSql(sp) }));
          outcome = result.outcome;
          detail = resultDetail(result);
          performed = answer(result);
        } catch (error) {
          ({ outcome, detail, performed } = failed(error));
        }
        await audit(asSql(tx), outcome, detail);
        return performed;
      });
    } catch (error) {
      // The transaction rolled back (its audit row could not be written, or Postgres failed): nothing happened.
      const { outcome, detail, performed } = failed(error);
      await audit(ctx.sql, outcome, detail).catch((auditError: unknown) => console.error("[idem] could not write the audit record", auditError));
      return performed;
    }
  }

  // Not transactional: whatever run does outside Postgres has happened once it returns, so it is audited right after.
  const earlier = replay(await findActionsByRequest(ctx.sql, ctx.requestId, actor), requestHash, ctx.requestId, operation.name, target);
  if (earlier) return earlier;
  try {
    const result = await operation.run(input, ctx);
    await audit(ctx.sql, result.outcome, resultDetail(result));
    return answer(result);
  } catch (error) {
    const { outcome, detail, performed } = failed(error);
    await audit(ctx.sql, outcome, detail).catch((auditError: unknown) => console.error("[idem] could not write the audit record", auditError));
    return performed;
  }
}
