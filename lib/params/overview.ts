import { z } from "zod";
import { overviewWindows } from "@/lib/ledger/stats-window";
import type { PageParams } from "./registry";

export { overviewWindows };

/** Auto-refresh choices in seconds; "off" stops it. In the URL so a wall display keeps its setting. */
export const refreshChoices = ["off", "5", "15", "30", "60"] as const;
export const REFRESH_DEFAULT = "15";

const blankAsUnset = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);

export const overviewSchema = z.object({
  window: z.preprocess(blankAsUnset, z.enum(overviewWindows, { error: `must be one of ${overviewWindows.join(", ")}` }).default("24h")),
  refresh: z.preprocess(
    blankAsUnset,
    z
      .enum(refreshChoices, { error: `must be one of ${refreshChoices.join(", ")} (seconds)` })
      .default(REFRESH_DEFAULT)
      .transform((value) => (value === "off" ? null : Number(value))),
  ),
});

export type OverviewParams = z.output<typeof overviewSchema>;

export const overviewParams = {
  pattern: /^\/$/,
  schema: overviewSchema,
} satisfies PageParams;
