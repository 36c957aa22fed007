import { runIdParams } from "@/lib/api/params";
import { apiRoute, errorResponse, operationResponse } from "@/lib/api/route";
import { abandonBody } from "@/lib/api/schemas";
import { describeIssue } from "@/lib/params/registry";
import { abandonOperation, abandonSchema } from "@/lib/ops/run-operations";

export const dynamic = "force-dynamic";

/** Marks a running run whose lease expired as abandoned (failed), by compare-and-set on the lease token seen. */
export const POST = apiRoute({
  role: "operator",
  params: runIdParams,
  body: abandonBody,
  handler: async (ctx) => {
    const input = abandonSchema.safeParse({ runId: String(ctx.params.id), leaseToken: ctx.body.seenLeaseToken, reason: ctx.body.reason });
    if (!input.success) return errorResponse(400, "VALIDATION", describeIssue(input.error), ctx.requestId, "body");
    return operationResponse(abandonOperation, input.data, ctx);
  },
});
