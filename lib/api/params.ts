import { z } from "zod";
import { parseRunId } from "@/lib/params/runs";

/** `{ id }` from a route's path: a run id, or the request is a 404. */
export const runIdParams = z.object({
  id: z.string().transform((value, ctx) => {
    const id = parseRunId(value);
    if (id === null) {
      ctx.addIssue({ code: "custom", message: "no such run" });
      return z.NEVER;
    }
    return id;
  }),
});
