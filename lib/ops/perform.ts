import "server-only";
import type postgres from "postgres";
import type { z } from "zod";
import { hasRole, type Role } from "@/lib/auth/roles";
import { isAppError } from "@/lib/errors";
import type { Json } from "@/lib/ledger/json";
import { findActionByRequest, recordOperatorAction, type ActionOutcome } from "./audit";

/** Who is acting: a signed-in user in the console, or an API token. */
export interface Actor {
  name: string;
  role: Role;
  via: "console" | "api";
}

export interface OperationContext {
  actor: Actor;
  requestId: string;
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
  run: (input: z.output<S>, ctx: OperationContext) => Promise<OperationResult>;
}

export type Performed =
  | { ok: true; message: string; data?: Json; repeated: boolean }
  | { ok: false; kind: "forbidden" | "refused" | "error"; message: string; code: string; repeated: boolean };

function asObject(value: Json | undefined): Record<string, Json> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : value === undefined ? {} : { value };
}

/**
 * Role check, double-submit detection by request id, the operation, and exactly one audit row for
 * what happened (done, refused and why, or error). Input must already be parsed with the schema.
 */
export async function performOperation<S extends z.ZodType>(operation: Operation<S>, input: z.output<S>, ctx: OperationContext): Promise<Performed> {
  const target = operation.target(input);
  const precondition = operation.precondition?.(input) ?? {};
  const reason = operation.reason?.(input) ?? null;
  const actor = ctx.actor.via === "api" ? `token:${ctx.actor.name}` : ctx.actor.name;
  const audit = (outcome: ActionOutcome, detail: Record<string, Json>) =>
    recordOperatorAction(ctx.sql, {
      actor,
      actorRole: ctx.actor.role,
      action: operation.name,
      targetType: target.type,
      targetId: target.id,
      precondition,
      outcome,
      outcomeDetail: detail,
      reason,
      requestId: ctx.requestId,
    });

  if (!hasRole(ctx.actor.role, operation.role)) {
    await audit("refused", { why: "forbidden", requiredRole: operation.role, message: `needs role ${operation.role}` });
    return { ok: false, kind: "forbidden", code: "FORBIDDEN", message: `Your role (${ctx.actor.role}) cannot do this; it needs ${operation.role}.`, repeated: false };
  }

  const earlier = await findActionByRequest(ctx.sql, operation.name, ctx.requestId, actor);
  if (earlier) {
    const detail = earlier.outcomeDetail as { message?: string } | null;
    const message = `Already submitted: ${detail?.message ?? earlier.outcome}`;
    return earlier.outcome === "done"
      ? { ok: true, message, repeated: true }
      : { ok: false, kind: "refused", code: "CONFLICT", message, repeated: true };
  }

  try {
    const result = await operation.run(input, ctx);
    await audit(result.outcome, { message: result.message, ...asObject(result.detail) });
    if (result.outcome === "done") return { ok: true, message: result.message, ...(result.data === undefined ? {} : { data: result.data }), repeated: false };
    return { ok: false, kind: "refused", code: "CONFLICT", message: result.message, repeated: false };
  } catch (error) {
    const known = isAppError(error) && error.code !== "INTERNAL";
    const code = isAppError(error) ? error.code : "INTERNAL";
    const message = known ? (error as Error).message : `Something went wrong (request ${ctx.requestId}); the server log has the details.`;
    if (!known) console.error(`[idem] ${operation.name} failed (request ${ctx.requestId})`, error);
    await audit(known ? "refused" : "error", { message, code }).catch((auditError: unknown) =>
      console.error("[idem] could not write the audit record", auditError),
    );
    return { ok: false, kind: known ? "refused" : "error", code, message, repeated: false };
  }
}
