import { runIdParams } from "@/lib/api/params";
import { apiRoute, errorResponse, operationResponse } from "@/lib/api/route";
import { retryBody } from "@/lib/api/schemas";
import { describeIssue } from "@/lib/params/registry";
import { PAYLOAD_MAX_BYTES } from "@/lib/ledger/spec";
import { retryOperation, retrySchema } from "@/lib/ops/run-operations";

export const dynamic = "force-dynamic";

/**
 * Re-runs a failed (or abandoned) run under a new key with lineage. The body carries what the caller
 * saw (`status`, `updatedAt`, `lineageRetries` from GET /api/v1/runs/{id}): it is the precondition of
 * the compare-and-set, and two identical requests create one child.
 */
export const POST = apiRoute({
  role: "operator",
  params: runIdParams,
  body: retryBody,
  maxBodyBytes: PAYLOAD_MAX_BYTES + 16 * 1024,
  handler: async (ctx) => {
    const { body, params } = ctx;
    const input = retrySchema.safeParse({
      runId: String(params.id),
      seenStatus: body.seenStatus,
      seenUpdatedAt: body.seenUpdatedAt,
      seenRetries: String(body.seenRetries),
      editPayload: body.payload === undefined ? undefined : "on",
      payload: body.payload === undefined ? undefined : JSON.stringify(body.payload),
      reason: body.reason,
    });
    if (!input.success) return errorResponse(400, "VALIDATION", describeIssue(input.error), ctx.requestId, "body");
    return operationResponse(retryOperation, input.data, ctx);
  },
});
