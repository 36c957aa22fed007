import { z } from "zod";
import { decodeKeyset, encodeKeyset, type Keyset } from "@/lib/ledger/keyset";
import { checkRange, cursorParam, once, optional, pageSize, timeBound } from "./fields";
import type { PageParams } from "./registry";

/**
 * Query parameters of the audit log (/audit): filters on actor, action, outcome and time, and a
 * keyset cursor. Pure code (no Node APIs) so proxy.ts can validate them too.
 */
export const auditOutcomes = ["done", "refused", "error"] as const;
export type AuditOutcome = (typeof auditOutcomes)[number];

export const AUDIT_PAGE_SIZE_DEFAULT = 50;
export const AUDIT_PAGE_SIZE_MAX = 200;

/** A position in the log, newest first: the row's `at` as text with microseconds, and its id. */
export type AuditCursor = Keyset;

export function encodeAuditCursor(cursor: AuditCursor): string {
  return encodeKeyset("a", cursor);
}

export function decodeAuditCursor(value: string): AuditCursor | null {
  const decoded = decodeKeyset(value, ["a"] as const);
  return decoded ? { at: decoded.at, id: decoded.id } : null;
}

export const auditSchema = z
  .object({
    actor: optional(once(200).trim()),
    action: optional(once(100).regex(/^[a-z0-9_.-]+$/, "may contain only lower-case letters, digits and _ . -")),
    outcome: optional(z.enum(auditOutcomes, { error: `must be one of ${auditOutcomes.join(", ")}` })),
    from: timeBound,
    to: timeBound,
    cursor: cursorParam(decodeAuditCursor),
    pageSize: pageSize(AUDIT_PAGE_SIZE_DEFAULT, AUDIT_PAGE_SIZE_MAX),
  })
  .superRefine(checkRange);

export type AuditParams = z.output<typeof auditSchema>;

export const auditParams = {
  pattern: /^\/audit$/,
  schema: auditSchema,
} satisfies PageParams;

/** The filters as URL parameters (defaults left out), for links that change one thing and keep the rest. */
export function auditSearch(params: AuditParams, overrides: { cursor?: AuditCursor | null } = {}): Record<string, string | undefined> {
  const cursor = overrides.cursor === undefined ? params.cursor : overrides.cursor;
  return {
    actor: params.actor,
    action: params.action,
    outcome: params.outcome,
    from: params.from?.text,
    to: params.to?.text,
    pageSize: params.pageSize !== AUDIT_PAGE_SIZE_DEFAULT ? String(params.pageSize) : undefined,
    cursor: cursor ? encodeAuditCursor(cursor) : undefined,
  };
}
