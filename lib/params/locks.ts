import { z } from "zod";
import { lockClasses } from "@/lib/locks/classify";
import { consoleLockConfig } from "@/lib/locks/settings";
import { blankAsUnset } from "./fields";
import type { PageParams } from "./registry";

/** /locks: filter by class, by one configured pattern, and by a substring of the key. Blank means absent. */

export const locksParams = {
  pattern: /^\/locks$/,
  schema: z.object({
    class: z.preprocess(blankAsUnset, z.enum(lockClasses, { error: `must be one of ${lockClasses.join(", ")}` }).optional()),
    pattern: z.preprocess(
      blankAsUnset,
      z
        .string()
        .max(1000, "must be at most 1000 characters")
        .superRefine((pattern, check) => {
          const patterns = consoleLockConfig().patterns;
          if (!patterns.includes(pattern)) check.addIssue({ code: "custom", message: `must be one of the configured patterns: ${patterns.join(", ")}` });
        })
        .optional(),
    ),
    q: z.preprocess(blankAsUnset, z.string().trim().max(200, "must be at most 200 characters").optional()),
  }),
} satisfies PageParams;

export type LocksQuery = z.output<typeof locksParams.schema>;
