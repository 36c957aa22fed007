import { z } from "zod";

/**
 * Building blocks of the console's query-parameter schemas (one per page, lib/params/*). A GET form
 * submits every input, so an empty field counts as absent. Pure code, so proxy.ts can use them.
 */
export const blankAsUnset = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);

export const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankAsUnset, schema.optional());

/** A string given once, at most `max` characters, without U+0000 (Postgres text cannot hold it). */
export const once = (max: number) =>
  z
    .string({ error: "must be given once" })
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !value.includes("\u0000"), "must not contain U+0000");

/** 1/0 (or true/false, or a checkbox's "on"); absent is false. */
export const flag = z.preprocess(
  blankAsUnset,
  z
    .enum(["1", "0", "true", "false", "on"], { error: "must be 1 or 0" })
    .optional()
    .transform((value) => value === "1" || value === "true" || value === "on"),
);

export const pageSize = (fallback: number, max: number) =>
  z.preprocess(
    blankAsUnset,
    z.coerce
      .number({ error: "must be a number" })
      .int("must be a whole number")
      .min(1, "must be at least 1")
      .max(max, `must be at most ${max}`)
      .default(fallback),
  );

/** A page cursor from `decode`, or a 400 naming it. */
export const cursorParam = <C>(decode: (value: string) => C | null) =>
  optional(
    once(200).transform((value, ctx) => {
      const cursor = decode(value);
      if (!cursor) {
        ctx.addIssue({ code: "custom", message: "is not a page cursor from this console (open the first page instead)" });
        return z.NEVER;
      }
      return cursor;
    }),
  );

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

/** A time bound as typed (kept, so links keep "24h" relative) and as the instant it means now. */
export const timeBound = optional(
  once(40)
    .trim()
    .transform((text, ctx) => {
      const at = parseTimeBound(text);
      if (typeof at === "string") {
        ctx.addIssue({ code: "custom", message: at });
        return z.NEVER;
      }
      return { text, at };
    }),
);

/** For a superRefine: `from` must not be after `to`. */
export function checkRange(value: { from?: { at: Date }; to?: { at: Date } }, ctx: z.RefinementCtx): void {
  if (value.from && value.to && value.from.at.getTime() > value.to.at.getTime()) {
    ctx.addIssue({ code: "custom", path: ["from"], message: "must be before to" });
  }
}
