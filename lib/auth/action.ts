import "server-only";
import { randomUUID } from "node:crypto";
import { revalidatePath } from "next/cache";
import type postgres from "postgres";
import { z } from "zod";
import { getSql } from "@/lib/db";
import { AppError, isAppError } from "@/lib/errors";
import type { ActionState } from "@/lib/action-state";
import type { Json } from "@/lib/ledger/json";
import { findActionByRequest, recordOperatorAction, type ActionOutcome } from "@/lib/ops/audit";
import { getSession, requestMeta, type RequestMeta } from "./current";
import { hasRole, type Role } from "./roles";
import type { User } from "./users";

export type { ActionState } from "@/lib/action-state";

export interface ActionContext {
  user: User;
  requestId: string;
  sql: postgres.Sql;
  meta: RequestMeta;
}

export type ActionResult =
  | { outcome: "done"; message: string; detail?: Json; data?: Json }
  | { outcome: "refused"; message: string; detail?: Json };

export interface ActionConfig<S extends z.ZodType> {
  /** The audit log's action name, e.g. "lock.release". */
  name: string;
  role: Role;
  schema: S;
  target: (input: z.output<S>) => { type: string; id: string };
  /** What the operator saw on screen when acting: the compare half of the compare-and-set. */
  precondition?: (input: z.output<S>) => Json;
  reason?: (input: z.output<S>) => string | null;
  run: (input: z.output<S>, ctx: ActionContext) => Promise<ActionResult>;
}

const requestIdSchema = z.string().min(8).max(100).regex(/^[A-Za-z0-9_-]+$/);

/** FormData as a plain object; a key given several times becomes an array. */
export function formDataToObject(formData: FormData): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of formData.entries()) {
    if (key.startsWith("$ACTION")) continue;
    const text = typeof value === "string" ? value : value.name;
    const existing = out[key];
    out[key] = existing === undefined ? text : Array.isArray(existing) ? [...existing, text] : [existing, text];
  }
  return out;
}

export function sameOrigin(meta: RequestMeta): boolean {
  if (!meta.origin || !meta.host) return false;
  try {
    return new URL(meta.origin).host === meta.host;
  } catch {
    return false;
  }
}

function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join(".") || "input";
  return { field, message: `${field}: ${issue?.message ?? "is invalid"}` };
}

/**
 * The one wrapper every mutation goes through: same-origin check, session, role, input validation,
 * double-submit detection by request id, the audit record (done, refused or error), and a result
 * shaped for useActionState. Domain code inside `run` does the compare-and-set.
 */
export function defineAction<S extends z.ZodType>(config: ActionConfig<S>) {
  return async function action(_previous: ActionState, formData: FormData): Promise<ActionState> {
    const meta = await requestMeta();
    // Next checks Origin against Host too, but lets a request without Origin through; we do not.
    if (!sameOrigin(meta)) return { ok: false, error: "Refused: this request did not come from the console's own pages." };

    let session;
    try {
      session = await getSession();
    } catch (error) {
      console.error(`[idem] ${config.name}: session lookup failed`, error);
      return { ok: false, error: "Postgres is unreachable, so nothing was changed. Try again when it is back." };
    }
    if (!session) return { ok: false, error: "Your session has expired. Sign in again; nothing was changed." };
    const user = session.user;
    const sql = getSql();

    const raw = formDataToObject(formData);
    const requestId = requestIdSchema.safeParse(raw.requestId).success ? (raw.requestId as string) : randomUUID();

    const audit = (
      outcome: ActionOutcome,
      detail: Json,
      target: { type: string; id: string },
      precondition: Json,
      reason: string | null,
    ) =>
      recordOperatorAction(sql, {
        actor: user.username,
        actorRole: user.role,
        action: config.name,
        targetType: target.type,
        targetId: target.id,
        precondition,
        outcome,
        outcomeDetail: detail,
        reason,
        requestId,
      });

    const parsed = config.schema.safeParse(raw);
    if (!hasRole(user.role, config.role)) {
      const target = parsed.success ? config.target(parsed.data) : { type: "unknown", id: "-" };
      await audit("refused", { why: "forbidden", requiredRole: config.role }, target, {}, null).catch(() => undefined);
      return { ok: false, error: `Your role (${user.role}) cannot do this; it needs ${config.role}.` };
    }
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      return { ok: false, error: message, field };
    }
    const input = parsed.data;
    const target = config.target(input);
    const precondition = config.precondition?.(input) ?? {};
    const reason = config.reason?.(input) ?? null;

    const earlier = await findActionByRequest(sql, config.name, requestId);
    if (earlier) {
      const detail = earlier.outcomeDetail as { message?: string } | null;
      const message = `Already submitted: ${detail?.message ?? earlier.outcome}`;
      return earlier.outcome === "done" ? { ok: true, message } : { ok: false, error: message };
    }

    try {
      const result = await config.run(input, { user, requestId, sql, meta });
      await audit(result.outcome, { message: result.message, ...(asObject(result.detail)) }, target, precondition, reason);
      if (result.outcome === "done") {
        revalidatePath("/", "layout");
        return { ok: true, message: result.message, ...(result.data === undefined ? {} : { data: result.data }) };
      }
      return { ok: false, error: result.message };
    } catch (error) {
      const known = isAppError(error) && error.code !== "INTERNAL";
      const message = known ? (error as AppError).message : `Something went wrong (request ${requestId}); the server log has the details.`;
      if (!known) console.error(`[idem] ${config.name} failed (request ${requestId})`, error);
      await audit(known ? "refused" : "error", { message, code: isAppError(error) ? error.code : "INTERNAL" }, target, precondition, reason).catch(
        (auditError: unknown) => console.error("[idem] could not write the audit record", auditError),
      );
      return { ok: false, error: message };
    }
  };
}

function asObject(value: Json | undefined): Record<string, Json> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : value === undefined ? {} : { value };
}
