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

/** A run route's operation input: the run from the path, plus the body's fields. */
export function runIdInput<B extends object>({ params, body }: { params: z.output<typeof runIdParams>; body: B }) {
  return { runId: params.id, ...body };
}
