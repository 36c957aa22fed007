import { z } from "zod";
import { decodeDuplicateCursor, encodeDuplicateCursor, type DuplicateCursor } from "@/lib/ledger/duplicate-cursor";
import { duplicateOutcome } from "@/lib/ledger/schema";
import type { PageParams } from "./registry";
import { blankAsUnset, checkRange, cursorParam, once, optional, timeBound } from "./fields";

/**
 * Query parameters of the duplicates screen (/duplicates). Time bounds take the same forms as the runs
 * list (`24h`, or an ISO date-time, UTC unless it has an offset). An empty field counts as absent.
 */
export const duplicateViews = ["list", "keys", "sources"] as const;
export type DuplicateView = (typeof duplicateViews)[number];
export const duplicateOutcomes = duplicateOutcome.enumValues;

export const DUPLICATES_PAGE_SIZE = 50;

export const duplicatesSchema = z
  .object({
    view: z.preprocess(blankAsUnset, z.enum(duplicateViews, { error: `must be one of ${duplicateViews.join(", ")}` }).default("list")),
    outcome: optional(z.enum(duplicateOutcomes, { error: `must be one of ${duplicateOutcomes.join(", ")}` })),
    task: optional(once(200).regex(/^[A-Za-z0-9_.\-/]+$/, "may contain only letters, digits and _ . - /")),
    source: optional(once(100)),
    worker: optional(once(200)),
    run: optional(
      once(20)
        .regex(/^[1-9]\d{0,15}$/, "must be a run id (digits)")
        .transform(Number)
        .refine(Number.isSafeInteger, "must be a run id (digits)"),
    ),
    from: timeBound,
    to: timeBound,
    cursor: cursorParam(decodeDuplicateCursor),
  })
  .superRefine(checkRange);

export type DuplicatesParams = z.output<typeof duplicatesSchema>;

export const duplicatesParams = {
  pattern: /^\/duplicates$/,
  schema: duplicatesSchema,
} satisfies PageParams;

/** The filters as lib/ledger/duplicates.ts takes them. */
export function toDuplicateFilters(params: DuplicatesParams) {
  return {
    outcome: params.outcome,
    task: params.task,
    source: params.source,
    worker: params.worker,
    runId: params.run,
    from: params.from?.at,
    to: params.to?.at,
  };
}

/** The view as URL parameters (defaults left out, relative times kept relative), for links that change one thing. */
export function duplicatesSearch(
  params: DuplicatesParams,
  overrides: Partial<Record<"view" | "outcome" | "task" | "source" | "worker" | "run", string | undefined>> & { cursor?: DuplicateCursor | null } = {},
): Record<string, string | undefined> {
  const cursor = overrides.cursor === undefined ? params.cursor : overrides.cursor;
  const pick = <K extends "view" | "outcome" | "task" | "source" | "worker" | "run">(key: K, current: string | undefined) =>
    key in overrides ? overrides[key] : current;
  const view = pick("view", params.view);
  return {
    view: view === "list" ? undefined : view,
    outcome: pick("outcome", params.outcome),
    task: pick("task", params.task),
    source: pick("source", params.source),
    worker: pick("worker", params.worker),
    run: pick("run", params.run === undefined ? undefined : String(params.run)),
    from: params.from?.text,
    to: params.to?.text,
    cursor: cursor && view === "list" ? encodeDuplicateCursor(cursor) : undefined,
  };
}
