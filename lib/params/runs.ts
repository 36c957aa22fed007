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
import { blankAsUnset, checkRange, cursorParam, flag, once, optional, pageSize, timeBound } from "./fields";
import type { PageParams } from "./registry";

export { parseTimeBound } from "./fields";

/**
 * Query parameters of the runs list (/runs) and its export (/runs/export), and the path parameter of
 * the run detail (/runs/[id]). An empty field (a GET form submits every input) counts as absent.
 */
const text = (max: number) => optional(once(max));

export const runsListSchema = z
  .object({
    q: text(512),
    status: optional(z.enum(runStatusFilters, { error: `must be one of ${runStatusFilters.join(", ")}` })),
    task: optional(once(200).regex(/^[A-Za-z0-9_.\-/]+$/, "may contain only letters, digits and _ . - /")),
    key: text(512),
    keyMatch: optional(z.enum(["exact", "prefix"], { error: "must be exact or prefix" })).transform((value) => value ?? "exact"),
    worker: text(200),
    from: timeBound,
    to: timeBound,
    dups: flag,
    retry: flag,
    sort: optional(z.enum(["created", "finished"], { error: "must be created or finished" })).transform((value) => value ?? "created"),
    order: optional(z.enum(["desc", "asc"], { error: "must be desc or asc" })).transform((value) => value ?? "desc"),
    cursor: cursorParam(decodeCursor),
    pageSize: pageSize(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX),
  })
  .superRefine((value, ctx) => {
    checkRange(value, ctx);
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
