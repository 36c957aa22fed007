import { z } from "zod";
import type { PageParams } from "./registry";

export const overviewWindows = ["1h", "6h", "24h", "7d", "30d"] as const;

export const overviewParams = {
  pattern: /^\/$/,
  schema: z.object({
    window: z.enum(overviewWindows, { error: `must be one of ${overviewWindows.join(", ")}` }).default("24h"),
  }),
} satisfies PageParams;
