import { runIdParams } from "@/lib/api/params";
import { apiRoute, errorResponse, operationResponse } from "@/lib/api/route";
import { cancelBody } from "@/lib/api/schemas";
import { describeIssue } from "@/lib/params/registry";
import { cancelOperation, cancelSchema } from "@/lib/ops/run-operations";

export const dynamic = "force-dynamic";

/** Cancels a pending run (compare-and-set on status = pending). */
export const POST = apiRoute({
  role: "operator",
  params: runIdParams,
  body: cancelBody,
  handler: async (ctx) => {
    const input = cancelSchema.safeParse({ runId: String(ctx.params.id), reason: ctx.body.reason });
    if (!input.success) return errorResponse(400, "VALIDATION", describeIssue(input.error), ctx.requestId, "body");
    return operationResponse(cancelOperation, input.data, ctx);
  },
});
