import { z } from "zod";
import { blankAsUnset } from "@/lib/params/fields";

/** Why an operator acted: kept in the audit log. Blank counts as none. */
export const optionalReason = z
  .preprocess(blankAsUnset, z.string().trim().max(500, "must be at most 500 characters").optional())
  .transform((reason) => reason ?? null);

/** For operations that must say why (abandon, cancel, bulk retry). */
export const requiredReason = z
  .string({ error: "is required: say why, it is kept in the audit log" })
  .trim()
  .min(1, "is required: say why, it is kept in the audit log")
  .max(500, "must be at most 500 characters");
