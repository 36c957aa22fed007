import "server-only";
import { randomUUID } from "node:crypto";
import { revalidatePath } from "next/cache";
import type postgres from "postgres";
import { z } from "zod";
import type { ActionState } from "@/lib/action-state";
import { getSql } from "@/lib/db";
import { findUnstorableText } from "@/lib/ledger/json";
import { firstIssue } from "@/lib/params/registry";
import { recordInvalidAttempt } from "@/lib/ops/audit";
import { performOperation, type Operation, type OperationResult } from "@/lib/ops/perform";
import { isSameOrigin } from "./action-request";
import { getSession, requestMeta, type RequestMeta } from "./current";
import { hasRole } from "./roles";
import type { User } from "./users";

export type { ActionState } from "@/lib/action-state";

export interface ActionContext {
  user: User;
  requestId: string;
  sql: postgres.Sql;
  meta: RequestMeta;
}

export type ActionResult = OperationResult;

/** An operation as a server action gets it: with the signed-in user and the request's metadata. */
export interface ActionConfig<S extends z.ZodType> extends Omit<Operation<S>, "run"> {
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
  return isSameOrigin(meta.origin, meta.host);
}

/**
 * The one wrapper every console mutation goes through: same-origin check, session, input validation,
 * then performOperation (role, double-submit detection by request id, the operation, the audit row),
 * and a result shaped for useActionState.
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

    const raw = formDataToObject(formData);
    const requestId = requestIdSchema.safeParse(raw.requestId).success ? (raw.requestId as string) : randomUUID();
    const parsed = config.schema.safeParse(raw);
    // Text Postgres cannot store, in any field or in JSON a field carries, is refused like any invalid field.
    const unstorable = parsed.success ? (findUnstorableText(raw) ?? findUnstorableText(parsed.data)) : null;
    if (!parsed.success || unstorable) {
      if (!hasRole(user.role, config.role)) return { ok: false, error: `Your role (${user.role}) cannot do this; it needs ${config.role}.` };
      const refused = parsed.success ? { field: unstorable!.path, message: `${unstorable!.path}: ${unstorable!.message}` } : firstIssue(parsed.error, "input");
      const target = config.rawTarget?.(raw);
      // Audited under `<request id>/invalid`, so the same dialog's corrected submission is not answered with this refusal.
      if (target) await recordInvalidAttempt(getSql(), { action: config.name, actor: user.username, role: user.role, target, requestId, ...refused });
      return { ok: false, error: refused.message, field: refused.field };
    }

    const sql = getSql();
    const performed = await performOperation({ ...config, run: (input, ctx) => config.run(input, { user, requestId: ctx.requestId, sql: ctx.sql, meta }) }, parsed.data, {
      actor: { name: user.username, role: user.role, via: "console" },
      requestId,
      sql,
    }).catch((error: unknown) => {
      console.error(`[idem] ${config.name}: could not record the action`, error);
      return { ok: false as const, kind: "error" as const, code: "UNAVAILABLE", message: "The console could not reach Postgres; nothing was recorded.", repeated: false };
    });
    if (performed.ok) {
      revalidatePath("/", "layout");
      return { ok: true, message: performed.message, ...(performed.data === undefined ? {} : { data: performed.data }) };
    }
    return { ok: false, error: performed.message };
  };
}
