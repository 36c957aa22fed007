import { z } from "zod";
import { decodeCursor, encodeCursor, type RunCursor } from "@/lib/ledger/cursor";
import {
  EXPORT_LIMIT_DEFAULT,
  EXPORT_LIMIT_MAX,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  runStatusFilters,
  type RunListQuery,
} from "@/lib/ledger/run-filters";
import type { PageParams } from "./registry";

/**
 * Query parameters of the runs list (/runs) and its export (/runs/export), and the path parameter of
 * the run detail (/runs/[id]). An empty field (a GET form submits every input) counts as absent.
 */
const blankAsUnset = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankAsUnset, schema.optional());

const MAX_RELATIVE_DAYS = 400;
const RELATIVE = /^(\d{1,5})(m|h|d)$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `24h` (that long ago) or an ISO date-time (UTC unless it has an offset), between 2000 and 2100. */
export function parseTimeBound(text: string, now: Date = new Date()): Date | string {
  const relative = RELATIVE.exec(text);
  if (relative) {
    const ms = Number(relative[1]) * unitMs[relative[2] as keyof typeof unitMs];
    if (ms > MAX_RELATIVE_DAYS * unitMs.d) return `must be at most ${MAX_RELATIVE_DAYS} days ago`;
    return new Date(now.getTime() - ms);
  }
  const iso = ISO.exec(text);
  if (!iso) return "must be a time like 2026-01-31T12:00Z or a span like 15m, 24h, 7d";
  const [, year, month, day, hour = "00", minute = "00", second = "00", fraction = "0", zone = "Z"] = iso;
  const normalized = `${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction.padEnd(3, "0").slice(0, 3)}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`;
  const at = new Date(normalized);
  if (Number.isNaN(at.getTime())) return "is not a valid date";
  if (at.getUTCFullYear() < 2000 || at.getUTCFullYear() > 2100) return "must be between the years 2000 and 2100";
  return at;
}

const timeBound = optional(
  z
    .string()
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

const flag = z.preprocess(
  blankAsUnset,
  z
    .enum(["1", "0", "true", "false", "on"], { error: "must be 1 or 0" })
    .optional()
    .transform((value) => value === "1" || value === "true" || value === "on"),
);

const text = (max: number) =>
  optional(
    z
      .string({ error: "must be given once" })
      .max(max, `must be at most ${max} characters`)
      .refine((value) => !value.includes("\u0000"), "must not contain U+0000"),
  );

export const runsListSchema = z
  .object({
    q: text(512),
    status: optional(z.enum(runStatusFilters, { error: `must be one of ${runStatusFilters.join(", ")}` })),
    task: optional(
      z
        .string({ error: "must be given once" })
        .max(200, "must be at most 200 characters")
        .regex(/^[A-Za-z0-9_.\-/]+$/, "may contain only letters, digits and _ . - /"),
    ),
    key: text(512),
    keyMatch: optional(z.enum(["exact", "prefix"], { error: "must be exact or prefix" })).transform((value) => value ?? "exact"),
    worker: text(200),
    from: timeBound,
    to: timeBound,
    dups: flag,
    retry: flag,
    sort: optional(z.enum(["created", "finished"], { error: "must be created or finished" })).transform((value) => value ?? "created"),
    order: optional(z.enum(["desc", "asc"], { error: "must be desc or asc" })).transform((value) => value ?? "desc"),
    cursor: optional(
      z
        .string({ error: "must be given once" })
        .transform((value, ctx) => {
          const cursor = decodeCursor(value);
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
        .max(PAGE_SIZE_MAX, `must be at most ${PAGE_SIZE_MAX}`)
        .default(PAGE_SIZE_DEFAULT),
    ),
  })
  .superRefine((value, ctx) => {
    if (value.from && value.to && value.from.at.getTime() > value.to.at.getTime()) {
      ctx.addIssue({ code: "custom", path: ["from"], message: "must be before to" });
    }
    if (value.cursor && value.cursor.sort !== value.sort) {
      ctx.addIssue({ code: "custom", path: ["cursor"], message: "belongs to another sort order (open the first page instead)" });
    }
  });

export type RunsListParams = z.output<typeof runsListSchema>;

export const runsListParams = {
  pattern: /^\/runs$/,
  schema: runsListSchema,
} satisfies PageParams;

/** The run detail takes no query parameters; unknown ones are ignored. Its path id is checked by parseRunId. */
export const runDetailParams = {
  pattern: /^\/runs\/(?!export$)[^/]+$/,
  schema: z.object({}),
} satisfies PageParams;

export const exportSchema = z.object({
  format: z.preprocess(blankAsUnset, z.enum(["csv", "json"], { error: "must be csv or json" }).default("csv")),
  limit: z.preprocess(
    blankAsUnset,
    z.coerce
      .number({ error: "must be a number" })
      .int("must be a whole number")
      .min(1, "must be at least 1")
      .max(EXPORT_LIMIT_MAX, `must be at most ${EXPORT_LIMIT_MAX}`)
      .default(EXPORT_LIMIT_DEFAULT),
  ),
});

/** The query for listRuns / streamRuns. */
export function toRunListQuery(params: RunsListParams): RunListQuery {
  return {
    q: params.q?.trim() || undefined,
    status: params.status,
    task: params.task,
    key: params.key,
    keyMatch: params.keyMatch,
    worker: params.worker,
    from: params.from?.at,
    to: params.to?.at,
    hasDuplicates: params.dups,
    isRetry: params.retry,
    sort: params.sort,
    order: params.order,
    cursor: params.cursor,
    pageSize: params.pageSize,
  };
}

/**
 * The filters as URL parameters (defaults left out, relative times kept relative), for links that
 * change one thing and keep the rest.
 */
export function runsSearch(params: RunsListParams, overrides: { cursor?: RunCursor | null; pageSize?: number } = {}): Record<string, string | undefined> {
  const cursor = overrides.cursor === undefined ? params.cursor : overrides.cursor;
  const pageSize = overrides.pageSize ?? params.pageSize;
  return {
    q: params.q,
    status: params.status,
    task: params.task,
    key: params.key,
    keyMatch: params.key && params.keyMatch !== "exact" ? params.keyMatch : undefined,
    worker: params.worker,
    from: params.from?.text,
    to: params.to?.text,
    dups: params.dups ? "1" : undefined,
    retry: params.retry ? "1" : undefined,
    sort: params.sort !== "created" ? params.sort : undefined,
    order: params.order !== "desc" ? params.order : undefined,
    pageSize: pageSize !== PAGE_SIZE_DEFAULT ? String(pageSize) : undefined,
    cursor: cursor ? encodeCursor(cursor) : undefined,
  };
}

/** A run id from the path: digits only, within the range of a JS-safe bigint. Null means 404. */
export function parseRunId(value: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(value)) return null;
  const id = Number(value);
  return Number.isSafeInteger(id) ? id : null;
}
