import { z } from "zod";
import type { PageParams } from "./registry";
import { parseTimeBound } from "./runs";

/**
 * Query parameters of the audit log (/audit): filters on actor, action, outcome and time, and a
 * keyset cursor. Pure code (no Node APIs) so proxy.ts can validate them too.
 */
export const auditOutcomes = ["done", "refused", "error"] as const;
export type AuditOutcome = (typeof auditOutcomes)[number];

export const AUDIT_PAGE_SIZE_DEFAULT = 50;
export const AUDIT_PAGE_SIZE_MAX = 200;

/** A position in the log, newest first: the row's `at` as text with microseconds, and its id. */
export interface AuditCursor {
  at: string;
  id: number;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function encodeAuditCursor(cursor: AuditCursor): string {
  return btoa(`${cursor.at}|${cursor.id}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeAuditCursor(value: string): AuditCursor | null {
  if (value.length > 100 || !/^[A-Za-z0-9_-]+$/.test(value)) return null;
  let text: string;
  try {
    text = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const [at, id, ...rest] = text.split("|");
  if (rest.length > 0 || !at || !id || !TIMESTAMP.test(at) || Number.isNaN(Date.parse(at)) || !/^[1-9]\d{0,15}$/.test(id)) return null;
  const numeric = Number(id);
  return Number.isSafeInteger(numeric) ? { at, id: numeric } : null;
}

const blankAsUnset = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankAsUnset, schema.optional());

const timeBound = optional(
  z
    .string({ error: "must be given once" })
    .trim()
    .max(40, "must be at most 40 characters")
    .transform((text, ctx) => {
      const at = parseTimeBound(text);
      if (typeof at === "string") {
        ctx.addIssue({ code: "custom", message: at });
        return z.NEVER;
      }
      return { text, at };
    }),
);

export const auditSchema = z
  .object({
    actor: optional(
      z
        .string({ error: "must be given once" })
        .trim()
        .max(200, "must be at most 200 characters")
        .refine((value) => !value.includes("\u0000"), "must not contain U+0000"),
    ),
    action: optional(
      z
        .string({ error: "must be given once" })
        .max(100, "must be at most 100 characters")
        .regex(/^[a-z0-9_.-]+$/, "may contain only lower-case letters, digits and _ . -"),
    ),
    outcome: optional(z.enum(auditOutcomes, { error: `must be one of ${auditOutcomes.join(", ")}` })),
    from: timeBound,
    to: timeBound,
    cursor: optional(
      z.string({ error: "must be given once" }).transform((value, ctx) => {
        const cursor = decodeAuditCursor(value);
        if (!cursor) {
          ctx.addIssue({ code: "custom", message: "is not a page cursor from this console (open the first page instead)" });
          return z.NEVER;
        }
        return cursor;
      }),
    ),
    pageSize: z.preprocess(
      blankAsUnset,
      z.coerce
        .number({ error: "must be a number" })
        .int("must be a whole number")
        .min(1, "must be at least 1")
        .max(AUDIT_PAGE_SIZE_MAX, `must be at most ${AUDIT_PAGE_SIZE_MAX}`)
        .default(AUDIT_PAGE_SIZE_DEFAULT),
    ),
  })
  .superRefine((value, ctx) => {
    if (value.from && value.to && value.from.at.getTime() > value.to.at.getTime()) {
      ctx.addIssue({ code: "custom", path: ["from"], message: "must be before to" });
    }
  });

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
